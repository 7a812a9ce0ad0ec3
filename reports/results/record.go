package results

import (
	"fmt"
	"strings"
	"time"
)

// SchemaVersion is written in every record; readers refuse newer ones and
// upgrade older ones (see Upgrade).
//
// Schema 2 added what a record is (Status, Reason, Better, Floor, Exact),
// which schema 1 left to conventions on names and to Extra["unsupported"].
const SchemaVersion = 2

// Param is one parameter of a measurement; order matters for names
// (driver=overlay2/size=4KiB/cache=cold), so parameters are a list.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Status is what became of a measurement.
type Status string

const (
	// OK: the samples are the measurement.
	OK Status = "ok"
	// Failed: the measurement could not be made; Error says why, and
	// Samples may hold what was measured before the failure.
	Failed Status = "failed"
	// Unsupported: the driver or host cannot run the measurement at all
	// (not a fault, a fact about the driver); Reason says why.
	Unsupported Status = "unsupported"
)

// Better is the direction in which a metric improves.
type Better string

const (
	Lower  Better = "lower"  // time, bytes, inodes, copies
	Higher Better = "higher" // how many layers or containers fit
)

// Record is one measurement: a sample set of one metric of one case of one
// scenario on one driver variant.
type Record struct {
	Schema       int       `json:"schema"`
	RunID        string    `json:"run_id"`
	Time         time.Time `json:"time"`
	Host         Host      `json:"host"`
	Backing      Backing   `json:"backing"`
	Driver       string    `json:"driver"`  // "overlay2", or "floor" for the baseline measured on the backing fs itself
	Variant      string    `json:"variant"` // "overlay2+metacopy=on"
	MountOptions []string  `json:"mount_options,omitempty"`
	Scenario     string    `json:"scenario"` // copyup, lookup, mount, inodes, pagecache, quirks
	Metric       string    `json:"metric"`   // first-write, stat, inodes-per-image, ...
	Params       []Param   `json:"params"`
	Unit         string    `json:"unit"` // ns, bytes, inodes, ratio, ...
	Samples      []float64 `json:"samples"`
	Status       Status    `json:"status"`
	Error        string    `json:"error,omitempty"`  // why a Failed measurement failed
	Reason       string    `json:"reason,omitempty"` // why an Unsupported one cannot be made
	Better       Better    `json:"better,omitempty"` // set on every OK record
	// Floor is the CaseKey of the floor record this one is compared with
	// (same run, scenario and unit, driver "floor"); "" when it has none,
	// as copy-up's second write, which copies nothing.
	Floor string `json:"floor,omitempty"`
	// Exact says the samples are counts (inodes, bytes, layers), not noisy
	// timings: any difference between two sets is real, and there is no
	// confidence interval to draw.
	Exact bool `json:"exact,omitempty"`
	// Rounds, when set, is the sampling round of each sample (as many as
	// Samples): the floor and every variant of an interleaved case took
	// one sample each per round, in an order shuffled per round, so
	// samples of one round saw the same machine. Absent for measurements
	// sampled in one batch.
	Rounds []int `json:"rounds,omitempty"`
	// Pass, when above 0, is which of the run's sampling passes the
	// record holds: an interleaved measurement is sampled in Plan.Passes
	// passes spread over the run, each on freshly prepared mounts, and
	// writes one record a pass (a run has one record of a measurement a
	// pass). Readers pool the passes; compare also tests the pass
	// medians, which see what one burst of samples cannot: the state of
	// one mount and the machine of one moment. 0 for measurements taken
	// once.
	Pass int `json:"pass,omitempty"`
	// Stopped says why sampling stopped (StopCount, StopTargetCI, ...);
	// "" for batch measurements, which take a fixed count.
	Stopped Stop           `json:"stopped,omitempty"`
	Extra   map[string]any `json:"extra,omitempty"` // scenario-specific detail (e.g. bytes written to the device)
}

// ResolutionExtra is the Extra key of a measurement's resolution: the
// smallest difference of two medians, in its unit, that its own
// quantisation cannot make (device bytes come in blocks, and a journal
// block more or less moves them between identical runs). compare does
// not call a change of the median of at most this much.
const ResolutionExtra = "resolution"

// Resolution is the record's resolution (ResolutionExtra), 0 when it
// has none.
func (r *Record) Resolution() float64 {
	switch v := r.Extra[ResolutionExtra].(type) {
	case float64:
		return v
	case int64:
		return float64(v)
	case int:
		return float64(v)
	}
	return 0
}

// FloorRatioSuffix names the floor-relative metric of a timing:
// "stat-vs-floor" is, per round, a variant's stat sample over its floor's
// stat sample of the same round (unit FloorRatioUnit, lower is better,
// Floor empty). The runner writes one after every interleaved timing that
// has a floor.
const FloorRatioSuffix = "-vs-floor"

// FloorRatioUnit is the unit of a floor-relative figure: a ratio, but not
// pagecache's exact "ratio" of counts, so that the two keep apart in
// benchfmt, whose unit metadata holds for a whole file.
const FloorRatioUnit = "floor-ratio"

// Stop is why an interleaved measurement stopped sampling.
type Stop string

const (
	StopCount    Stop = "count"     // took the fixed number of samples asked for
	StopTargetCI Stop = "target-ci" // the 95% CI of every timing's median was within the target
	StopBudget   Stop = "budget"    // its time budget was spent first
	StopMax      Stop = "max-samples"
	StopFailed   Stop = "failed" // a sample failed
	// StopWithDrivers: a floor samples as long as any variant it is the
	// floor of does, so that every round has a floor sample to divide by.
	StopWithDrivers Stop = "with-drivers"
)

// Failed reports whether the measurement was not made (failed or
// unsupported).
func (r *Record) Failed() bool { return r.Status != OK }

// Why is the error of a failed record or the reason of an unsupported one.
func (r *Record) Why() string {
	if r.Status == Unsupported {
		return r.Reason
	}
	return r.Error
}

// Key identifies the same measurement across runs and hosts: variant,
// scenario, metric and parameters (not the host, not the run).
func (r *Record) Key() string {
	return fmt.Sprintf("%s/%s/driver=%s%s", r.Scenario, r.Metric, r.Variant, paramPath(r.Params))
}

// CaseKey names a record within its scenario and variant: its metric and
// parameters, "copy-fsync/size=4KiB/cache=cold". A record's Floor is the
// CaseKey of its floor.
func (r *Record) CaseKey() string { return CaseKey(r.Metric, r.Params...) }

// CaseKey is the CaseKey of a record of metric with params.
func CaseKey(metric string, params ...Param) string { return metric + paramPath(params) }

func paramPath(ps []Param) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "/%s=%s", p.Key, p.Value)
	}
	return b.String()
}

// Param is the value of the record's parameter key, "" when it has none.
func (r *Record) Param(key string) string {
	for _, p := range r.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// Validate checks the fields every record must have.
func (r *Record) Validate() error {
	switch {
	case r.Schema < 1:
		return fmt.Errorf("missing schema version")
	case r.Schema > SchemaVersion:
		return fmt.Errorf("schema version %d is newer than this unionbench understands (%d): upgrade unionbench", r.Schema, SchemaVersion)
	case r.RunID == "":
		return fmt.Errorf("missing run_id")
	case r.Scenario == "":
		return fmt.Errorf("missing scenario")
	case r.Metric == "":
		return fmt.Errorf("missing metric")
	case r.Variant == "":
		return fmt.Errorf("missing variant")
	case r.Unit == "":
		return fmt.Errorf("missing unit")
	}
	if r.Schema < SchemaVersion {
		// Schema 1 said what a record is by conventions Upgrade knows,
		// and had none of the fields that say it in schema 2: a schema-1
		// line carrying one was not written by unionbench, and Upgrade,
		// which overwrites status and better, would make it a record no
		// writer produces (status ok with a reason).
		if f := schema2Field(r); f != "" {
			return fmt.Errorf("schema 1 record with %s, a schema 2 field", f)
		}
		if len(r.Samples) == 0 && r.Error == "" {
			return fmt.Errorf("no samples and no error")
		}
		return nil
	}
	switch r.Status {
	case OK:
		switch {
		case len(r.Samples) == 0:
			return fmt.Errorf("status ok without samples")
		case r.Error != "" || r.Reason != "":
			return fmt.Errorf("status ok with an error or reason")
		case r.Better != Lower && r.Better != Higher:
			return fmt.Errorf("bad better %q: want %q or %q", r.Better, Lower, Higher)
		}
	case Failed:
		if r.Error == "" {
			return fmt.Errorf("status failed without an error")
		}
	case Unsupported:
		if r.Reason == "" {
			return fmt.Errorf("status unsupported without a reason")
		}
	default:
		return fmt.Errorf("bad status %q: want %q, %q or %q", r.Status, OK, Failed, Unsupported)
	}
	if len(r.Rounds) > 0 && len(r.Rounds) != len(r.Samples) {
		return fmt.Errorf("%d rounds for %d samples", len(r.Rounds), len(r.Samples))
	}
	if r.Pass < 0 {
		return fmt.Errorf("bad pass %d: want 0 (taken once) or a pass number from 1", r.Pass)
	}
	if r.Better != "" && r.Better != Lower && r.Better != Higher {
		return fmt.Errorf("bad better %q: want %q or %q", r.Better, Lower, Higher)
	}
	return nil
}

// P is a Param, for short case lists: P("size", "4KiB").
func P(key, value string) Param { return Param{Key: key, Value: value} }

// Passes groups the samples of one measurement's records pass by pass:
// one group per run and pass (pass 1 of two runs pooled in one file are
// two groups), in the order first seen. Records taken once (Pass 0) are
// left out. The zero value is empty and ready to use.
type Passes struct {
	Samples [][]float64
	index   map[string]int // run id and pass -> group
}

// Add puts r's samples in its run's and pass's group.
func (p *Passes) Add(r *Record) {
	if r.Pass == 0 {
		return
	}
	k := fmt.Sprint(r.RunID, "\x00", r.Pass)
	i, ok := p.index[k]
	if !ok {
		if p.index == nil {
			p.index = map[string]int{}
		}
		i = len(p.Samples)
		p.index[k] = i
		p.Samples = append(p.Samples, nil)
	}
	p.Samples[i] = append(p.Samples[i], r.Samples...)
}

// schema2Field names the first field of r that schema 1 did not have, or
// "" when r has none.
func schema2Field(r *Record) string {
	switch {
	case r.Status != "":
		return "status"
	case r.Reason != "":
		return "reason"
	case r.Better != "":
		return "better"
	case r.Floor != "":
		return "floor"
	case r.Exact:
		return "exact"
	case len(r.Rounds) > 0:
		return "rounds"
	case r.Pass != 0:
		return "pass"
	case r.Stopped != "":
		return "stopped"
	}
	return ""
}
