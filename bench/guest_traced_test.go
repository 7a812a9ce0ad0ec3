package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/internal/vm"
	"github.com/unionbench/unionbench/reports/compare"
	"github.com/unionbench/unionbench/reports/results"
)

// guestRun is what each of the guest's runs measures: the two drivers
// that show the tracer's effect or its absence (overlay2 runs ovl_*, vfs
// does not), on the scenarios whose timings are the kernel's own code
// paths rather than the emulated disk's.
var guestRun = []string{"run", "--drivers", "overlay2,vfs", "--scenarios", "lookup,mount", "--depths", "1,16,64"}

// guestICountShift is the instruction clock's shift: 8 ns an instruction
// keeps the guest's clock near the emulated CPU's real speed here, so the
// per-case time budgets last about as long on the host as they say.
const guestICountShift = "3"

// BenchmarkTracedSlowdownInGuest is the real slowdown where this
// machine's own kernel refuses the function tracer: `unionbench vm` boots
// Debian's stock kernel (which has it) under qemu with the instruction
// clock (--icount 3: the guest's time is the instructions it ran, so the
// emulation's host noise stays out of its timings), and the one boot runs
// three quick runs of overlay2 and vfs, the third with the tracer on
// ovl_* (run --trace-functions). Run 1 against run 2 is the A/A pair
// (guest-aa-flagged, goal 0); run 2 against the traced run 3 is judged as
// BenchmarkAA judges its traced run (judgeTraced: at least 90% of the
// overlay2 timings slowed by 20% or more with an MDE below 20% flagged,
// nothing of vfs or the floor). compare gates the absolute timings there,
// as it does for any two runs on the instruction clock.
//
// It takes about 12 minutes here (no KVM) and downloads the kernel
// package when /var/cache/unionbench/debs has none (UNIONBENCH_VM_KERNEL
// names another). The guest's results and both comparisons go to
// UNIONBENCH_OUT (guest/<release>/run, run-2, run-3; guest-aa.txt,
// guest-traced.txt).
func BenchmarkTracedSlowdownInGuest(b *testing.B) {
	needRoot(b)
	testenv.NeedTool(b, "qemu-system-x86_64", "qemu-system-x86")
	kernel := testenv.DebianKernel(b, filepath.Join(vm.DefaultCacheDir(), "debs"))
	out := testenv.OutDir(b)
	bin := filepath.Join(b.TempDir(), "unionbench")
	build := exec.Command("go", "build", "-o", bin, "../cmd/unionbench")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // the guest has no libraries
	if o, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v: %s", err, o)
	}

	guest := filepath.Join(out, "guest")
	args := []string{"vm", "--icount", guestICountShift, "--kernel", kernel, "--out", guest, "--unionbench", bin,
		"--workdir", b.TempDir(), "--timeout", "40m", "--"}
	args = append(args, guestRun...)
	args = append(append(args, "--"), guestRun...)
	args = append(append(args, "--"), guestRun...)
	args = append(args, "--trace-functions", tracedFilter)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // the guest's progress, for whoever watches
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("unionbench %s: %v", strings.Join(args, " "), err)
	}
	b.Logf("three guest runs in one boot: %s", time.Since(start).Round(time.Second))

	dirs, _ := filepath.Glob(filepath.Join(guest, "*", "run"))
	if len(dirs) != 1 {
		b.Fatalf("want one kernel's results under %s, found %v", guest, dirs)
	}
	release := filepath.Dir(dirs[0])
	var runs [3][]results.Record
	for i, name := range []string{"run", "run-2", "run-3"} {
		var err error
		if runs[i], err = results.Read(filepath.Join(release, name, "results.jsonl")); err != nil {
			b.Fatal(err)
		}
		if c := runs[i][0].Host.InstructionClock; c != "icount shift="+guestICountShift {
			b.Fatalf("%s: the guest's clock is %q, want qemu's instruction counter", name, c)
		}
	}

	guestWarmRepeatability(b, runs[0], runs[1])
	aa := compare.Compare(runs[0], runs[1], compare.Options{})
	flagged := 0
	for _, row := range aa.Rows {
		if row.Verdict != compare.Same {
			flagged++
			b.Logf("guest run 1 vs 2: %s %s %s", row.Key, row.Change, row.Verdict)
		}
	}
	b.Logf("guest run 1 vs 2: %s; %s", aa.FDRStatement(), aa.Summary())
	b.ReportMetric(float64(flagged), "guest-aa-flagged")
	if flagged > 0 {
		b.Errorf("guest A/A: %d measurements flagged between two untraced runs (want 0)", flagged)
	}
	traced := compare.Compare(runs[1], runs[2], compare.Options{})
	b.Logf("guest traced run vs run 2: %s; %s", traced.FDRStatement(), traced.Summary())
	for name, res := range map[string]*compare.Result{"guest-aa.txt": aa, "guest-traced.txt": traced} {
		if err := writeComparison(filepath.Join(out, name), res); err != nil {
			b.Error(err)
		}
	}
	judgeTraced(b, traced)
}

// writeComparison writes res as `unionbench compare --all` prints it.
func writeComparison(path string, res *compare.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := res.WriteAll(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// guestWarmRepeatability reports how far apart the warm lookups of the two
// untraced guest runs are, against BenchmarkRepeatability's 5% (logged, not
// failed: overlay2's readdir at depth 16 reached 5.1% in CI): on the instruction clock nothing of
// the host reaches them, so what moves them is the harness's own doing (as
// the Go runtime's slow system-call return did, see scenarios/lookup's
// raw.go). guest-warm-max-spread-% is the largest spread of their medians.
// Cold lookups wait for the emulated disk, whose completions come when the
// host delivers them, and are only listed.
func guestWarmRepeatability(b *testing.B, first, second []results.Record) {
	var runs [2]map[string][]float64
	for i, recs := range [][]results.Record{first, second} {
		runs[i] = map[string][]float64{}
		for _, r := range recs {
			if r.Scenario == "lookup" && r.Param("cache") == "warm" && r.Status == results.OK && (r.Unit == "ns" || r.Unit == results.FloorRatioUnit) {
				k := r.Variant + " " + r.Metric + " " + paramString(&r)
				runs[i][k] = append(runs[i][k], r.Samples...)
			}
		}
	}
	spreads := compareRuns(b, runs[:], nil)
	if len(spreads) == 0 {
		b.Fatal("no warm lookups in the guest's runs")
	}
	b.ReportMetric(100*spreads[0].spread, "guest-warm-max-spread-%")
	for _, sp := range spreads {
		if sp.spread > repeatabilityLimit {
			b.Logf("guest warm lookup %s: medians %s, %.1f%% apart (beyond %.0f%%)", sp.key, sp.medians, 100*sp.spread, 100*repeatabilityLimit)
		}
	}
}
