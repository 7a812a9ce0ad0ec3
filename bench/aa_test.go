package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/ftrace"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/noise"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/compare"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// slowedDriver is the driver whose timings the A/A benchmark slows by
// slowdown in one run.
const (
	slowedDriver = "overlay2"
	slowdown     = 1.2
)

// BenchmarkAA is the A/A test of `unionbench compare`: three quick runs
// back to back on this machine with `unionbench run`'s defaults (ext4
// backing, --target-ci 5%, 250 ms a case), each on a fresh backing fs, and
// every pair compared with compare's defaults. flagged-N-M is the
// measurements flagged between runs N and M: 0 is the goal, as nothing
// changed.
//
// Then the known slowdown: run 2 with every timing of overlay2 (and the
// floor-relative ratios of its timings) scaled by 1.2 is compared with
// run 1. slowdown-found-% is the share of overlay2's gated timings (by
// default its floor-relative figures, and the timings that have none)
// whose MDE is below 20% that compare flagged as regressed (goal >= 90%),
// others-flagged what it flagged besides (goal 0); the benchmark fails
// when either goal is missed. absolute-flagged-N-M is the same pairs
// under compare --absolute (every absolute timing gated), reported
// beside.
//
// UNIONBENCH_DRIVERS narrows the drivers, UNIONBENCH_SCENARIOS the
// scenarios (comma-separated; default all). UNIONBENCH_AA_REUSE=DIR
// judges the aa-run-N.jsonl of an earlier run in DIR instead of
// measuring (to work on compare itself). Each run's results go to
// aa-run-N.jsonl in UNIONBENCH_OUT (default: the test's temporary
// directory, logged), so the pairs can be compared by hand.
func BenchmarkAA(b *testing.B) {
	needRoot(b)
	variants := testenv.Drivers(b)
	scs := scenarios.All()
	if v := os.Getenv("UNIONBENCH_SCENARIOS"); v != "" {
		var err error
		if scs, err = scenarios.ParseList(v); err != nil {
			b.Fatalf("UNIONBENCH_SCENARIOS: %v", err)
		}
	}
	out := testenv.OutDir(b)
	var runs [3][]results.Record
	for i := range runs {
		if dir := os.Getenv("UNIONBENCH_AA_REUSE"); dir != "" {
			// Judging the runs of an earlier BenchmarkAA again, as they
			// were measured: for working on compare itself.
			var err error
			if runs[i], err = results.Read(fmt.Sprintf("%s/aa-run-%d.jsonl", dir, i+1)); err != nil {
				b.Fatalf("UNIONBENCH_AA_REUSE: %v", err)
			}
			continue
		}
		runs[i] = aaRun(b, out, fmt.Sprintf("aa-run-%d", i+1), scs, variants)
	}
	for _, pair := range [][2]int{{0, 1}, {1, 2}, {0, 2}} {
		for _, mode := range []struct {
			name string
			opt  compare.Options
		}{{"", compare.Options{}}, {"absolute-", compare.Options{Absolute: true}}} {
			res := compare.Compare(runs[pair[0]], runs[pair[1]], mode.opt)
			flagged := 0
			for _, row := range res.Rows {
				if row.Verdict != compare.Same {
					flagged++
					b.Logf("%srun %d vs %d: %s %s %s", mode.name, pair[0]+1, pair[1]+1, row.Key, row.Change, row.Verdict)
				}
			}
			b.ReportMetric(float64(flagged), fmt.Sprintf("%sflagged-%d-%d", mode.name, pair[0]+1, pair[1]+1))
			b.Logf("%srun %d vs %d: %s; %s", mode.name, pair[0]+1, pair[1]+1, res.FDRStatement(), res.Summary())
			if res.NoiseWarning != "" && mode.name == "" {
				b.Log(res.NoiseWarning)
			}
		}
	}

	slowed, scaled := slowDown(runs[1], slowedDriver, slowdown)
	res := compare.Compare(runs[0], slowed, compare.Options{})
	eligible, found, others := 0, 0, 0
	for _, row := range res.Rows {
		ours := scaled[row.Key] && row.Tested && !row.Ungated
		switch {
		case ours && row.Detectable() < slowdown-1:
			eligible++
			if row.Verdict == compare.Regressed {
				found++
				b.Logf("slowdown found: %s %s (p %.3g, q %.3g, MDE %.1f%%)", row.Key, row.Change, row.P(), row.Q, 100*row.Detectable())
			} else {
				b.Logf("slowdown missed: %s %s q=%.3g MDE %.1f%%", row.Key, row.Change, row.Q, 100*row.Detectable())
			}
		case !ours && row.Verdict != compare.Same:
			others++
			b.Logf("flagged besides the slowdown: %s %s %s (p %.3g, q %.3g, MDE %.1f%%)", row.Key, row.Change, row.Verdict, row.P(), row.Q, 100*row.Detectable())
		}
	}
	share := 0.0
	if eligible > 0 {
		share = float64(found) / float64(eligible)
	}
	gated := 0
	for _, row := range res.Rows {
		if scaled[row.Key] && row.Tested && !row.Ungated {
			gated++
		}
	}
	b.ReportMetric(float64(gated), "slowdown-gated")
	b.ReportMetric(float64(eligible), "slowdown-eligible")
	b.ReportMetric(100*share, "slowdown-found-%")
	b.ReportMetric(float64(others), "others-flagged")
	if eligible == 0 || share < 0.9 || others > 0 {
		b.Errorf("a %.0f%% slowdown of %s: %d of its %d timings with an MDE below %.0f%% flagged (want >= 90%%), %d other measurements flagged (want 0)",
			100*(slowdown-1), slowedDriver, found, eligible, 100*(slowdown-1), others)
	}
	aaTraced(b, out, runs[2], scs, variants)
}

// tracedFilter is what the real slowdown traces: every overlayfs function.
const tracedFilter = "ovl_*"

// aaTraced is the real slowdown: a fourth run with the kernel's function
// tracer on overlayfs's functions (ovl_*), compared with the third, the
// one just before it. Only the overlay and overlay2 drivers run that code;
// the floor, vfs and fuse-overlayfs do not, and nothing of theirs may be
// flagged (traced-others-flagged, goal 0). A traced function costs the
// same few hundred nanoseconds per call whatever the operation, so the
// slowdown is large for a lookup 64 layers deep and nothing for a 64 MiB
// copy-up: traced-eligible counts the overlay and overlay2 gated timings
// that slowed by at least 20% and whose MDE is below 20%, and
// traced-found-% how many of those compare flagged (goal >= 90%).
// Skipped, with the reason logged, where the tracer cannot be had.
func aaTraced(b *testing.B, out string, base []results.Record, scs []scenarios.Scenario, variants []drivers.Variant) {
	var traced []results.Record
	if dir := os.Getenv("UNIONBENCH_AA_REUSE"); dir != "" {
		var err error
		if traced, err = results.Read(dir + "/aa-run-4-traced.jsonl"); err != nil {
			b.Logf("no real slowdown to judge: %v", err)
			return
		}
	} else {
		stop, err := ftrace.Trace(tracedFilter)
		if err != nil {
			b.Logf("real slowdown not measured: %v", err)
			return
		}
		func() {
			defer func() {
				if err := stop(); err != nil {
					b.Errorf("turning the function tracer off: %v", err)
				}
			}()
			traced = aaRun(b, out, "aa-run-4-traced", scs, variants)
		}()
	}
	res := compare.Compare(base, traced, compare.Options{})
	b.Logf("traced run vs run 3: %s", res.Summary())
	judgeTraced(b, res)
}

// judgeTraced reports and judges a comparison of an untraced run (BASE)
// with one traced on tracedFilter (NEW): traced-eligible is the overlay
// and overlay2 gated timings that slowed by at least 20% with an MDE below
// 20%, traced-found-% how many of those compare flagged (goal >= 90%),
// traced-others-flagged what it flagged of other drivers and the floor,
// whose code the tracer does not touch (goal 0).
func judgeTraced(b *testing.B, res *compare.Result) {
	eligible, found, others := 0, 0, 0
	for _, row := range res.Rows {
		ours := strings.Contains(row.Key, "/driver=overlay/") || strings.Contains(row.Key, "/driver=overlay2")
		switch {
		case ours && row.Tested && !row.Ungated && row.Change.Delta >= slowdown-1 && row.Detectable() < slowdown-1:
			eligible++
			if row.Verdict == compare.Regressed {
				found++
			} else {
				b.Logf("traced slowdown missed: %s %s q=%.3g MDE %.1f%%", row.Key, row.Change, row.Q, 100*row.Detectable())
			}
		case !ours && row.Verdict != compare.Same:
			others++
			b.Logf("flagged besides the traced drivers: %s %s %s", row.Key, row.Change, row.Verdict)
		}
	}
	share := 0.0
	if eligible > 0 {
		share = float64(found) / float64(eligible)
	}
	b.ReportMetric(float64(len(res.Regressions())), "traced-regressed")
	b.ReportMetric(float64(eligible), "traced-eligible")
	b.ReportMetric(100*share, "traced-found-%")
	b.ReportMetric(float64(others), "traced-others-flagged")
	if eligible == 0 || share < 0.9 || others > 0 {
		b.Errorf("the function tracer on %s: %d of the %d overlay and overlay2 timings it slowed by 20%% or more, with an MDE below 20%%, flagged (want >= 90%%), %d measurements of other drivers flagged (want 0)",
			tracedFilter, found, eligible, others)
	}
}

// aaRun is one quick run with `unionbench run`'s defaults.
func aaRun(b *testing.B, out, name string, scs []scenarios.Scenario, variants []drivers.Variant) []results.Record {
	b.Helper()
	fs, err := backing.Create(b.TempDir(), backing.Spec{Kind: backing.Ext4, Size: 16 << 30})
	if err != nil {
		b.Fatal(err)
	}
	n, err := noise.Measure(noise.Default)
	if err != nil {
		b.Fatal(errors.Join(err, fs.Close()))
	}
	p := scenarios.Plan{RunID: name, Scenarios: scs, Variants: variants, Suite: scenarios.Quick, Count: 5,
		TargetCI: scenarios.DefaultTargetCI, Budget: scenarios.DefaultBudget, Passes: scenarios.DefaultPasses, Seed: uint64(time.Now().UnixNano()),
		FS: fs, Host: hostinfo.Read(), Noise: &n}
	path := fmt.Sprintf("%s/%s.jsonl", out, name)
	w, err := results.Create(path)
	if err != nil {
		b.Fatal(errors.Join(err, fs.Close()))
	}
	var recs []results.Record
	start := time.Now()
	_, err = scenarios.Run(context.Background(), &p, func(r *results.Record) error {
		recs = append(recs, *r)
		return w.Write(r)
	}, nil)
	err = errors.Join(err, w.Close(), fs.Close())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d records in %s, host noise %.0f%%: %s", name, len(recs), time.Since(start).Round(time.Second), 100*n.Spread, path)
	return recs
}

// slowDown is recs with every timing of driver (ns samples, and the
// floor-relative ratios of timings, not of byte counts) scaled by f, and
// the compare keys of what it scaled.
func slowDown(recs []results.Record, driver string, f float64) ([]results.Record, map[string]bool) {
	scaled := map[string]bool{}
	out := slices.Clone(recs)
	timing := map[string]bool{} // scenario/metric of driver's timings
	for _, r := range recs {
		if r.Driver == driver && r.Unit == "ns" {
			timing[r.Scenario+"/"+r.Metric] = true
		}
	}
	for i := range out {
		r := &out[i]
		of, _ := r.Extra["of"].(string)
		isTiming := r.Unit == "ns" || r.Unit == results.FloorRatioUnit && timing[r.Scenario+"/"+of]
		if r.Driver != driver || r.Exact || r.Status != results.OK || !isTiming {
			continue
		}
		r.Samples = slices.Clone(r.Samples)
		for j := range r.Samples {
			r.Samples[j] *= f
		}
		scaled[compare.Key(r)] = true
	}
	return out, scaled
}
