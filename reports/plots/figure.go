// Package plots draws unionbench's figures with gonum.org/v1/plot: copy-up
// latency against file size, lookup latency against layer depth, mount
// time against depth, inode use per image and container, and page cache
// per container against the number of containers.
//
// A Figure is a grid of panels: one column per host group (kernel, CPU,
// backing filesystem), so several kernels stand side by side, and one row
// per view (cold and warm cache, mount and unmount). Every panel has axes
// of its own: a group measured on an emulated CPU is drawn apart from
// native ones, and its panel title says EMULATED CPU. A panel whose lines
// have a floor carries a second, shorter plot below it on the same x
// axis: each driver's median over the floor's, where lines that coincide
// on a log scale come apart.
//
// Every variant has one colour (a colour-blind-safe palette), marker and
// dash in every figure; one legend per figure stands beside the panels,
// outside every data area.
//
// Only medians are drawn, with bars over the spread of the samples; the
// tables (package render) carry the confidence intervals. Figures come out
// as PNG (for Markdown) and SVG (inlined in HTML).
package plots

import (
	"bytes"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Sizes of a figure's parts.
const (
	panelW = 5 * vg.Inch
	panelH = 3.4 * vg.Inch
	// ratioH is the height of a ratio plot under its panel: enough for
	// three labelled ticks.
	ratioH = 1.7 * vg.Inch

	pad       = 2 * vg.Millimeter // around the figure
	colGap    = 5 * vg.Millimeter
	rowGap    = 5 * vg.Millimeter
	ratioGap  = 1.5 * vg.Millimeter // a ratio plot hangs under its panel
	legendGap = 4 * vg.Millimeter
)

// Figure is one figure of a report.
type Figure struct {
	// Name is the file name without extension: plots/<Name>.png.
	Name    string
	Title   string
	Caption string
	// Panels[row][column]; columns are host groups.
	Panels [][]*Panel
}

// Panel is one cell of a figure.
type Panel struct {
	Plot *plot.Plot
	// Ratio is each driver's median over its floor's on Plot's x axis;
	// nil when no line of the panel has a floor.
	Ratio *plot.Plot
	// entries are what the panel draws, for the figure's legend.
	entries []entry
	// ratios are the points of Ratio by legend label.
	ratios map[string]plotter.XYs
}

// entry is one line of a legend: a label and the thumbnails drawn for it.
type entry struct {
	label  string
	floor  bool
	thumbs []plot.Thumbnailer
}

func (p *Panel) addEntry(label string, floor bool, thumbs ...plot.Thumbnailer) {
	p.entries = append(p.entries, entry{label, floor, thumbs})
}

// Labels are the legend labels of what the panel draws, in drawing order.
func (p *Panel) Labels() []string {
	var out []string
	for _, e := range p.entries {
		out = append(out, e.label)
	}
	return out
}

// arrange lays panels[view][group] out: with one group its views stand
// side by side (cold next to warm), with several the groups do, one row
// per view, so the same view of each kernel lines up.
func arrange(panels [][]*Panel) [][]*Panel {
	if len(panels) < 2 || len(panels[0]) != 1 {
		return panels
	}
	row := make([]*Panel, 0, len(panels))
	for _, r := range panels {
		row = append(row, r[0])
	}
	return [][]*Panel{row}
}

// Legend is the figure's one legend: every label of its panels once,
// drivers in first-seen order and floors after them. Styles are the same
// in every panel, so one thumbnail stands for a label everywhere.
func (f *Figure) Legend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font.Size = vg.Points(9)
	l.Top, l.Left = true, true
	l.Padding = vg.Points(2)
	l.ThumbnailWidth = vg.Points(28)
	var seen []string
	for _, floors := range []bool{false, true} {
		for _, row := range f.Panels {
			for _, p := range row {
				for _, e := range p.entries {
					if e.floor == floors && !slices.Contains(seen, e.label) {
						seen = append(seen, e.label)
						l.Add(e.label, e.thumbs...)
					}
				}
			}
		}
	}
	return l
}

// legendSize is the drawn size of a legend.
func legendSize(l *plot.Legend) (w, h vg.Length) {
	r := l.Rectangle(draw.Canvas{})
	// Rectangle leaves out the last line's descent, which Draw uses.
	return r.Size().X, r.Size().Y + l.TextStyle.FontExtents().Descent
}

// Size is the drawn size of the whole figure: the grid of panels and the
// legend beside it.
func (f *Figure) Size() (w, h vg.Length) {
	cols := 0
	for _, row := range f.Panels {
		cols = max(cols, len(row))
	}
	l := f.Legend()
	lw, lh := legendSize(&l)
	for _, r := range f.rows() {
		h += r.height
	}
	return vg.Length(cols)*panelW + legendGap + lw, max(h, lh+2*pad)
}

// gridRow is one row of plots of the drawn grid: a row of panels, or the
// ratio plots under one.
type gridRow struct {
	plots  []*plot.Plot // nil where a column has none
	height vg.Length
	gap    vg.Length // above the row
}

func (f *Figure) rows() []gridRow {
	var out []gridRow
	for i, row := range f.Panels {
		main := gridRow{height: panelH, gap: rowGap}
		if i == 0 {
			main.gap = 0
		}
		ratio := gridRow{height: ratioH, gap: ratioGap}
		any := false
		for _, p := range row {
			main.plots = append(main.plots, p.Plot)
			ratio.plots = append(ratio.plots, p.Ratio)
			any = any || p.Ratio != nil
		}
		out = append(out, main)
		if any {
			out = append(out, ratio)
		}
	}
	return out
}

// frame is where a figure's parts are drawn.
type frame struct {
	plots  []placed
	legend draw.Canvas
}

// placed is a plot and the canvas it is drawn on, its y label included.
type placed struct {
	plot   *plot.Plot
	canvas draw.Canvas
}

// bare is the canvas the plot draws itself in: all but its y label.
func (pl placed) bare() draw.Canvas {
	return draw.Crop(pl.canvas, yLabelWidth(pl.plot), 0, 0, 0)
}

// data is the plot's data area.
func (pl placed) data() draw.Canvas { return dataCanvas(pl.plot, pl.bare()) }

// draw draws the plot and its y label, centred on the data area.
func (pl placed) draw() {
	p := pl.plot
	bare := pl.bare() // before the label is taken off
	withoutYLabel(p, func() { p.Draw(bare) })
	if p.Y.Label.Text == "" {
		return
	}
	sty := p.Y.Label.TextStyle
	sty.Rotation += math.Pi / 2
	x := pl.canvas.Min.X + p.Y.Label.TextStyle.Height(p.Y.Label.Text) - p.Y.Label.TextStyle.FontExtents().Descent
	d := pl.data()
	pl.canvas.FillText(sty, vg.Point{X: x, Y: d.Center().Y}, p.Y.Label.Text)
}

// withoutYLabel calls fn with p's y label taken off. gonum pads the top
// of a plot for its y label as if the label sat at the arithmetic mean of
// the axis range, which on a log axis is near the top: a gap of half the
// label's length above every log panel. So the figure draws y labels
// itself, beside the plot.
func withoutYLabel(p *plot.Plot, fn func()) {
	saved := p.Y.Label.Text
	p.Y.Label.Text = ""
	defer func() { p.Y.Label.Text = saved }()
	fn()
}

func dataCanvas(p *plot.Plot, c draw.Canvas) (d draw.Canvas) {
	withoutYLabel(p, func() { d = p.DataCanvas(c) })
	return d
}

// yLabelWidth is the room a plot's y label takes beside it, as gonum
// counts it.
func yLabelWidth(p *plot.Plot) vg.Length {
	l := p.Y.Label
	if l.Text == "" {
		return 0
	}
	return l.TextStyle.Height(l.Text) + l.Padding
}

// fitXLabels drops x tick labels that would run into their right-hand
// neighbour (256MiB next to 1GiB on a log axis of sizes), from the right,
// so the largest value keeps its label. Only measured values are thinned:
// the other tickers space their labels, and a category must keep its name.
func fitXLabels(pl placed) {
	p := pl.plot
	ticks, ok := p.X.Tick.Marker.(measuredTicks)
	if !ok {
		return
	}
	ticks = slices.Clone(ticks)
	d := pl.data()
	x, _ := p.Transforms(&d)
	sty := p.X.Tick.Label
	gap := sty.Width("  ")         // two spaces: one reads as "256MiB 1GiB", a single label
	left := vg.Length(math.Inf(1)) // left edge of the last label kept
	for i := len(ticks) - 1; i >= 0; i-- {
		if ticks[i].Label == "" {
			continue
		}
		w := sty.Width(ticks[i].Label)
		at := x(ticks[i].Value)
		if at+w/2+gap > left {
			ticks[i].Label = ""
			continue
		}
		left = at - w/2
	}
	p.X.Tick.Marker = ticks
}

// layout places the plots so that the data areas of a column share their
// x extent (a ratio plot's x axis is its panel's) and those of a row their
// y extent, as plot.Align does, but with rows of unequal heights; and the
// legend to the right of every plot.
func (f *Figure) layout(c draw.Canvas) frame {
	rows := f.rows()
	// A plot's margins around its data area (title, axes, tick labels,
	// half a marker at the ends) depend a little on the size of its
	// canvas, so the placement is repeated on the canvases of the pass
	// before until the data areas line up to a hundredth of a point.
	var canvases [][]draw.Canvas
	var fr frame
	for range 6 {
		var moved vg.Length
		fr, canvases, moved = f.place(c, rows, canvases)
		if moved < 0.01 {
			break
		}
	}
	return fr
}

// place is one pass of layout: it measures each plot's margins on its
// canvas of the pass before (on a panel-sized one at first) and returns
// the new canvases and how far the farthest one moved.
func (f *Figure) place(c draw.Canvas, rows []gridRow, before [][]draw.Canvas) (frame, [][]draw.Canvas, vg.Length) {
	cols := len(f.Panels[0])
	l := f.Legend()
	lw, lh := legendSize(&l)
	grid := c.Rectangle
	grid.Min.X += pad
	grid.Max.X -= pad + lw + legendGap
	grid.Min.Y += pad
	grid.Max.Y -= pad

	type margins struct{ left, right, bottom, top vg.Length }
	own := make([][]margins, len(rows))
	colL, colR := make([]vg.Length, cols), make([]vg.Length, cols)
	rowB, rowT := make([]vg.Length, len(rows)), make([]vg.Length, len(rows))
	for j, r := range rows {
		own[j] = make([]margins, cols)
		for i, p := range r.plots {
			if p == nil {
				continue
			}
			on := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{Max: vg.Point{X: panelW, Y: r.height}}}
			if before != nil {
				on = draw.Crop(before[j][i], yLabelWidth(p), 0, 0, 0)
			}
			d := dataCanvas(p, on)
			m := margins{d.Min.X - on.Min.X + yLabelWidth(p), on.Max.X - d.Max.X, d.Min.Y - on.Min.Y, on.Max.Y - d.Max.Y}
			own[j][i] = m
			colL[i], colR[i] = max(colL[i], m.left), max(colR[i], m.right)
			rowB[j], rowT[j] = max(rowB[j], m.bottom), max(rowT[j], m.top)
		}
	}
	dataW := grid.Size().X - vg.Length(cols-1)*colGap
	for i := range cols {
		dataW -= colL[i] + colR[i]
	}
	dataW /= vg.Length(cols)
	availH, weights := grid.Size().Y, vg.Length(0)
	for j, r := range rows {
		availH -= r.gap + rowB[j] + rowT[j]
		weights += r.height
	}

	var fr frame
	canvases := make([][]draw.Canvas, len(rows))
	var moved vg.Length
	top := grid.Max.Y
	for j, r := range rows {
		canvases[j] = make([]draw.Canvas, cols)
		top -= r.gap
		dataH := availH * r.height / weights
		dataTop := top - rowT[j]
		x := grid.Min.X
		for i, p := range r.plots {
			dataMin := vg.Point{X: x + colL[i], Y: dataTop - dataH}
			x += colL[i] + dataW + colR[i] + colGap
			if p == nil {
				continue
			}
			m := own[j][i]
			pl := placed{p, draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: dataMin.X - m.left, Y: dataMin.Y - m.bottom},
				Max: vg.Point{X: dataMin.X + dataW + m.right, Y: dataTop + m.top},
			}}}
			fitXLabels(pl)
			fr.plots = append(fr.plots, pl)
			canvases[j][i] = pl.canvas
			if before == nil {
				moved = vg.Length(math.Inf(1))
			} else {
				b := before[j][i].Rectangle
				for _, d := range []vg.Length{b.Min.X - pl.canvas.Min.X, b.Max.X - pl.canvas.Max.X, b.Min.Y - pl.canvas.Min.Y, b.Max.Y - pl.canvas.Max.Y} {
					moved = max(moved, vg.Length(math.Abs(float64(d))))
				}
			}
		}
		top = dataTop - dataH - rowB[j]
	}
	// The legend's top lines up with the first row's data area.
	legendTop := grid.Max.Y - rowT[0]
	fr.legend = draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: grid.Max.X + legendGap, Y: legendTop - lh},
		Max: vg.Point{X: grid.Max.X + legendGap + lw, Y: legendTop},
	}}
	return fr, canvases, moved
}

func (f *Figure) draw(c draw.Canvas) {
	fr := f.layout(c)
	defer f.shade(fr)() // the plots' own backgrounds back after drawing
	for _, p := range fr.plots {
		p.draw()
	}
	l := f.Legend()
	l.Draw(fr.legend)
}

// shade fills one background behind a shaded panel (an emulated host's)
// and its ratio plot together, so they read as one cell; each plot's own
// would leave a white seam between them and differ in width. It takes
// the plots' backgrounds off, and returns what puts them back.
func (f *Figure) shade(fr frame) (restore func()) {
	var undo []func()
	at := map[*plot.Plot]vg.Rectangle{}
	for _, p := range fr.plots {
		at[p.plot] = p.canvas.Rectangle
	}
	for _, row := range f.Panels {
		for _, p := range row {
			bg := p.Plot.BackgroundColor
			if bg == nil || p.Ratio == nil {
				continue
			}
			r, rr := at[p.Plot], at[p.Ratio]
			r.Min.X, r.Min.Y = min(r.Min.X, rr.Min.X), min(r.Min.Y, rr.Min.Y)
			r.Max.X, r.Max.Y = max(r.Max.X, rr.Max.X), max(r.Max.Y, rr.Max.Y)
			c := fr.legend // any canvas of the figure: the fill is absolute
			c.SetColor(bg)
			c.Fill(r.Path())
			p.Plot.BackgroundColor, p.Ratio.BackgroundColor = nil, nil
			undo = append(undo, func() { p.Plot.BackgroundColor, p.Ratio.BackgroundColor = bg, bg })
		}
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}

// WritePNG writes the figure as a PNG at 110 dpi: sharp on screen, small
// enough to commit.
func (f *Figure) WritePNG(w io.Writer) error {
	width, height := f.Size()
	c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(110))
	f.draw(draw.New(c))
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

// WriteSVG writes the figure as SVG. Fonts are not embedded: they would
// add hundreds of kilobytes to every figure of a self-contained HTML page,
// and a browser substitutes a close sans-serif.
func (f *Figure) WriteSVG(w io.Writer) error {
	width, height := f.Size()
	c := vgsvg.New(width, height)
	f.draw(draw.New(c))
	_, err := c.WriteTo(w)
	return err
}

// SVG returns the figure as SVG bytes.
func (f *Figure) SVG() ([]byte, error) {
	var b bytes.Buffer
	err := f.WriteSVG(&b)
	return b.Bytes(), err
}
