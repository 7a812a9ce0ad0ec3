package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/ftrace"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/noise"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/units"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/realimage"
	"golang.org/x/sys/unix"
)

// exitInterrupted is returned when a signal stopped the run; main turns
// it into 128+signal after what was measured has been written out.
type exitInterrupted struct{ sig syscall.Signal }

func (e *exitInterrupted) Error() string { return "interrupted by " + e.sig.String() }

type runFlags struct {
	drivers, scenarios, backing, out, workdir, sizes, depths, backingSize string
	quick, full, countSet, passesSet                                      bool
	count, maxDepth, passes                                               int
	images                                                                []string
	exec                                                                  string
	targetCI, budget, traceFunctions                                      string
}

func cmdRun(args []string, stdout io.Writer) error {
	fs := newFlags("run")
	var f runFlags
	fs.StringVar(&f.drivers, "drivers", "", "comma-separated drivers or variants (default: every one this host supports)")
	fs.StringVar(&f.scenarios, "scenarios", "", "comma-separated scenarios (default: all)")
	fs.BoolVar(&f.quick, "quick", false, "the quick suite (the default)")
	fs.BoolVar(&f.full, "full", false, "the full suite: every size and depth of the scenario table")
	fs.StringVar(&f.backing, "backing", "ext4", "backing filesystem: dir, tmpfs, ext4, xfs or btrfs")
	fs.StringVar(&f.backingSize, "backing-size", "16GiB", "size of the backing filesystem (images are sparse)")
	countFlag(fs, "count", "samples", "samples per measurement (default 5 quick, 10 full)", &f.count, &f.countSet)
	fs.StringVar(&f.targetCI, "target-ci", "", "interleaved timings (lookup) keep sampling past --count until the 95% CI of each median is within this percent of it, or --budget is spent; 0: exactly --count samples (default 5, or 0 when --count is given)")
	fs.StringVar(&f.budget, "budget", "", "sampling time per case and driver under --target-ci, e.g. 1s (default 250ms quick, 750ms full)")
	countFlag(fs, "passes", "passes", fmt.Sprintf("interleaved scenarios are measured in this many passes spread over the run, each on fresh mounts, sharing --count and --budget; compare tests the pass medians (1 to 20; default %d)", scenarios.DefaultPasses), &f.passes, &f.passesSet)
	fs.StringVar(&f.traceFunctions, "trace-functions", "", "run with the kernel's function tracer on for the functions matching this glob (e.g. 'ovl_*': a real slowdown of overlayfs alone, to check that compare catches one); recorded in every record")
	fs.StringVar(&f.sizes, "sizes", "", "file sizes to sweep instead of the suite's, e.g. 4KiB,1MiB")
	fs.StringVar(&f.depths, "depths", "", "image depths to sweep instead of the suite's, e.g. 1,16,128")
	fs.IntVar(&f.maxDepth, "max-depth", 0, "let drivers build stacks this deep (up to the kernel's limit; 0: driver defaults, or as deep as each can with --full)")
	fs.StringVar(&f.out, "out", "", "results directory, new or empty (default results/<run id>)")
	fs.Func("image", "run the image scenarios on this docker save archive or OCI layout (directory or tar); repeatable", func(v string) error {
		f.images = append(f.images, v)
		return nil
	})
	fs.StringVar(&f.exec, "exec", "", "with --image: the program the start and pagecache scenarios run in the image (default \"/bin/sh -c true\")")
	fs.StringVar(&f.workdir, "workdir", defaultWorkdir, "directory that holds all scratch state (not a system directory such as /etc or /usr, nor under /var/lib/docker)")
	if err := parse(fs, args); err != nil {
		return err
	}
	plan, err := planRun(&f)
	if err != nil {
		return err
	}
	workdir, err := checkWorkdir(f.workdir)
	if err != nil {
		return err
	}
	if err := enterSandbox(workdir); err != nil {
		return err
	}
	return executeRun(plan, &f, stdout)
}

// countFlag is a whole-number flag whose absence the plan must tell from
// any value (the suite's default applies then); the range is checked with
// the rest of the plan.
func countFlag(fs *flag.FlagSet, name, what, usage string, n *int, set *bool) {
	fs.Func(name, usage, func(v string) error {
		i, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("want a whole number of %s", what)
		}
		*n, *set = i, true
		return nil
	})
}

// runPlan is everything checked before the sandbox is entered: bad input
// is refused before anything is created.
type runPlan struct {
	plan        scenarios.Plan
	kind        backing.Kind
	backingSize int64
	explicit    bool // --drivers given: unsupported drivers are errors, not skipped
	images      imagePlan
}

// planSampling reads --target-ci and --budget: by default the data decide
// how many samples a timing takes (from --count up), unless --count says
// how many exactly.
func planSampling(f *runFlags, p *scenarios.Plan) error {
	p.Seed = uint64(time.Now().UnixNano())
	target := fmt.Sprint(100 * scenarios.DefaultTargetCI)
	if f.countSet {
		target = "0"
	}
	if f.targetCI != "" {
		target = f.targetCI
	}
	pct, err := strconv.ParseFloat(strings.TrimSuffix(target, "%"), 64)
	if err != nil || !(pct >= 0 && pct < 100) {
		return badInput("--target-ci %q: want a percentage from 0 (off) to below 100, e.g. 5", target)
	}
	p.TargetCI = pct / 100
	p.Budget = scenarios.DefaultBudget
	if p.Suite == scenarios.Full {
		p.Budget = 3 * scenarios.DefaultBudget
	}
	if f.budget != "" {
		d, err := time.ParseDuration(f.budget)
		if err != nil || d <= 0 || d > time.Hour {
			return badInput("--budget %q: want a duration above 0 and up to 1h, e.g. 1s", f.budget)
		}
		p.Budget = d
	}
	p.Passes = scenarios.DefaultPasses
	if f.passesSet {
		if f.passes < 1 || f.passes > 20 {
			return badInput("--passes %d: want 1 to 20 passes", f.passes)
		}
		p.Passes = f.passes
	}
	return nil
}

func planRun(f *runFlags) (*runPlan, error) {
	rp := &runPlan{plan: scenarios.Plan{Suite: scenarios.Quick, Count: 5}}
	p := &rp.plan
	if err := checkOutFlag(f.out); err != nil {
		return nil, err
	}
	if f.quick && f.full {
		return nil, badInput("--quick and --full: choose one")
	}
	if f.full {
		p.Suite, p.Count = scenarios.Full, 10
	}
	if f.countSet { // not given: the suite's default
		if f.count < 1 || f.count > 100000 {
			return nil, badInput("--count %d: want 1 to 100000 samples", f.count)
		}
		p.Count = f.count
	}
	if err := planSampling(f, p); err != nil {
		return nil, err
	}
	var err error
	if f.drivers == "" {
		p.Variants = nil // every supported one, decided inside the sandbox
		for _, v := range drivers.AllVariants() {
			if len(v.Options) == 0 {
				p.Variants = append(p.Variants, v)
			}
		}
	} else if p.Variants, err = drivers.ParseList(f.drivers); err != nil {
		return nil, badInput("--drivers: %v", err)
	} else {
		rp.explicit = true
	}
	p.Scenarios = scenarios.All()
	if len(f.images) > 0 {
		// The image scenarios replace the synthetic ones; they are made
		// once the images are opened inside the sandbox.
		if rp.images, err = planImages(f); err != nil {
			return nil, err
		}
		p.Scenarios = nil
	} else if f.exec != "" {
		return nil, badInput("--exec %q: only with --image", f.exec)
	} else if f.scenarios != "" {
		if p.Scenarios, err = scenarios.ParseList(f.scenarios); err != nil {
			return nil, badInput("--scenarios: %v", err)
		}
	}
	if len(p.Scenarios) == 0 && len(f.images) == 0 {
		return nil, badInput("no scenarios are built into this unionbench")
	}
	if rp.kind, err = backing.ParseKind(f.backing); err != nil {
		return nil, badInput("--backing: %v", err)
	}
	if rp.backingSize, err = units.ParseSize(f.backingSize); err != nil || rp.backingSize < 64<<20 {
		return nil, badInput("--backing-size %q: want a size of at least 64MiB, e.g. 16GiB", f.backingSize)
	}
	if f.sizes != "" {
		if p.Sizes, err = units.ParseSizes(f.sizes); err != nil {
			return nil, badInput("--sizes: %v", err)
		}
	}
	if f.maxDepth < 0 {
		return nil, badInput("--max-depth %d: want 0 (driver defaults) or more", f.maxDepth)
	}
	p.MaxDepth = f.maxDepth
	if f.full && f.maxDepth == 0 {
		// The full suite sweeps depth up to the kernel's limit: every
		// driver builds as deep as it can, and what it cannot is n/a.
		p.MaxDepth = drivers.Deepest
	}
	if f.depths != "" {
		if p.Depths, err = scenarios.ParseDepths(f.depths); err != nil {
			return nil, badInput("--depths: %v", err)
		}
	}
	// Room: the largest case of every scenario must fit on the backing fs.
	need := p.SpaceNeeded()
	if rp.kind != backing.Dir && need > rp.backingSize {
		return nil, badInput("--backing-size %s is too small for the largest case: it needs about %s (raise --backing-size or lower --sizes)", f.backingSize, units.FormatSize(roundUp(need)))
	}
	return rp, nil
}

func roundUp(n int64) int64 { return (n + 1<<20 - 1) &^ (1<<20 - 1) }

func executeRun(rp *runPlan, f *runFlags, stdout io.Writer) error {
	p := &rp.plan
	p.RunID = newRunID()
	p.Host = hostinfo.Read()
	// The host's own noise floor, before anything of ours runs: compare
	// shows it for both runs and warns when they differ.
	n, err := noise.Measure(noise.Default)
	if err != nil {
		return err
	}
	p.Noise = &n
	outDir := f.out
	if outDir == "" {
		outDir = filepath.Join("results", p.RunID)
	}
	fs, err := backing.Create(sandbox.Scratch(), backing.Spec{Kind: rp.kind, Size: rp.backingSize})
	if err != nil {
		return err
	}
	defer fs.Close()
	p.FS = fs
	if ok, _ := fs.DType(); !ok {
		return badInput("--backing %s: the filesystem does not report d_type, which every union driver needs", rp.kind)
	}
	if rp.kind == backing.Dir {
		st, err := fs.Statfs()
		if err == nil && int64(st.Bavail)*st.Bsize < rp.backingSize/4 {
			fmt.Fprintf(os.Stderr, "unionbench run: warning: only %s free under %s\n", units.FormatSize(roundUp(int64(st.Bavail)*st.Bsize)), fs.Dir)
		}
	}
	if err := checkDepths(rp, fs); err != nil {
		return err
	}
	if len(rp.images.paths) > 0 {
		imgs, err := rp.images.open(sandbox.Scratch())
		defer closeImages(imgs)
		if err != nil {
			return err
		}
		if p.Scenarios, err = realimage.Scenarios(realimage.Config{Images: imgs, Exec: rp.images.exec}, rp.images.scenarios...); err != nil {
			return badInput("%v", err)
		}
	}
	if f.traceFunctions != "" {
		stop, err := ftrace.Trace(f.traceFunctions)
		if errors.Is(err, unix.EINVAL) {
			return badInput("--trace-functions %q: no function of this kernel matches it (see %s/available_filter_functions)", f.traceFunctions, ftrace.Dir)
		}
		if err != nil {
			return fmt.Errorf("--trace-functions %q: %w", f.traceFunctions, err)
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(os.Stderr, "unionbench run: turning the function tracer off: %v\n", err)
			}
		}()
		p.TracedFunctions = f.traceFunctions
	}
	// The results directory is made only once the plan is known to be
	// runnable, so bad input leaves nothing behind.
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}

	jsonl, err := results.CreateNew(filepath.Join(outDir, "results.jsonl"))
	if errors.Is(err, os.ErrExist) {
		return badInput("--out %s already holds results.jsonl (another run's): choose a new directory", outDir)
	}
	if err != nil {
		return err
	}
	defer jsonl.Close()
	benchFile, err := os.Create(filepath.Join(outDir, "bench.txt"))
	if err != nil {
		return err
	}
	defer benchFile.Close()
	bench := results.NewBenchWriter(benchFile)
	var recs []results.Record
	sink := func(r *results.Record) error {
		recs = append(recs, *r)
		if err := jsonl.Write(r); err != nil {
			return err
		}
		return bench.Write(r)
	}

	ctx, interrupt, release := onInterrupt("unionbench run", "stopping after the current measurement")
	defer release()

	samples := fmt.Sprintf("%d samples", p.Count)
	if p.TargetCI > 0 {
		samples = fmt.Sprintf("%d samples (interleaved timings: until the 95%% CI is within %.3g%%, %s a case)", p.Count, 100*p.TargetCI, p.Budget)
	}
	if n := p.PassCount(); n > 1 {
		samples += fmt.Sprintf(" in %d passes", n)
	}
	if p.TracedFunctions != "" {
		samples += fmt.Sprintf(", the function tracer on %s", p.TracedFunctions)
	}
	fmt.Fprintf(os.Stderr, "unionbench run %s: %s suite, %s, backing %s, results in %s\n", p.RunID, p.Suite, samples, rp.kind, outDir)
	prog := newProgress(os.Stderr)
	interrupt.noticeTo(prog)
	out, err := scenarios.Run(ctx, p, sink, prog)
	prog.Done() // before the summary: the bar's last frame must not land in it (the runner skips Done when it stops on an error)
	printSummary(stdout, recs)
	fmt.Fprintf(stdout, "\n%d measurements, %d failed, %d not supported; results: %s\n", out.Measured, out.Failed, out.Unsupported, filepath.Join(outDir, "results.jsonl"))
	if err := reportRun(filepath.Join(outDir, "report"), filepath.Join(outDir, "results.jsonl"), recs); err != nil {
		fmt.Fprintf(os.Stderr, "unionbench run: warning: no report: %v\n", err)
		out.Failed++ // the results stay; the run still fails
	} else {
		fmt.Fprintf(stdout, "report: %s\n", filepath.Join(outDir, "report", "report.html"))
	}
	switch {
	case err != nil:
		return err
	case out.Interrupted && interrupt.Signal() != 0:
		return &exitInterrupted{interrupt.Signal()}
	case out.Failed > 0:
		return fmt.Errorf("%d measurements failed (see the summary and %s)", out.Failed, filepath.Join(outDir, "results.jsonl"))
	}
	return nil
}

// checkDepths refuses depths beyond a selected driver's limit before any
// measurement: one line naming the depth and the limit.
func checkDepths(rp *runPlan, fs *backing.FS) error {
	p := &rp.plan
	deepest := 0
	for _, d := range p.Depths {
		deepest = max(deepest, d)
	}
	var kept []drivers.Variant
	for _, v := range p.Variants {
		env := &scenarios.Env{FS: fs, Variant: v, MaxDepth: p.MaxDepth}
		d, cleanup, err := env.NewDriver()
		var de *drivers.DepthError
		switch {
		case errors.As(err, &de):
			return badInput("--max-depth %d: %v", p.MaxDepth, err)
		case errors.Is(err, drivers.ErrNotSupported) && !rp.explicit:
			fmt.Fprintf(os.Stderr, "unionbench run: skipping %v\n", err)
			continue
		case errors.Is(err, drivers.ErrNotSupported):
			kept = append(kept, v) // asked for by name: recorded as n/a
			continue
		case err != nil:
			return err
		}
		limit := d.MaxDepth()
		if err := cleanup(); err != nil {
			return err
		}
		// An image of depth N under a container is N+2 layers deep.
		if deepest+2 > limit {
			return badInput("--depths %d: %s stacks at most %d layers, so images of at most %d layers under a container (raise --max-depth up to the kernel's limit, or lower --depths)", deepest, v, limit, limit-2)
		}
		kept = append(kept, v)
	}
	if len(kept) == 0 {
		return fmt.Errorf("no selected driver runs on this host (see `unionbench drivers`)")
	}
	p.Variants = kept
	return nil
}

func newRunID() string {
	b := make([]byte, 3)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
