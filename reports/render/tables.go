package render

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/stats"
	"github.com/unionbench/unionbench/reports/units"
)

// Table is rendered identically to Markdown and HTML, so what a test reads
// in report.md is what a person sees in report.html.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]Cell
}

// Cell is one table cell; Note is a longer explanation (a hover title in
// HTML, dropped in Markdown); Class styles it (bad, good, na).
type Cell struct {
	Text, Note, Class string
}

func c(text string) Cell { return Cell{Text: text} }

// MetricColumns are the columns of every measurement table.
var MetricColumns = []string{"metric", "driver", "parameters", "median", "p95", "95% CI of median", "n", "ratio to floor", "MDE"}

// timings counts a group's timing measurements: the family `unionbench
// compare` corrects over when a rerun of this group is compared with it.
func timings(g *dataset.Group) int {
	n := 0
	for _, m := range g.Measurements {
		if m.Scenario != "quirks" && !m.Failed() && !m.Exact {
			n++
		}
	}
	return n
}

// measurementTable is one scenario of one group: per measurement its
// median, p95, confidence interval, sample count, ratio to the floor and
// minimum detectable effect: the smallest change of the median a rerun
// with as many samples and the same spread could show, at the level
// compare tests each of the group's timings at when nothing changed
// (stats.DefaultFDR over their count, Benjamini-Hochberg's first step).
func measurementTable(g *dataset.Group, scenario string) Table {
	level := stats.DefaultFDR / float64(max(timings(g), 1))
	t := Table{Header: MetricColumns}
	var mdes []mdeAt
	for _, m := range g.Scenario(scenario) {
		row := []Cell{c(m.Metric), c(m.Variant), c(m.ParamString())}
		if m.Failed() {
			why := "failed"
			cls := "bad"
			if m.Unsupported {
				why, cls = "n/a", "na"
			}
			msg := oneLine(strings.Join(m.Errors, "; "))
			row = append(row, Cell{Text: why + ": " + short(msg, 80), Note: msg, Class: cls}, c("—"), c("—"), c("0"), c("—"), c("—"))
			t.Rows = append(t.Rows, row)
			continue
		}
		s := m.Summary
		ci := Cell{Text: "n/a", Note: strings.Join(s.Warnings, "; "), Class: "na"}
		if s.HasCI() {
			ci = c(fmt.Sprintf("%s … %s", units.Format(s.Lo, m.Unit), units.Format(s.Hi, m.Unit)))
		}
		ratio := c("—")
		if f := g.Floor(m); f != nil && !f.Failed() && f.Summary.Median != 0 {
			ratio = c(FormatRatio(s.Median / f.Summary.Median))
			ratio.Note = "floor: " + f.Metric + " " + f.ParamString() + " = " + units.Format(f.Summary.Median, f.Unit)
		}
		med := c(units.Format(s.Median, m.Unit))
		if s.Outliers > 0 {
			med.Note = fmt.Sprintf("%d outlier(s) beyond Tukey's fences; MAD %s", s.Outliers, units.Format(s.MAD, m.Unit))
		}
		row = append(row, med, c(units.Format(s.P95, m.Unit)), ci, c(fmt.Sprint(s.N)), ratio, Cell{})
		t.Rows = append(t.Rows, row)
		mdes = append(mdes, mdeAt{m, len(t.Rows) - 1})
	}
	// The MDE cells are most of a report's work (a bisection of U tests
	// each), and independent: computed on every CPU.
	var eg errgroup.Group
	eg.SetLimit(runtime.GOMAXPROCS(0))
	for _, w := range mdes {
		eg.Go(func() error {
			row := t.Rows[w.row]
			row[len(row)-1] = mdeCell(w.m, level)
			return nil
		})
	}
	_ = eg.Wait() // mdeCell fails nothing
	return t
}

// mdeAt is a measurement whose MDE cell goes in row row.
type mdeAt struct {
	m   *dataset.Measurement
	row int
}

// mdeCell is a measurement's minimum detectable effect (the larger of up
// and down): "exact" for counts, whose every change shows.
func mdeCell(m *dataset.Measurement, level float64) Cell {
	if m.Exact {
		return Cell{Text: "exact", Class: "na"}
	}
	// Against another run like this one: its samples, and when it was
	// measured in passes, its passes' scatter, whichever limits more.
	d := stats.MinDetectable(m.Samples, m.Samples, level).AtPower(level, stats.Power)
	how := fmt.Sprintf("%d samples", len(m.Samples))
	if pc, ok := stats.ComparePasses(m.Passes.Samples, m.Passes.Samples); ok {
		d = d.Max(pc.DetectableAt(level, stats.Power))
		how = fmt.Sprintf("%d samples in %d passes", len(m.Samples), pc.Passes[0])
	}
	mde := d.Worst()
	cell := Cell{Text: units.Detectable(mde), Note: fmt.Sprintf("the change of the median that a comparison with another run of %s of this spread finds %.0f%% of the time at p<=%.3g", how, 100*stats.Power, level)}
	if math.IsInf(mde, 1) {
		cell.Class = "na"
		cell.Note = fmt.Sprintf("%d samples cannot show any change at p<=%.3g", len(m.Samples), level)
	}
	return cell
}

// FormatRatio renders a ratio of medians: 1.234×.
func FormatRatio(r float64) string { return fmt.Sprintf("%.3g×", r) }

// hostTable is the facts of every run.
func hostTable(s *dataset.Set) Table {
	t := Table{Header: []string{"run", "file", "kernel", "distro", "CPU", "emulated", "backing fs", "variants (mount options)", "unionbench", "records"}}
	for _, g := range s.Groups {
		for _, r := range g.Runs {
			emu := c("no")
			if r.Host.Emulated {
				emu = Cell{Text: "YES: timings not native", Class: "bad"}
				if r.Host.InstructionClock != "" {
					emu.Text = "YES: timings count instructions (" + r.Host.InstructionClock + ")"
				}
			}
			cpu := r.Host.CPU
			if r.Host.CPUs > 0 {
				cpu = fmt.Sprintf("%s (%d CPUs)", cpu, r.Host.CPUs)
			}
			b := r.Backing
			back := string(b.Kind)
			if b.FSType != "" {
				back = fmt.Sprintf("%s (%s, %s", b.Kind, b.FSType, b.MountOptions)
				if b.Reflink {
					back += ", reflink"
				}
				back += ")"
			}
			var vs []string
			for v, opts := range r.MountOptions {
				if v == dataset.FloorDriver {
					continue
				}
				if len(opts) > 0 {
					v += " (" + strings.Join(opts, ",") + ")"
				}
				vs = append(vs, v)
			}
			slices.Sort(vs)
			t.Rows = append(t.Rows, []Cell{c(r.ID), c(r.File), c(r.Host.Kernel), c(r.Host.Distro), c(cpu), emu, c(back),
				c(strings.Join(vs, ", ")), c(r.Host.Version), c(fmt.Sprint(r.Records))})
		}
	}
	return t
}

// quirkTable is the quirk matrix of a group: one row per quirk, one column
// per variant, each cell the observed behaviour, marked when it is not
// what POSIX requires.
func quirkTable(g *dataset.Group) (Table, bool) {
	ms := g.Scenario("quirks")
	if len(ms) == 0 {
		return Table{}, false
	}
	variants := dataset.Variants(ms)
	t := Table{Header: append([]string{"quirk"}, variants...)}
	var ids []string
	cells := map[string]Cell{}
	for _, m := range ms {
		if !slices.Contains(ids, m.Metric) {
			ids = append(ids, m.Metric)
		}
		cells[m.Metric+"\x00"+m.Variant] = QuirkCell(m)
	}
	for _, id := range ids {
		row := []Cell{c(id)}
		for _, v := range variants {
			cell, ok := cells[id+"\x00"+v]
			if !ok {
				cell = Cell{Text: "—", Class: "na"}
			}
			row = append(row, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t, true
}

// QuirkCell is a quirk's observed behaviour: "✓ EXDEV" when POSIX allows
// it, "✗ ..." when it does not, "n/a: ..." or "failed: ..." otherwise.
func QuirkCell(m *dataset.Measurement) Cell {
	observed, _ := m.Extra["observed"].(string)
	detail, _ := m.Extra["detail"].(string)
	posix, known := m.Extra["posix"].(bool)
	switch {
	case m.Unsupported:
		return Cell{Text: "n/a", Note: oneLine(strings.Join(m.Errors, "; ")), Class: "na"}
	case len(m.Errors) > 0 && observed == "":
		return Cell{Text: "failed", Note: oneLine(strings.Join(m.Errors, "; ")), Class: "bad"}
	case !known:
		return Cell{Text: observed, Note: detail}
	case posix:
		return Cell{Text: "✓ " + observed, Note: detail, Class: "good"}
	default:
		return Cell{Text: "✗ " + observed, Note: detail, Class: "bad"}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
