package results

import (
	"fmt"
	"strings"
	"time"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
)

// SchemaVersion is written in every record; readers refuse newer ones.
const SchemaVersion = 1

// Param is one parameter of a measurement; order matters for names
// (driver=overlay2/size=4KiB/cache=cold), so parameters are a list.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Record is one measurement: a sample set of one metric of one case of one
// scenario on one driver variant.
type Record struct {
	Schema       int            `json:"schema"`
	RunID        string         `json:"run_id"`
	Time         time.Time      `json:"time"`
	Host         hostinfo.Facts `json:"host"`
	Backing      backing.Facts  `json:"backing"`
	Driver       string         `json:"driver"`  // "overlay2", or "floor" for the baseline measured on the backing fs itself
	Variant      string         `json:"variant"` // "overlay2+metacopy=on"
	MountOptions []string       `json:"mount_options,omitempty"`
	Scenario     string         `json:"scenario"` // copyup, lookup, mount, inodes, pagecache, quirks
	Metric       string         `json:"metric"`   // first-write, stat, inodes-per-image, ...
	Params       []Param        `json:"params"`
	Unit         string         `json:"unit"` // ns, bytes, inodes, ratio, ...
	Samples      []float64      `json:"samples"`
	Error        string         `json:"error,omitempty"` // set when the measurement failed; Samples may hold what was measured before
	Extra        map[string]any `json:"extra,omitempty"` // scenario-specific detail (e.g. bytes written to the device)
}

// Failed reports whether the measurement failed.
func (r *Record) Failed() bool { return r.Error != "" }

// Key identifies the same measurement across runs and hosts: variant,
// scenario, metric and parameters (not the host, not the run).
func (r *Record) Key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s/driver=%s", r.Scenario, r.Metric, r.Variant)
	for _, p := range r.Params {
		fmt.Fprintf(&b, "/%s=%s", p.Key, p.Value)
	}
	return b.String()
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
	case len(r.Samples) == 0 && r.Error == "":
		return fmt.Errorf("no samples and no error")
	}
	return nil
}

// P is a Param, for short case lists: P("size", "4KiB").
func P(key, value string) Param { return Param{Key: key, Value: value} }
