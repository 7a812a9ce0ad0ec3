package plots

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
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
	// floorCaption ends the caption when the figure draws a floor,
	// noFloorCaption when it has none.
	floorCaption, noFloorCaption string
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
	st := newStyles(s)
	any := false
	for _, v := range spec.views {
		var row []*Panel
		for _, g := range s.Groups {
			p, n, err := linePanel(g, spec, v, st)
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
	floor, ratio := false, false
	for _, row := range f.Panels {
		for _, p := range row {
			floor = floor || slices.ContainsFunc(p.entries, func(e entry) bool { return e.floor })
			ratio = ratio || p.Ratio != nil
		}
	}
	if floor {
		f.Caption += spec.floorCaption
	} else {
		f.Caption += spec.noFloorCaption
	}
	if ratio {
		f.Caption += " " + ratioCaption
	}
	return f, nil
}

// ratioCaption explains the ratio plots to a reader of the caption.
const ratioCaption = "Under each panel, every driver's median over the floor's median of the same case " +
	"(log scale; the dashed line at 1× is the floor), where lines that lie on the floor above come apart. " +
	"A driver far from the floor is named above its ratio plot instead of squeezing the others together."

// series is one line of a panel: a variant's medians over x and, for a
// driver with a floor, their ratios to it.
type series struct {
	variant, label string
	pts            errPoints
	ratios         plotter.XYs
	flat           *dataset.Measurement // a floor not swept over x
}

// linePanel draws one view of one group and returns how many driver
// series (the floor aside) it holds.
func linePanel(g *dataset.Group, spec lineSpec, v view, st styles) (*Panel, int, error) {
	p := newPanel(g, v.title)
	p.X.Label.Text = spec.xLabel
	var ms []*dataset.Measurement
	for _, m := range g.Select(spec.scenario, v.metric, v.where...) {
		if m.Driver != dataset.FloorDriver { // floors come by reference below
			ms = append(ms, m)
		}
	}
	ms = append(ms, floorOf(g, ms)...)
	unit := ""
	var xs []float64
	var all []*series
	byVariant := map[string]*series{}
	for _, variant := range dataset.Variants(ms) {
		se := &series{variant: variant, label: variant}
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
		if f := g.Floor(m); f != nil && !f.Failed() && f.Summary.Median > 0 && sm.Median > 0 {
			se.ratios = append(se.ratios, plotter.XY{X: x, Y: sm.Median / f.Summary.Median})
		}
	}
	panel := &Panel{Plot: p}
	if len(xs) == 0 {
		p.Title.Text += "\n(no data)"
		p.HideAxes()
		return panel, 0, nil
	}
	lo, hi := minMax(xs)
	n := 0
	for _, se := range all {
		if se.flat != nil {
			sm := se.flat.Summary
			se.pts.XYs = plotter.XYs{{X: lo, Y: sm.Median}, {X: hi, Y: sm.Median}}
			se.pts.YErrors = plotter.YErrors{{Low: sm.Median - sm.P5, High: sm.P95 - sm.Median}, {Low: sm.Median - sm.P5, High: sm.P95 - sm.Median}}
		}
		if len(se.pts.XYs) == 0 {
			continue
		}
		sortByX(&se.pts)
		if err := addSeries(panel, &se.pts, se.label, st.of(se.variant)); err != nil {
			return nil, 0, err
		}
		if se.variant != dataset.FloorDriver { // a floor alone is no figure of this operation
			n++
		}
	}
	p.Y.Label.Text = yLabel(unit)
	p.Y.Tick.Marker = axisTicker(unit, spec.yLog)
	if spec.yLog {
		p.Y.Scale = plot.LogScale{}
		p.Y.Min, p.Y.Max = padLog(p.Y.Min, p.Y.Max)
	} else {
		p.Y.Min, p.Y.Max = 0, p.Y.Max*1.05 // from zero
	}
	if spec.xLog {
		p.X.Scale = plot.LogScale{}
		p.X.Min, p.X.Max = padLog(lo, hi)
	} else {
		pad := (hi - lo) * 0.05
		p.X.Min, p.X.Max = lo-pad, hi+pad
	}
	p.X.Tick.Marker = atValues(xs, spec.formatX)
	r, err := ratioPlot(panel, all, st)
	if err != nil {
		return nil, 0, err
	}
	if r != nil {
		// The ratio plot below carries the shared x axis's labels.
		panel.Ratio = r
		p.X.Tick.Marker = unlabelled{p.X.Tick.Marker}
		p.X.Label.Text = ""
	}
	return panel, n, nil
}

// ratioPlot draws each driver's ratio to its floor on the x axis of
// main, log scaled (a driver twice as slow and one twice as fast sit as
// far from 1), with the floor itself as the line at 1. It is nil when no
// driver has a floor.
//
// The y axis spans the ratios near 1 only (see nearFloor): a driver far
// from the floor is already apart from it in the panel above, and would
// squeeze the ones that lie on it into a line. Its points off the axis
// are named in the plot's title, and its line runs off the edge.
func ratioPlot(panel *Panel, all []*series, st styles) (*plot.Plot, error) {
	main := panel.Plot
	var ys []float64
	for _, se := range all {
		for _, xy := range se.ratios {
			ys = append(ys, xy.Y)
		}
	}
	if len(ys) == 0 {
		return nil, nil
	}
	r := plot.New()
	panel.ratios = map[string]plotter.XYs{}
	r.BackgroundColor = main.BackgroundColor
	r.X = main.X // the same scale, range, ticks and label
	r.Add(plotter.NewGrid())
	one, err := plotter.NewLine(plotter.XYs{{X: main.X.Min, Y: 1}, {X: main.X.Max, Y: 1}})
	if err != nil {
		return nil, err
	}
	fs := st.of(dataset.FloorDriver)
	one.Color, one.Dashes, one.Width = fs.color, fs.dashes, vg.Points(1.5)
	r.Add(one)
	lo, hi := nearFloor(ys)
	var off []string
	for _, se := range all {
		if len(se.ratios) == 0 {
			continue
		}
		slices.SortFunc(se.ratios, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		l, sc, err := plotter.NewLinePoints(se.ratios)
		if err != nil {
			return nil, err
		}
		styleLine(l, sc, st.of(se.variant))
		r.Add(l, sc)
		panel.ratios[se.label] = se.ratios
		if note := offScale(se, lo, hi); note != "" {
			off = append(off, note)
		}
	}
	if len(off) > 0 {
		r.Title.Text = "off this scale: " + strings.Join(off, "; ")
		r.Title.TextStyle.Font.Size = vg.Points(8)
	}
	r.Y.Scale = plot.LogScale{}
	r.Y.Min, r.Y.Max = padLog(lo, hi)
	r.Y.Tick.Marker = ratioTicks
	r.Y.Label.Text = "× floor"
	return r, nil
}

// nearFloor is the range of the ratios that reach 1 (the floor) by steps
// of at most a factor of farApart between neighbours, 1 included.
func nearFloor(ys []float64) (lo, hi float64) {
	ys = append(slices.Clone(ys), 1)
	slices.Sort(ys)
	at := slices.Index(ys, 1)
	i, j := at, at
	for i > 0 && ys[i]/ys[i-1] <= farApart {
		i--
	}
	for j < len(ys)-1 && ys[j+1]/ys[j] <= farApart {
		j++
	}
	return ys[i], ys[j]
}

// farApart is a gap between two ratios that the panel above shows well
// on its own: half a decade on a log axis.
const farApart = 3.0

// offScale names a series' ratios outside [lo, hi]: "vfs 0.035×–0.04×".
func offScale(se *series, lo, hi float64) string {
	var out []float64
	for _, xy := range se.ratios {
		if xy.Y < lo || xy.Y > hi {
			out = append(out, xy.Y)
		}
	}
	if len(out) == 0 {
		return ""
	}
	a, b := minMax(out)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 2, 64) + "×" }
	if f(a) == f(b) {
		return se.label + " " + f(a)
	}
	return se.label + " " + f(a) + "–" + f(b)
}

// floorOf returns the floor measurements the drivers' measurements ms
// are compared with (dataset's pairing; a floor not swept over x is the
// floor of every x), each once.
func floorOf(g *dataset.Group, ms []*dataset.Measurement) []*dataset.Measurement {
	var out []*dataset.Measurement
	for _, m := range ms {
		if f := g.Floor(m); f != nil && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// addSeries draws a line with points and error bars in a variant's
// style, and enters it in the panel's legend.
func addSeries(panel *Panel, pts *errPoints, label string, sty style) error {
	l, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	eb, err := plotter.NewYErrorBars(pts)
	if err != nil {
		return err
	}
	styleLine(l, sc, sty)
	eb.Color = sty.color
	eb.CapWidth = vg.Points(4)
	if sty.floor {
		eb.Color = color.Gray{Y: 96}
	}
	panel.Plot.Add(l, sc, eb)
	panel.addEntry(label, sty.floor, l, sc)
	return nil
}

func styleLine(l *plotter.Line, sc *plotter.Scatter, sty style) {
	l.Color, sc.Color = sty.color, sty.color
	l.Dashes = sty.dashes
	l.Width = vg.Points(1.2)
	sc.Shape = sty.glyph
	sc.Radius = vg.Points(3)
	if sty.floor {
		l.Width = vg.Points(1.5)
		sc.Radius = vg.Points(2)
	}
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
