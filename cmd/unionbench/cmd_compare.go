package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/unionbench/unionbench/reports/compare"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
)

func cmdCompare(args []string, stdout io.Writer) error {
	fset := newFlags("compare")
	threshold := fset.String("threshold", "10", "smallest change of a median that counts, in percent")
	fdr := fset.String("fdr", fmt.Sprint(stats.DefaultFDR), "false discovery rate controlled over the timings (Benjamini-Hochberg), more than 0 and below 1")
	absolute := fset.Bool("absolute", false, "gate the absolute timings, the floor's own too, instead of their floor-relative figures (<metric>-vs-floor, the default, which a uniformly slower or faster machine does not move); for runs of one quiet machine, or to judge the backing fs itself")
	relative := fset.Bool("relative", true, "judge timings by their floor-relative figures: the default, except for two runs both timed by qemu's instruction counter (vm --icount), which have no host drift to cancel and gate the absolute timings unless --relative is given (--relative=false is --absolute)")
	all := fset.Bool("all", false, "list every compared measurement with its p-value, q-value and MDE, unchanged ones too")
	files, err := parseWithArgs(fset, args)
	if err != nil {
		return err
	}
	pct, err := strconv.ParseFloat(strings.TrimSuffix(*threshold, "%"), 64)
	if err != nil || pct < 0 || math.IsNaN(pct) || math.IsInf(pct, 0) {
		return badInput("--threshold %q: want a percentage, e.g. 10", *threshold)
	}
	q, err := strconv.ParseFloat(*fdr, 64)
	if err != nil || !(q > 0 && q < 1) {
		return badInput("--fdr %q: want a rate above 0 and below 1, e.g. 0.01", *fdr)
	}
	if len(files) != 2 {
		return badInput("want BASE and NEW results files (results.jsonl or bench.txt), got %d", len(files))
	}
	base, err := results.ReadAny(files[0])
	if err != nil {
		return badInput("%v", err)
	}
	recs, err := results.ReadAny(files[1])
	if err != nil {
		return badInput("%v", err)
	}
	opt := compare.Options{Threshold: pct / 100, FDR: q, Absolute: *absolute || !*relative}
	fset.Visit(func(f *flag.Flag) { opt.Relative = opt.Relative || f.Name == "relative" && *relative })
	if pct == 0 {
		opt.Threshold = -1 // no threshold, not the default one
	}
	res := compare.Compare(base, recs, opt)
	fmt.Fprintf(stdout, "BASE %s\nNEW  %s\n\n", files[0], files[1])
	write := res.Write
	if *all {
		write = res.WriteAll
	}
	if err := write(stdout); err != nil {
		return err
	}
	if res.Failed() {
		return fmt.Errorf("%d regression(s), %d quirk change(s)", len(res.Regressions()), len(res.Quirks))
	}
	return nil
}
