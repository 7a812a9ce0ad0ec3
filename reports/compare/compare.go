// Package compare pairs the measurements of a baseline and a new set of
// results (the same driver variant, scenario, metric, parameters and
// backing filesystem) and decides which changed. It also lists quirk
// behaviours that changed and every measurement present on one side only,
// so nothing is dropped silently.
//
// Exact counts (inodes, bytes, copies) changed when their medians differ.
// Byte counts that move between identical samples (a copy-up's device
// bytes, meminfo's Cached) are tested as timings are, but gate as they
// are, not through their floor ratio (bytes do not drift with the speed
// of the machine), and a change of the median within the record's
// resolution (results.ResolutionExtra: whole blocks) is not called.
// Timings are judged by their floor-relative figures (<metric>-vs-floor,
// each sample the driver's over the floor's of the same sampling round),
// where a timing has one on both sides: a machine that is uniformly slower
// or faster in NEW, the drift of a shared VM between two runs, moves the
// driver and its floor alike and so not their ratio. The absolute timing,
// and the floor's own, are shown beside it but do not gate
// (Options.Absolute gates them instead). A gated timing changed only when
// all three hold:
//
//   - it is significant after the Benjamini-Hochberg correction over
//     every timing of the comparison (its q-value is at most the false
//     discovery rate, stats.DefaultFDR, 1%, by default): hundreds of
//     tests at p<0.05 each would otherwise flag about 5% of them by
//     chance alone. Its p-value is the larger of two tests', both of
//     which must call the change: the Mann-Whitney U test on the pooled
//     samples, and, when both runs took it in several passes (run
//     --passes), the t test on the logarithms of the pass medians
//     (stats.ComparePasses), moderated: each borrows ModeratePrior
//     degrees of freedom from the typical pass variance of its family
//     (the same variant, scenario, unit and cache state; stats.Moderate),
//     as three passes a side say little about a variance on their own.
//     The samples of one burst share one mount and one stretch of the
//     machine, so the U test alone takes what moves between runs for a
//     change; the pass medians scatter by just that;
//   - the medians differ by more than the threshold (10% by default);
//   - and by at least the measurement's critical effect: the smallest
//     change its sample counts and spreads could call significant at the
//     family's Benjamini-Hochberg level, q*max(k,1)/m for k discoveries
//     among m timings. Method (stats.MinDetectable): each side's samples
//     are U-tested against themselves scaled by 1+d, d found by bisection
//     to 0.1%, and the larger of the two sides' d is the pair's; with
//     passes, the pass test's own (PassChange.Detectable) when larger. A
//     change below it is the noise of this pair of runs, whatever its
//     p-value.
//
// Each tested row also carries its minimum detectable effect (MDE): the
// change this pair of runs finds with probability stats.Power (90%), the
// critical effect carried to that power (Detectable.AtPower, and the pass
// test's DetectableAt). A change exactly at the critical effect is found
// only half of the time; a measurement whose MDE is below 20% finds a
// real 20% change nine times in ten, so that is the figure that says
// which measurements can carry a conclusion.
//
// It is what a kernel-upgrade CI job keys on; it does not explain a change
// (plot both runs with `unionbench report` for that). Host facts are not
// part of the pairing: comparing two kernels is the point.
package compare

import (
	"fmt"
	"slices"
	"strings"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
)

// ModeratePrior is the degrees of freedom each pass test borrows from its
// family's typical pass variance (stats.Moderate): as many as three
// passes a side give it of its own.
const ModeratePrior = 4

// DefaultThreshold is the smallest change of a median that counts: 10%.
const DefaultThreshold = 0.10

// NoiseFactor is how far apart two runs' noise floors may be before
// compare warns. The noise floor (internal/noise) is the spread of twelve
// 200 ms means of a cached stat(2); every timing's spread, and so its MDE,
// grows with it, so a factor of 2 between the runs means one of them
// could see changes about half the size the other could, and a change
// between them may be the machine's. Below 2, twelve windows do not tell
// two runs apart reliably: the figure itself moves by tens of percent
// between back-to-back measurements on a shared VM.
const NoiseFactor = 2.0

// Options are the settings of a comparison; the zero value is the
// defaults.
type Options struct {
	// Threshold is the smallest change of a median that counts, a
	// fraction (0.10 is 10%); 0 means DefaultThreshold, a negative value
	// no threshold.
	Threshold float64
	// FDR is the false discovery rate controlled over the timings; 0
	// means stats.DefaultFDR.
	FDR float64
	// Absolute gates the absolute timings. By default (false) a timing
	// with a <metric>-vs-floor twin on both sides, and every timing of
	// the floor itself, is shown but not gated (Row.Ungated): the ratio
	// gates, so a machine that is uniformly slower or faster in NEW fails
	// nothing. The default misses a kernel change that slows the backing
	// filesystem itself as much as the union (the floor's own change is
	// shown, not gated): set Absolute to judge the backing fs, on runs of
	// one quiet machine.
	Absolute bool
	// Relative keeps the floor-relative figures gating even where both
	// runs were timed by an instruction clock, which otherwise makes
	// Compare gate the absolute timings (see clockGate).
	Relative bool
}

func (o Options) withDefaults() Options {
	switch {
	case o.Threshold == 0:
		o.Threshold = DefaultThreshold
	case o.Threshold < 0:
		o.Threshold = 0
	}
	if o.FDR == 0 {
		o.FDR = stats.DefaultFDR
	}
	return o
}

// Verdict is what became of one measurement.
type Verdict string

const (
	Same      Verdict = "~"         // no significant change beyond the threshold
	Regressed Verdict = "regressed" // significantly worse beyond the threshold
	Improved  Verdict = "improved"  // significantly better beyond the threshold
	NowFails  Verdict = "now fails" // measured in BASE, failed in NEW
	NowWorks  Verdict = "now works" // failed in BASE, measured in NEW
)

// Row is one paired measurement.
type Row struct {
	Key    string
	Metric string
	Unit   string
	Change stats.Change
	// Tested says the row is a timing in the Benjamini-Hochberg family;
	// Q is then its q-value and MDE its minimum detectable effect.
	Tested bool
	// Passes is the test of the pass medians, when both sides have two
	// passes or more (nil: the samples alone were tested).
	Passes *stats.PassChange
	Q      float64
	// MDE is the minimum detectable effect at stats.Power, Critical the
	// smallest change that could be significant at all (see the package
	// comment).
	MDE, Critical stats.Detectable
	Verdict       Verdict
	// Resolution is the measurement's (results.Record.Resolution): a
	// change of the median of at most this much is not called.
	Resolution float64
	// BelowMDE says the change was significant and beyond the threshold
	// but smaller than the critical effect, so it was not called.
	BelowMDE bool
	// Ungated (unless Options.Absolute) says the row is judged through its
	// floor-relative twin, or is the floor's own: its Verdict is Same,
	// Absolute what it would have been, tested in a family of its own.
	Ungated  bool
	Absolute Verdict
	Error    string // NEW's error for NowFails
}

// P is the p-value the row is tested at: the U test's, or the pass
// test's when that is larger.
func (r Row) P() float64 {
	if r.Passes != nil && r.Passes.P > r.Change.P {
		return r.Passes.P
	}
	return r.Change.P
}

// Detectable is the row's minimum detectable effect in the direction of
// its change: 0 for exact counts, +Inf when its samples could show none.
func (r Row) Detectable() float64 {
	if !r.Tested {
		return 0
	}
	return r.MDE.Toward(r.Change.Delta)
}

// QuirkChange is a quirk whose observed behaviour differs.
type QuirkChange struct {
	Key      string // variant/quirk
	Old, New string
}

// Result is a whole comparison.
type Result struct {
	Threshold float64
	// BaseNoise and NewNoise are the host noise floors the two runs
	// measured at their start (nil: not measured, older runs);
	// NoiseWarning is set when they differ by more than NoiseFactor.
	BaseNoise, NewNoise *results.Noise
	NoiseWarning        string
	// TraceNote is set when either run had the kernel's function tracer
	// on (results.Host.TracedFunctions): a slowdown made on purpose.
	TraceNote string
	// Relative says the floor-relative figures gated (not
	// Options.Absolute).
	Relative bool
	// ClockNote says how the runs' clocks decided the gating: both
	// timed by qemu's instruction counter (absolute timings gated), or
	// one by it and one by the host's clock (not comparable as times).
	ClockNote string
	// FDR is the Benjamini-Hochberg correction over the timing rows:
	// its Q, Tests (m), Discoveries and the Level MDEs are computed at.
	FDR  stats.FDR
	Rows []Row
	// OnlyBase and OnlyNew are measurement keys present on one side.
	OnlyBase, OnlyNew []string
	Quirks            []QuirkChange
}

// Regressions returns the rows that fail a comparison.
func (r *Result) Regressions() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Verdict == Regressed || row.Verdict == NowFails {
			out = append(out, row)
		}
	}
	return out
}

// Failed reports whether anything regressed or a quirk changed: exit 1.
func (r *Result) Failed() bool { return len(r.Regressions()) > 0 || len(r.Quirks) > 0 }

// side is the pooled records of one key on one side.
type side struct {
	metric, unit string
	samples      []float64
	passes       results.Passes
	errs         []string
	unsupported  bool
	better       results.Better
	exact        bool
	floor        bool   // the floor's own measurement
	twin         string // the key of its floor-relative figure
	// ofTiming says a floor-relative figure is a timing's: a byte
	// count's ratio to the floor's cancels no drift (bytes do not get
	// faster), so the count itself gates.
	ofTiming   bool
	resolution float64 // results.Record.Resolution, the largest of the records'
	// family names the measurements whose pass variances are alike
	// (variant, scenario, cache state), for stats.Moderate.
	family string
}

// Key is the pairing key of a record: Record.Key plus the backing
// filesystem and the unit, which Record.Key leaves out.
func Key(r *results.Record) string {
	k := r.Key()
	if r.Backing.Kind != "" {
		k += "/backing=" + string(r.Backing.Kind)
	}
	return k + " [" + r.Unit + "]"
}

func pool(recs []results.Record) (keys []string, m map[string]*side, quirks map[string]string, qkeys []string) {
	m = map[string]*side{}
	quirks = map[string]string{}
	for i := range recs {
		r := &recs[i]
		if r.Scenario == "quirks" {
			k := r.Variant + "/" + r.Metric
			if _, ok := quirks[k]; !ok {
				qkeys = append(qkeys, k)
			}
			quirks[k] = observed(r)
			continue
		}
		k := Key(r)
		s := m[k]
		if s == nil {
			tw := *r
			tw.Metric, tw.Unit = r.Metric+results.FloorRatioSuffix, results.FloorRatioUnit
			s = &side{metric: r.Scenario + "/" + r.Metric, unit: r.Unit, floor: r.Driver == "floor", twin: Key(&tw),
				family: r.Variant + "/" + r.Scenario + "/" + r.Unit + "/" + cacheOf(r)}
			m[k] = s
			keys = append(keys, k)
		}
		if r.Failed() {
			s.errs = append(s.errs, r.Why())
			if r.Status == results.Unsupported {
				s.unsupported = true
			}
			continue
		}
		if len(s.samples) == 0 {
			s.better, s.exact = r.Better, r.Exact
		}
		s.resolution = max(s.resolution, r.Resolution())
		s.samples = append(s.samples, r.Samples...)
		s.passes.Add(r)
	}
	for _, s := range m {
		if t := m[s.twin]; t != nil && s.unit == "ns" {
			t.ofTiming = true
		}
	}
	return keys, m, quirks, qkeys
}

// cacheOf is a record's cache parameter ("" when it has none).
func cacheOf(r *results.Record) string { return r.Param("cache") }

// ratioGates says whether a measurement is judged through something else
// by default (not Options.Absolute), and so only shown: a timing through
// its floor-relative figure (when both sides have one), the floor's own
// timings, and a byte count's floor ratio, as its count gates.
func ratioGates(b *side, bm, nm map[string]*side) bool {
	switch b.unit {
	case results.FloorRatioUnit:
		return !b.ofTiming
	case "ns":
		return b.floor || (bm[b.twin] != nil && nm[b.twin] != nil)
	}
	return false
}

// observed is a quirk record's observed behaviour; a probe that could not
// run is a behaviour too ("n/a: ..."), so it shows when it changes.
func observed(r *results.Record) string {
	if o, ok := r.Extra["observed"].(string); ok && o != "" {
		return o
	}
	switch r.Status {
	case results.Unsupported:
		return "n/a"
	case results.Failed:
		return "error: " + strings.Join(strings.Fields(r.Error), " ")
	}
	return ""
}

// Compare compares NEW with BASE.
func Compare(base, new []results.Record, opt Options) *Result {
	opt = opt.withDefaults()
	var clockNote string
	opt.Absolute, clockNote = clockGate(base, new, opt)
	res := &Result{Threshold: opt.Threshold, Relative: !opt.Absolute, ClockNote: clockNote}
	bkeys, bm, bq, bqkeys := pool(base)
	tested := map[int]timing{} // row index: samples of a timing row
	nkeys, nm, nq, nqkeys := pool(new)
	for _, k := range bkeys {
		b, n := bm[k], nm[k]
		if n == nil {
			res.OnlyBase = append(res.OnlyBase, k)
			continue
		}
		row := Row{Key: k, Metric: b.metric, Unit: b.unit}
		switch {
		case len(b.samples) == 0 && len(n.samples) == 0:
			continue // failed or unsupported on both sides: nothing to compare
		case len(n.samples) == 0:
			// A driver the new kernel no longer supports is a failure
			// too: an upgrade that drops aufs is what CI must catch.
			row.Verdict, row.Error = NowFails, strings.Join(n.errs, "; ")
			if n.unsupported {
				row.Error = "not supported: " + row.Error
			}
		case len(b.samples) == 0:
			row.Verdict = NowWorks
		default:
			// Both sides must say their samples are exact counts: a
			// record that says so is comparing like with like.
			row.Change = stats.Compare(b.samples, n.samples, b.exact && n.exact)
			row.Tested = !row.Change.Exact
			if pc, ok := stats.ComparePasses(b.passes.Samples, n.passes.Samples); ok && row.Tested {
				row.Passes = &pc
			}
			if row.Change.Exact {
				row.Verdict = verdict(row.Change, n.better, opt.Threshold, 0)
			}
			ungated := !opt.Absolute && ratioGates(b, bm, nm)
			row.Resolution = max(b.resolution, n.resolution)
			tested[len(res.Rows)] = timing{b.samples, n.samples, n.better, ungated, b.family}
		}
		res.Rows = append(res.Rows, row)
	}
	res.judgeTimings(tested, opt)
	res.BaseNoise, res.NewNoise = noiseOf(base), noiseOf(new)
	res.NoiseWarning = noiseWarning(res.BaseNoise, res.NewNoise)
	res.TraceNote = traceNote(base, new)
	for _, k := range nkeys {
		if bm[k] == nil {
			res.OnlyNew = append(res.OnlyNew, k)
		}
	}
	for _, k := range bqkeys {
		o, ok := nq[k]
		switch {
		case !ok:
			res.OnlyBase = append(res.OnlyBase, "quirks/"+k)
		case o != bq[k]:
			res.Quirks = append(res.Quirks, QuirkChange{k, bq[k], o})
		}
	}
	for _, k := range nqkeys {
		if _, ok := bq[k]; !ok {
			res.OnlyNew = append(res.OnlyNew, "quirks/"+k)
		}
	}
	slices.Sort(res.OnlyBase)
	slices.Sort(res.OnlyNew)
	return res
}

// clockGate decides whether the absolute timings gate, and says why when
// the runs' clocks decided it. The floor-relative figure exists to cancel
// drift of the host between runs; a guest timed by qemu's instruction
// counter (vm --icount) has none to cancel, since its clock advances with
// the instructions it runs, whatever the host does. There the ratio only
// adds the floor's own sample noise to the driver's, so when both runs
// were timed that way, with the same shift, the absolute timings gate
// (unless Options.Relative). Runs on different clocks are not comparable
// as times at all, which the note says.
func clockGate(base, new []results.Record, opt Options) (absolute bool, note string) {
	b, bok := instructionClock(base)
	n, nok := instructionClock(new)
	switch {
	case !bok || !nok:
		return opt.Absolute, "WARNING: BASE and NEW timed by different clocks (some records by qemu's instruction counter, some not): their timings are not comparable"
	case b != n:
		return opt.Absolute, fmt.Sprintf("WARNING: BASE timed by %s, NEW by %s: their timings are not comparable", clockName(b), clockName(n))
	case b == "" || opt.Absolute:
		return opt.Absolute, ""
	case opt.Relative:
		return false, fmt.Sprintf("NOTE: both runs timed by qemu's instruction counter (%s); floor-relative figures gate as asked (--relative)", b)
	}
	return true, fmt.Sprintf("NOTE: both runs timed by qemu's instruction counter (%s): no host drift to cancel, so the absolute timings gate (--relative keeps the floor-relative figures)", b)
}

// instructionClock is the instruction clock every record of recs names ("" for
// the host's clock); ok is false when the records do not agree.
func instructionClock(recs []results.Record) (clock string, ok bool) {
	for i := range recs {
		if c := recs[i].Host.InstructionClock; i == 0 {
			clock = c
		} else if c != clock {
			return "", false
		}
	}
	return clock, true
}

func clockName(instructionClock string) string {
	if instructionClock == "" {
		return "the host's clock"
	}
	return "qemu's instruction counter (" + instructionClock + ")"
}

// traceNote says which side ran under the function tracer, if either.
func traceNote(base, new []results.Record) string {
	traced := func(recs []results.Record) string {
		for i := range recs {
			if f := recs[i].Host.TracedFunctions; f != "" {
				return f
			}
		}
		return ""
	}
	var parts []string
	for _, side := range []struct {
		name string
		recs []results.Record
	}{{"BASE", base}, {"NEW", new}} {
		if f := traced(side.recs); f != "" {
			parts = append(parts, fmt.Sprintf("%s ran with the kernel's function tracer on %s", side.name, f))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "NOTE: " + strings.Join(parts, "; ") + " (run --trace-functions): a slowdown made on purpose"
}

// noiseOf is the first noise floor the records carry.
func noiseOf(recs []results.Record) *results.Noise {
	for i := range recs {
		if recs[i].Host.Noise != nil {
			return recs[i].Host.Noise
		}
	}
	return nil
}

func noiseWarning(b, n *results.Noise) string {
	if b == nil || n == nil {
		return ""
	}
	lo, hi := min(b.Spread, n.Spread), max(b.Spread, n.Spread)
	if hi <= NoiseFactor*lo {
		return ""
	}
	return fmt.Sprintf("WARNING: the hosts' noise floors differ by more than %gx (BASE %s, NEW %s): a change may be the machine's, not the kernel's",
		NoiseFactor, pct(b.Spread), pct(n.Spread))
}

type timing struct {
	base, new []float64
	better    results.Better
	ungated   bool
	family    string
}

// judgeTimings runs the Benjamini-Hochberg correction over the gated
// timing rows, then gives each its q-value, MDE at the family's level,
// and verdict. Ungated rows (the default, unless Options.Absolute) are a family of their own,
// so that showing them costs the gated ones no power.
func (r *Result) judgeTimings(tested map[int]timing, opt Options) {
	for _, ungated := range []bool{false, true} {
		var idx []int
		var p []float64
		families := map[string][]*stats.PassChange{}
		for i := range r.Rows {
			if r.Rows[i].Tested && tested[i].ungated == ungated {
				idx = append(idx, i)
				if pc := r.Rows[i].Passes; pc != nil {
					families[tested[i].family] = append(families[tested[i].family], pc)
				}
			}
		}
		for _, f := range families {
			stats.Moderate(f, ModeratePrior)
		}
		for _, i := range idx {
			p = append(p, r.Rows[i].P())
		}
		f := stats.BenjaminiHochberg(p, opt.FDR)
		if !ungated {
			r.FDR = f
		}
		for j, i := range idx {
			row := &r.Rows[i]
			t := tested[i]
			row.Q = f.QValues[j]
			row.Critical = stats.MinDetectable(t.base, t.new, f.Level)
			row.MDE = row.Critical.AtPower(f.Level, stats.Power)
			if row.Passes != nil {
				row.Critical = row.Critical.Max(row.Passes.Detectable(f.Level))
				row.MDE = row.MDE.Max(row.Passes.DetectableAt(f.Level, stats.Power))
			}
			row.Change.Significant = row.Q <= opt.FDR
			mde := row.Critical.Toward(row.Change.Delta)
			row.Verdict = verdict(row.Change, t.better, opt.Threshold, mde)
			if abs(row.Change.New.Median-row.Change.Old.Median) <= row.Resolution {
				row.Verdict = Same
			}
			row.BelowMDE = row.Change.Significant && abs(row.Change.Delta) > opt.Threshold && abs(row.Change.Delta) < mde
			if ungated {
				row.Ungated, row.Absolute, row.Verdict = true, row.Verdict, Same
			}
		}
	}
}

// verdict judges a significant change in the direction the records say
// is better (NEW's, as the one this unionbench wrote last), if it is
// beyond the threshold and at least the minimum detectable effect.
func verdict(c stats.Change, better results.Better, threshold, mde float64) Verdict {
	if !c.Significant || abs(c.Delta) <= threshold || abs(c.Delta) < mde {
		return Same
	}
	worse := c.Delta > 0
	if better == results.Higher {
		worse = !worse
	}
	if worse {
		return Regressed
	}
	return Improved
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// Summary is a one-line account of the result.
func (r *Result) Summary() string {
	counts := map[Verdict]int{}
	for _, row := range r.Rows {
		counts[row.Verdict]++
	}
	below := 0
	for _, row := range r.Rows {
		if row.BelowMDE {
			below++
		}
	}
	return fmt.Sprintf("%d compared (%d timings tested): %d regressed, %d now fail, %d improved, %d now work, %d unchanged (%d of them significant but below their critical effect); %d quirk(s) changed; %d only in BASE, %d only in NEW",
		len(r.Rows), r.FDR.Tests, counts[Regressed], counts[NowFails], counts[Improved], counts[NowWorks], counts[Same], below, len(r.Quirks), len(r.OnlyBase), len(r.OnlyNew))
}
