package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/unionbench/unionbench/reports/compare"
	"github.com/unionbench/unionbench/reports/results"
)

func cmdCompare(args []string, stdout io.Writer) error {
	fset := newFlags("compare")
	threshold := fset.String("threshold", "10", "smallest change of a median that counts, in percent")
	files, err := parseWithArgs(fset, args)
	if err != nil {
		return err
	}
	pct, err := strconv.ParseFloat(strings.TrimSuffix(*threshold, "%"), 64)
	if err != nil || pct < 0 || math.IsNaN(pct) || math.IsInf(pct, 0) {
		return badInput("--threshold %q: want a percentage, e.g. 10", *threshold)
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
	res := compare.Compare(base, recs, pct/100)
	fmt.Fprintf(stdout, "BASE %s\nNEW  %s\n\n", files[0], files[1])
	if err := res.Write(stdout); err != nil {
		return err
	}
	if res.Failed() {
		return fmt.Errorf("%d regression(s), %d quirk change(s)", len(res.Regressions()), len(res.Quirks))
	}
	return nil
}
