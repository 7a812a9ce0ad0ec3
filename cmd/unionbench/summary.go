package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
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
		median := "-"
		switch {
		case r.Failed() && r.Extra["unsupported"] == true:
			median = "n/a: " + oneLine(r.Error)
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
			if m, err := stats.Median(r.Samples); err == nil {
				median = formatValue(m, r.Unit)
			}
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

// formatValue renders a median in its unit the way a person reads it.
func formatValue(v float64, unit string) string {
	switch unit {
	case "ns":
		return time.Duration(v).Round(time.Duration(max(1, v/1000))).String()
	case "bytes":
		for _, u := range []struct {
			s string
			f float64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
			if v >= u.f {
				return fmt.Sprintf("%.1f %s", v/u.f, u.s)
			}
		}
		return fmt.Sprintf("%.0f B", v)
	case "ratio":
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.4g %s", v, unit)
	}
}
