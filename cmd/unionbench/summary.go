package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
	"github.com/unionbench/unionbench/reports/units"
	"github.com/unionbench/unionbench/scenarios/quirks"
)

// printSummary writes the terminal summary: the median of every
// measurement, failures and unsupported drivers with their reasons.
func printSummary(w io.Writer, recs []results.Record) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tMETRIC\tDRIVER\tPARAMS\tMEDIAN\tN")
	for _, r := range recs {
		var params []string
		for _, p := range r.Params {
			params = append(params, p.Key+"="+p.Value)
		}
		var median string
		switch {
		case r.Status == results.Unsupported:
			median = "n/a: " + oneLine(r.Reason)
		case r.Failed():
			median = "FAILED: " + oneLine(r.Error)
		case r.Scenario == quirks.Scenario:
			// A behaviour: what was observed, marked against POSIX.
			mark := "deviates:"
			if posix, _ := r.Extra["posix"].(bool); posix {
				mark = "posix:"
			}
			median = fmt.Sprintf("%s %v", mark, r.Extra["observed"])
		default:
			median = units.Format(stats.Summarize(r.Samples).Median, r.Unit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", r.Scenario, r.Metric, r.Variant, strings.Join(params, " "), median, len(r.Samples))
	}
	tw.Flush()
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}
