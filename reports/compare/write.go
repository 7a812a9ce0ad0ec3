package compare

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
	"github.com/unionbench/unionbench/reports/units"
)

// Write prints the comparison for a terminal or a CI log: how the timings
// were tested, what regressed first, then what improved, quirk changes,
// one-sided measurements, and a summary line. Unchanged measurements are
// only counted, as there are hundreds of them; WriteAll lists them too.
func (r *Result) Write(w io.Writer) error { return r.write(w, false) }

// WriteAll is Write with every compared measurement listed, unchanged
// ones included, with its p-value, q-value and MDE.
func (r *Result) WriteAll(w io.Writer) error { return r.write(w, true) }

// FDRStatement says how the timings were tested, for the top of the
// output: "FDR q=0.05 over 412 tests, Benjamini-Hochberg (...)".
func (r *Result) FDRStatement() string {
	s := fmt.Sprintf("FDR q=%.2g over %d tests, Benjamini-Hochberg (per-test level %.3g; %d discoveries); a timing counts when its q-value is at most %.2g and its median moved beyond %.4g%% and beyond its critical effect (the least change that could be significant); MDE: the change found with %.0f%% probability",
		r.FDR.Q, r.FDR.Tests, r.FDR.Level, r.FDR.Discoveries, r.FDR.Q, 100*r.Threshold, 100*stats.Power)
	s += "; p is the larger of the U test on the samples and, for measurements taken in passes, the t test on the pass medians"
	if r.Relative {
		s += "; relative: timings with a floor-relative figure, and the floor's own, are shown but not gated (--absolute gates them)"
	} else {
		s += "; absolute: every timing gated, the floor's own too"
	}
	return s
}

func (r *Result) write(w io.Writer, all bool) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n", r.FDRStatement())
	fmt.Fprintf(tw, "host noise floor: BASE %s, NEW %s\n", describeNoise(r.BaseNoise), describeNoise(r.NewNoise))
	if r.NoiseWarning != "" {
		fmt.Fprintln(tw, r.NoiseWarning)
	}
	if r.ClockNote != "" {
		fmt.Fprintln(tw, r.ClockNote)
	}
	if r.TraceNote != "" {
		fmt.Fprintln(tw, r.TraceNote)
	}
	fmt.Fprintln(tw)
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
		fmt.Fprintf(tw, "MEASUREMENT\tBASE\tNEW\tDELTA\tP\tQ\tMDE\tN\tVERDICT\n")
		for _, row := range rows {
			switch row.Verdict {
			case NowFails:
				fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t\t\t\t%s\n", row.Key, units.Format(row.Change.Old.Median, row.Unit), "failed: "+short(row.Error), row.Verdict)
			case NowWorks:
				fmt.Fprintf(tw, "%s\tfailed\t%s\t\t\t\t\t\t%s\n", row.Key, units.Format(row.Change.New.Median, row.Unit), row.Verdict)
			default:
				p, q, mde := "exact", "exact", "0"
				if row.Tested {
					p, q, mde = fmt.Sprintf("%.3g", row.P()), fmt.Sprintf("%.3g", row.Q), units.Detectable(row.Detectable())
				}
				v := string(row.Verdict)
				switch {
				case row.Ungated && row.Absolute != Same:
					v += " (not gated; absolute: " + string(row.Absolute) + ")"
				case row.Ungated:
					v += " (not gated)"
				case row.BelowMDE:
					v += " (below the critical effect)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d+%d\t%s\n", row.Key, units.Format(row.Change.Old.Median, row.Unit),
					units.Format(row.Change.New.Median, row.Unit), units.Percent(row.Change.Delta), p, q, mde,
					row.Change.Old.N, row.Change.New.N, v)
			}
		}
		fmt.Fprintln(tw)
	}
	section(fmt.Sprintf("REGRESSIONS (q<=%.2g, beyond %.4g%% and the critical effect):", r.FDR.Q, 100*r.Threshold), Regressed, NowFails)
	section("IMPROVEMENTS:", Improved, NowWorks)
	if all {
		section("UNCHANGED:", Same)
	}
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

func describeNoise(n *results.Noise) string {
	if n == nil {
		return "not measured"
	}
	return fmt.Sprintf("%s (%s: %.0f-%.0f ns)", pct(n.Spread), n.Probe, n.MinNs, n.MaxNs)
}

func short(s string) string {
	if r := []rune(s); len(r) > 60 {
		return string(r[:59]) + "…"
	}
	return s
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }
