package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/noise"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
	"github.com/unionbench/unionbench/reports/units"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/copyup"
	"github.com/unionbench/unionbench/scenarios/lookup"
)

// BenchmarkTimerOverhead measures what the harness adds to every timed
// sample: the scenarios time an operation as time.Now() before it and
// time.Since() after, so an empty timed section is the bias each sample
// carries. ns/op is the cost of the pair; empty-section-ns/op is what the
// pair reads with nothing between (median), p99-empty-section-ns its tail.
func BenchmarkTimerOverhead(b *testing.B) {
	readings := make([]float64, 0, b.N)
	for range b.N {
		start := time.Now()
		took := time.Since(start)
		readings = append(readings, float64(took.Nanoseconds()))
	}
	med, err := stats.Median(readings)
	if err != nil {
		b.Fatal(err)
	}
	p99, err := stats.Percentile(readings, 99)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(med, "empty-section-ns/op")
	b.ReportMetric(p99, "p99-empty-section-ns")
}

// repeatabilityLimit is how far apart the medians of three runs may be,
// relative to the smallest of them, for the measurements that are gated.
const repeatabilityLimit = 0.05

// BenchmarkRepeatability runs the quick copyup and lookup scenarios three
// times over on one ext4 backing fs, with `unionbench run`'s sampling
// (interleaved rounds, --target-ci 5%, three passes), and compares the three medians of
// every measurement: their spread, (max-min)/min, is reported as
// max-spread-% for the absolute timings and max-relative-spread-% for
// the floor-relative ones (<metric>-vs-floor, per-round ratios that a
// uniformly slower machine does not move), over the gated measurements.
// The benchmark fails when a gated floor-relative median (or, for a
// timing without one, its absolute median) spreads beyond 5%. Gated, as
// the issue names them, a driver's copy-ups of 1 MiB and more and every
// lookup of a driver: a copy-up is a timing whose floor is copy-fsync
// (first-write and chmod on overlay2, overlay, fuse-overlayfs; not vfs,
// which copies nothing and whose floor is a plain write, nor chmod under
// metacopy=on). Only listed: the floors' own figures (whose absolute
// spread is the machine's drift, which the ratios take out), copyup below
// 1 MiB, second-write (a write to a file already copied up) and vfs.
//
// UNIONBENCH_DRIVERS narrows the drivers (default: overlay2, overlay, vfs,
// fuse-overlayfs where supported); UNIONBENCH_COUNT sets the samples per
// measurement (default 5, the quick suite's). The per-measurement spreads
// go to repeatability.txt in UNIONBENCH_OUT (default: the test's temporary
// directory, logged). UNIONBENCH_REPEAT_RUNS=A,B,C judges three saved
// results files the same way instead of measuring: the three runs of one
// `unionbench vm --icount` boot, say.
func BenchmarkRepeatability(b *testing.B) {
	var saved [3][]results.Record
	reuse := os.Getenv("UNIONBENCH_REPEAT_RUNS")
	if reuse != "" {
		files := strings.Split(reuse, ",")
		if len(files) != len(saved) {
			b.Fatalf("UNIONBENCH_REPEAT_RUNS=%q: want three results files, comma-separated", reuse)
		}
		for i, f := range files {
			var err error
			if saved[i], err = results.Read(f); err != nil {
				b.Fatalf("UNIONBENCH_REPEAT_RUNS: %v", err)
			}
		}
	} else {
		needRoot(b)
	}
	count := testenv.Count(b)
	variants := testenv.Drivers(b)
	noise := 0.0
	if reuse == "" {
		noise = hostNoise(b)
	} else if n := saved[0][0].Host.Noise; n != nil {
		noise = n.Spread // the first run's own measure
	}
	for _, s := range []scenarios.Scenario{copyup.New(), lookup.New()} {
		b.Run("scenario="+s.Name(), func(b *testing.B) {
			plan := scenarios.Plan{
				Scenarios: []scenarios.Scenario{s}, Variants: variants, Suite: scenarios.Quick,
				Count: count, Host: hostinfo.Read(), TargetCI: scenarios.DefaultTargetCI, Budget: scenarios.DefaultBudget,
				Passes: scenarios.DefaultPasses, Seed: uint64(time.Now().UnixNano()),
			}
			var runs [3]map[string][]float64
			gatedKeys := map[string]bool{}
			for i := range runs {
				runs[i] = map[string][]float64{}
				sink := func(r *results.Record) error {
					switch r.Status {
					case results.Unsupported:
						return nil
					case results.Failed:
						return fmt.Errorf("%s %s %s: %s", r.Variant, r.Metric, paramString(r), r.Error)
					}
					if r.Unit == "ns" || r.Unit == results.FloorRatioUnit {
						k := r.Variant + " " + r.Metric + " " + paramString(r)
						runs[i][k] = append(runs[i][k], r.Samples...) // the passes pooled
						gatedKeys[k] = gated(r)
					}
					return nil
				}
				if reuse != "" {
					for j := range saved[i] {
						if r := &saved[i][j]; r.Scenario == s.Name() {
							if err := sink(r); err != nil {
								b.Fatal(err)
							}
						}
					}
					continue
				}
				// A fresh backing fs per run, as each `unionbench run` makes
				// its own: a reused one carries the previous run's layout.
				fs, err := backing.Create(b.TempDir(), backing.Spec{Kind: backing.Ext4, Size: 16 << 30})
				if err != nil {
					b.Fatal(err)
				}
				plan.FS = fs
				plan.RunID = fmt.Sprintf("repeatability-%d", i)
				_, err = scenarios.Run(context.Background(), &plan, sink, nil)
				if cerr := fs.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			spreads := compareRuns(b, runs[:], gatedKeys)
			relative := map[string]bool{} // absolute keys that have a floor-relative twin
			for _, sp := range spreads {
				if f := strings.Fields(sp.key); len(f) > 1 && strings.HasSuffix(f[1], scenarios.FloorRatioSuffix) {
					f[1] = strings.TrimSuffix(f[1], scenarios.FloorRatioSuffix)
					relative[strings.Join(f, " ")] = true
				}
			}
			worst, worstRel := 0.0, 0.0
			var over []string
			var lines []string
			for _, sp := range spreads {
				mark := "listed"
				isRatio := strings.Contains(sp.key, scenarios.FloorRatioSuffix+" ")
				if sp.gated {
					mark = "gated"
					if isRatio {
						worstRel = max(worstRel, sp.spread)
					} else {
						worst = max(worst, sp.spread)
					}
					// A timing with a floor-relative twin is held to the
					// limit through the twin, which drift does not move.
					if sp.spread > repeatabilityLimit && (isRatio || !relative[sp.key]) {
						over = append(over, fmt.Sprintf("%s: %.1f%%", sp.key, 100*sp.spread))
					}
				}
				lines = append(lines, fmt.Sprintf("%6.1f%%  %-6s  %s  medians %s", 100*sp.spread, mark, sp.key, sp.medians))
			}
			b.ReportMetric(100*worst, "max-spread-%")
			b.ReportMetric(100*worstRel, "max-relative-spread-%")
			b.ReportMetric(100*noise, "host-noise-%")
			writeSpreads(b, s.Name(), lines)
			if len(over) > 0 {
				b.Errorf("%d of the gated medians differ by more than %.0f%% across three runs (this host's own noise floor: %.0f%%, see hostNoise): %s",
					len(over), 100*repeatabilityLimit, 100*noise, strings.Join(over, "; "))
			}
		})
	}
}

type spread struct {
	key     string
	spread  float64
	medians string
	gated   bool
}

// compareRuns computes, for every measurement all the runs made, the
// spread of their medians, worst first.
func compareRuns(b *testing.B, runs []map[string][]float64, gatedKeys map[string]bool) []spread {
	var out []spread
	for key, first := range runs[0] {
		meds := make([]float64, 0, len(runs))
		for i, r := range runs {
			samples := first
			if i > 0 {
				var ok bool
				if samples, ok = r[key]; !ok {
					b.Errorf("%s: measured in the first run, not in run %d", key, i+1)
					break
				}
			}
			m, err := stats.Median(samples)
			if err != nil {
				b.Fatalf("%s: %v", key, err)
			}
			meds = append(meds, m)
		}
		if len(meds) != len(runs) {
			continue
		}
		sp, err := stats.Spread(meds)
		if err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		var ms []string
		for _, m := range meds {
			if strings.Contains(key, scenarios.FloorRatioSuffix+" ") {
				ms = append(ms, fmt.Sprintf("%.3fx", m))
			} else {
				ms = append(ms, time.Duration(m).String())
			}
		}
		out = append(out, spread{key: key, spread: sp, medians: strings.Join(ms, " "), gated: gatedKeys[key]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].spread > out[j].spread })
	return out
}

// gated says whether a record is held to the repeatability limit (see
// BenchmarkRepeatability): a driver's lookup, or a driver's copy-up
// (its floor, or its ratio's, is copy-fsync) of 1 MiB or more; the
// absolute timing and its floor-relative twin alike.
func gated(r *results.Record) bool {
	if r.Driver == "floor" {
		return false
	}
	switch r.Scenario {
	case "lookup":
		return true
	case "copyup":
		floor := r.Floor
		if f, ok := r.Extra["over-floor"].(string); ok {
			floor = f // a -vs-floor record: its timing's floor
		}
		if !strings.HasPrefix(floor, "copy-fsync/") { // not the device bytes' copy-fsync-device-bytes either
			return false
		}
		n, err := units.ParseSize(r.Param("size"))
		return err == nil && n >= 1<<20
	}
	return false
}

func paramString(r *results.Record) string {
	var ps []string
	for _, p := range r.Params {
		ps = append(ps, p.Key+"="+p.Value)
	}
	return strings.Join(ps, " ")
}

func writeSpreads(b *testing.B, scenario string, lines []string) {
	path := filepath.Join(testenv.OutDir(b), "repeatability-"+scenario+".txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(lines) && i < 5; i++ {
		b.Log(lines[i])
	}
	b.Logf("all spreads: %s", path)
}

// hostNoise is the host's own run-to-run noise on the syscall path, the
// floor under any repeatability figure, as `unionbench run` measures it at
// start (internal/noise).
func hostNoise(b *testing.B) float64 {
	n, err := noise.Measure(noise.Default)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("host noise: one %s took %.0f-%.0f ns across %d windows of %s", n.Probe, n.MinNs, n.MaxNs, n.Windows, time.Duration(n.WindowNs))
	return n.Spread
}
