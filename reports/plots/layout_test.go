package plots

import (
	"bytes"
	stdpng "image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// drawn lays a figure out on a canvas of its size, as WritePNG does.
func drawn(t *testing.T, f *Figure) (frame, vg.Rectangle) {
	t.Helper()
	w, h := f.Size()
	c := draw.New(vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110)))
	return f.layout(c), c.Rectangle
}

func overlap(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}

func allGoldens(t *testing.T) map[string]*Figure {
	t.Helper()
	out := map[string]*Figure{}
	for _, g := range goldens {
		f, err := g.fig()
		require.NoError(t, err, g.file)
		require.NotNil(t, f, g.file)
		out[g.file] = f
	}
	return out
}

// The legend stands beside the panels: it meets no data area, indeed
// no plot at all, and lies within the figure.
func TestLegendOutsideData(t *testing.T) {
	for name, f := range allGoldens(t) {
		fr, all := drawn(t, f)
		l := f.Legend()
		w, h := legendSize(&l)
		require.Positive(t, w, name)
		assert.Equal(t, vg.Point{X: w, Y: h}, fr.legend.Size(), "%s: the legend's canvas is its drawn size", name)
		assert.True(t, contains(all, fr.legend.Rectangle), "%s: legend %v within the figure %v", name, fr.legend.Rectangle, all)
		for _, p := range fr.plots {
			assert.False(t, overlap(fr.legend.Rectangle, p.data().Rectangle), "%s: legend %v covers the data of %q at %v", name, fr.legend.Rectangle, p.plot.Title.Text, p.data().Rectangle)
			assert.False(t, overlap(fr.legend.Rectangle, p.canvas.Rectangle), "%s: legend %v overlaps the plot %q at %v", name, fr.legend.Rectangle, p.plot.Title.Text, p.canvas.Rectangle)
			assert.True(t, contains(all, p.canvas.Rectangle), "%s: plot %q within the figure", name, p.plot.Title.Text)
		}
	}
}

// The check above fails on a legend drawn the gonum way, inside the data.
func TestLegendOverlapDetected(t *testing.T) {
	f := allGoldens(t)["copyup"]
	fr, _ := drawn(t, f)
	inside := fr.plots[0].data()
	l := f.Legend()
	w, h := legendSize(&l)
	r := vg.Rectangle{Min: vg.Point{X: inside.Min.X, Y: inside.Max.Y - h}, Max: vg.Point{X: inside.Min.X + w, Y: inside.Max.Y}}
	assert.True(t, overlap(r, inside.Rectangle))
}

func contains(outer, inner vg.Rectangle) bool {
	return inner.Min.X >= outer.Min.X && inner.Min.Y >= outer.Min.Y && inner.Max.X <= outer.Max.X && inner.Max.Y <= outer.Max.Y
}

// A ratio plot hangs under its panel on the same x axis: their data
// areas have the same left and right edges, the ratios below.
func TestRatioSharesXAxis(t *testing.T) {
	for name, f := range allGoldens(t) {
		fr, _ := drawn(t, f)
		data := map[*plot.Plot]draw.Canvas{}
		for _, p := range fr.plots {
			data[p.plot] = p.data()
		}
		ratios := 0
		for _, row := range f.Panels {
			for _, p := range row {
				if p.Ratio == nil {
					continue
				}
				ratios++
				top, bottom := data[p.Plot], data[p.Ratio]
				assert.InDelta(t, float64(top.Min.X), float64(bottom.Min.X), 0.01, name)
				assert.InDelta(t, float64(top.Max.X), float64(bottom.Max.X), 0.01, name)
				assert.Less(t, bottom.Max.Y, top.Min.Y, "%s: ratios below the panel", name)
			}
		}
		switch name {
		case "mount", "inodes", "inodes-full":
			assert.Zero(t, ratios, "%s has no floor", name)
		default:
			assert.NotZero(t, ratios, "%s has a floor", name)
		}
	}
}

// No two tick labels of an axis come closer than one and a half spaces:
// "256MiB 1GiB", a space apart, reads as one label at a glance.
func TestTickLabelsApart(t *testing.T) {
	for name, f := range allGoldens(t) {
		fr, _ := drawn(t, f)
		for _, p := range fr.plots {
			d := p.data()
			x, y := p.plot.Transforms(&d)
			var xs, ys []span
			for _, tk := range p.plot.X.Tick.Marker.Ticks(p.plot.X.Min, p.plot.X.Max) {
				if tk.Label != "" {
					// Three quarters of a space of room on each side.
					w := p.plot.X.Tick.Label.Width(tk.Label) + 1.5*p.plot.X.Tick.Label.Width(" ")
					xs = append(xs, span{tk.Label, x(tk.Value) - w/2, x(tk.Value) + w/2})
				}
			}
			for _, tk := range p.plot.Y.Tick.Marker.Ticks(p.plot.Y.Min, p.plot.Y.Max) {
				at := y(tk.Value)
				if tk.Label != "" && at >= d.Min.Y && at <= d.Max.Y {
					h := p.plot.Y.Tick.Label.Height(tk.Label)
					ys = append(ys, span{tk.Label, at - h/2, at + h/2})
				}
			}
			assertApart(t, name+" "+p.plot.Title.Text+" x", xs)
			assertApart(t, name+" "+p.plot.Title.Text+" y", ys)
		}
	}
}

type span struct {
	label    string
	from, to vg.Length
}

func assertApart(t *testing.T, what string, spans []span) {
	t.Helper()
	for i := range spans {
		for j := i + 1; j < len(spans); j++ {
			a, b := spans[i], spans[j]
			assert.False(t, a.from < b.to && b.from < a.to, "%s: tick labels %q and %q closer than a space and a half", what, a.label, b.label)
		}
	}
}

// Labels that would touch are thinned from the right: 1GiB keeps its
// label, 256MiB beside it loses its own.
func TestFitXLabels(t *testing.T) {
	f := allGoldens(t)["copyup-crowded"]
	drawn(t, f)
	r := f.Panels[0][0].Ratio
	var labels []string
	for _, tk := range r.X.Tick.Marker.Ticks(r.X.Min, r.X.Max) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	assert.Equal(t, []string{"4KiB", "64KiB", "1MiB", "16MiB", "1GiB"}, labels)
}

// An emulated host's panel and its ratio plot share one shaded
// background, and drawing leaves the plots' own colours as they were (a
// figure is drawn twice, as PNG and as SVG).
func TestShadedCell(t *testing.T) {
	f := allGoldens(t)["copyup-hosts"]
	p := f.Panels[0][1]
	require.NotNil(t, p.Plot.BackgroundColor, "the emulated column is shaded")
	var png bytes.Buffer
	require.NoError(t, f.WritePNG(&png))
	assert.Equal(t, p.Plot.BackgroundColor, p.Ratio.BackgroundColor)
	assert.NotNil(t, p.Ratio.BackgroundColor)
	img, err := stdpng.Decode(&png)
	require.NoError(t, err)
	// The seam between the panel and its ratio plot is shaded too.
	fr, _ := drawn(t, f)
	var top, bottom draw.Canvas
	for _, pl := range fr.plots {
		switch pl.plot {
		case p.Plot:
			top = pl.canvas
		case p.Ratio:
			bottom = pl.canvas
		}
	}
	_, h := f.Size()
	seam := (top.Min.Y + bottom.Max.Y) / 2
	x := (top.Min.X + top.Max.X) / 2
	px := img.At(int(float64(x)/72*110), int(float64(h-seam)/72*110))
	r, g, b, _ := px.RGBA()
	wr, wg, wb, _ := p.Plot.BackgroundColor.RGBA()
	assert.Equal(t, [3]uint32{wr, wg, wb}, [3]uint32{r, g, b}, "seam at %v", seam)
}
