package plots

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/results"
)

// view is one row of a line figure: which measurements it draws.
type view struct {
	title  string
	metric string
	where  []results.Param
}

// lineSpec describes a figure of medians against a swept parameter.
type lineSpec struct {
	name, title, caption string
	scenario             string
	views                []view
	x                    string // the swept parameter
	xLabel               string
	parseX               func(string) (float64, bool)
	formatX              func(float64) string
	xLog, yLog           bool
	// floor draws the floor's matching measurement as its own line (or,
	// when it was not swept over x, as a flat line across the panel).
	floor bool
}

// floorLabel names the baseline in legends.
const floorLabel = "floor (backing fs)"

// errPoints is a series of medians with their spread, for YErrorBars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// lineFigure builds a figure; nil when no group has any of its data.
func lineFigure(s *dataset.Set, spec lineSpec) (*Figure, error) {
	f := &Figure{Name: spec.name, Title: spec.title, Caption: spec.caption}
	any := false
	for _, v := range spec.views {
		var row []*plot.Plot
		for _, g := range s.Groups {
			p, n, err := linePanel(g, spec, v)
			if err != nil {
				return nil, fmt.Errorf("plot %s (%s): %w", spec.name, g.Label, err)
			}
			any = any || n > 0
			row = append(row, p)
		}
		f.Panels = append(f.Panels, row)
	}
	if !any {
		return nil, nil
	}
	f.Panels = arrange(f.Panels)
	return f, nil
}

// linePanel draws one view of one group and returns how many driver
// series (the floor aside) it holds.
func linePanel(g *dataset.Group, spec lineSpec, v view) (*plot.Plot, int, error) {
	p := newPanel(g, v.title)
	p.X.Label.Text = spec.xLabel
	var ms []*dataset.Measurement
	for _, m := range g.Select(spec.scenario, v.metric, v.where...) {
		if m.Driver != dataset.FloorDriver { // floors come by reference below
			ms = append(ms, m)
		}
	}
	if spec.floor {
		ms = append(ms, floorOf(g, ms)...)
	}
	unit := ""
	var xs []float64
	type series struct {
		label string
		pts   errPoints
		flat  *dataset.Measurement // a floor not swept over x
	}
	var all []*series
	byVariant := map[string]*series{}
	for _, variant := range dataset.Variants(ms) {
		se := &series{label: variant}
		if variant == dataset.FloorDriver {
			se.label = floorLabel
		}
		byVariant[variant] = se
		all = append(all, se)
	}
	for _, m := range ms {
		if m.Failed() || (spec.yLog && m.Summary.Median <= 0) {
			continue // failures are in the tables; log axes cannot show 0
		}
		unit = m.Unit
		se := byVariant[m.Variant]
		raw := m.Param(spec.x)
		if raw == "" && m.Driver == dataset.FloorDriver {
			se.flat = m
			continue
		}
		x, ok := spec.parseX(raw)
		if !ok || (spec.xLog && x <= 0) {
			continue
		}
		xs = append(xs, x)
		sm := m.Summary
		se.pts.XYs = append(se.pts.XYs, plotter.XY{X: x, Y: sm.Median})
		se.pts.YErrors = append(se.pts.YErrors, struct{ Low, High float64 }{sm.Median - sm.P5, sm.P95 - sm.Median})
	}
	if len(xs) == 0 {
		p.Title.Text += "\n(no data)"
		p.HideAxes()
		return p, 0, nil
	}
	lo, hi := minMax(xs)
	n := 0
	for i, se := range all {
		if se.flat != nil {
			sm := se.flat.Summary
			se.pts.XYs = plotter.XYs{{X: lo, Y: sm.Median}, {X: hi, Y: sm.Median}}
			se.pts.YErrors = plotter.YErrors{{Low: sm.Median - sm.P5, High: sm.P95 - sm.Median}, {Low: sm.Median - sm.P5, High: sm.P95 - sm.Median}}
		}
		if len(se.pts.XYs) == 0 {
			continue
		}
		sortByX(&se.pts)
		floor := se.flat != nil || se.label == floorLabel
		if err := addSeries(p, &se.pts, se.label, i, floor); err != nil {
			return nil, 0, err
		}
		if !floor { // a floor alone is no figure of this operation
			n++
		}
	}
	p.Y.Label.Text = yLabel(unit)
	p.Y.Tick.Marker = axisTicker(unit, spec.yLog)
	if spec.yLog {
		p.Y.Scale = plot.LogScale{}
		p.Y.Min, p.Y.Max = padLog(p.Y.Min, p.Y.Max, true)
	}
	if spec.xLog {
		p.X.Scale = plot.LogScale{}
		p.X.Min, p.X.Max = padLog(lo, hi, false)
	} else {
		pad := (hi - lo) * 0.05
		p.X.Min, p.X.Max = lo-pad, hi+pad
	}
	if !spec.yLog {
		p.Y.Min, p.Y.Max = 0, p.Y.Max*1.5 // from zero, and room for the legend
	}
	p.X.Tick.Marker = atValues(xs, spec.formatX)
	return p, n, nil
}

// floorOf returns the floor measurements the drivers' measurements ms
// name as their floors, each once.
func floorOf(g *dataset.Group, ms []*dataset.Measurement) []*dataset.Measurement {
	var out []*dataset.Measurement
	for _, m := range ms {
		if f := g.Floor(m); f != nil && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// addSeries draws a line with points and error bars; the floor is black
// and dashed so it reads as a reference, not as one more driver.
func addSeries(p *plot.Plot, pts *errPoints, label string, i int, floor bool) error {
	l, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	eb, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return err
	}
	c := plotutil.Color(i)
	l.Color, sc.Color, eb.Color = c, c, c
	sc.Shape = plotutil.Shape(i)
	sc.Radius = vg.Points(2.5)
	eb.CapWidth = vg.Points(4)
	if floor {
		l.Color, sc.Color, eb.Color = color.Black, color.Black, color.Gray{Y: 96}
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		l.Width = vg.Points(1.5)
	}
	p.Add(l, sc, eb)
	p.Legend.Add(label, l, sc)
	return nil
}

func newPanel(g *dataset.Group, title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = g.Label
	if title != "" {
		p.Title.Text += " — " + title
	}
	if g.Key.Emulated {
		p.Title.Text += "\n(timed under emulation: not comparable with native panels)"
		p.BackgroundColor = color.RGBA{R: 255, G: 248, B: 230, A: 255}
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Add(plotter.NewGrid())
	return p
}

// noPanel is drawn for a group that lacks a figure's data, so columns of
// different rows still belong to the same group.
func noPanel(g *dataset.Group, title string) *plot.Plot {
	p := newPanel(g, title)
	p.Title.Text += "\n(no data)"
	p.HideAxes()
	return p
}

func yLabel(unit string) string {
	switch unit {
	case "ns":
		return "time (median)"
	case "bytes":
		return "bytes (median)"
	case "":
		return ""
	default:
		return unit + " (median)"
	}
}

func minMax(xs []float64) (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func sortByX(e *errPoints) {
	// Insertion sort keeps XYs and YErrors paired; a series has a handful
	// of points.
	for i := 1; i < len(e.XYs); i++ {
		for j := i; j > 0 && e.XYs[j].X < e.XYs[j-1].X; j-- {
			e.XYs[j], e.XYs[j-1] = e.XYs[j-1], e.XYs[j]
			e.YErrors[j], e.YErrors[j-1] = e.YErrors[j-1], e.YErrors[j]
		}
	}
}

func parseInt(s string) (float64, bool) {
	n, err := strconv.Atoi(s)
	return float64(n), err == nil
}
