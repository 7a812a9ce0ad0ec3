package compare

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/unionbench/unionbench/reports/units"
)

// Write prints the comparison for a terminal or a CI log: what regressed
// first, then what improved, quirk changes, one-sided measurements, and a
// summary line. Unchanged measurements are only counted, as there are
// hundreds of them.
func (r *Result) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	section := func(title string, vs ...Verdict) {
		var rows []Row
		for _, row := range r.Rows {
			for _, v := range vs {
				if row.Verdict == v {
					rows = append(rows, row)
				}
			}
		}
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(tw, "%s\n", title)
		fmt.Fprintf(tw, "MEASUREMENT\tBASE\tNEW\tDELTA\tP\tVERDICT\n")
		for _, row := range rows {
			switch row.Verdict {
			case NowFails:
				fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t%s\n", row.Key, units.Format(row.Change.Old.Median, row.Unit), "failed: "+short(row.Error), row.Verdict)
			case NowWorks:
				fmt.Fprintf(tw, "%s\tfailed\t%s\t\t\t%s\n", row.Key, units.Format(row.Change.New.Median, row.Unit), row.Verdict)
			default:
				p := fmt.Sprintf("%.3f", row.Change.P)
				if row.Change.Exact {
					p = "exact"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", row.Key, units.Format(row.Change.Old.Median, row.Unit),
					units.Format(row.Change.New.Median, row.Unit), units.Percent(row.Change.Delta), p, row.Verdict)
			}
		}
		fmt.Fprintln(tw)
	}
	section(fmt.Sprintf("REGRESSIONS (significant at p<0.05 and beyond %.4g%%):", 100*r.Threshold), Regressed, NowFails)
	section("IMPROVEMENTS:", Improved, NowWorks)
	if len(r.Quirks) > 0 {
		fmt.Fprintf(tw, "QUIRKS CHANGED:\nVARIANT/QUIRK\tBASE\tNEW\n")
		for _, q := range r.Quirks {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", q.Key, q.Old, q.New)
		}
		fmt.Fprintln(tw)
	}
	list := func(title string, keys []string) {
		if len(keys) == 0 {
			return
		}
		fmt.Fprintln(tw, title)
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\n", k)
		}
		fmt.Fprintln(tw)
	}
	list("ONLY IN BASE (not measured in NEW):", r.OnlyBase)
	list("ONLY IN NEW (not measured in BASE):", r.OnlyNew)
	fmt.Fprintln(tw, r.Summary())
	return tw.Flush()
}

func short(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return s
}
