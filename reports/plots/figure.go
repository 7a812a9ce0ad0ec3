// Package plots draws unionbench's figures with gonum.org/v1/plot: copy-up
// latency against file size, lookup latency against layer depth, mount
// time against depth, inode use per image and container, and page cache
// per container against the number of containers.
//
// A Figure is a grid of panels: one column per host group (kernel, CPU,
// backing filesystem), so several kernels stand side by side, and one row
// per view (cold and warm cache, mount and unmount). Every panel has axes
// of its own: a group measured on an emulated CPU is drawn apart from
// native ones, and its panel title says EMULATED CPU.
//
// Only medians are drawn, with bars over the spread of the samples; the
// tables (package render) carry the confidence intervals. Figures come out
// as PNG (for Markdown) and SVG (inlined in HTML).
package plots

import (
	"bytes"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Panel size: wide enough for a legend of five drivers and a floor.
const (
	panelW = 5 * vg.Inch
	panelH = 3.4 * vg.Inch
)

// Figure is one figure of a report.
type Figure struct {
	// Name is the file name without extension: plots/<Name>.png.
	Name    string
	Title   string
	Caption string
	// Panels[row][column]; columns are host groups.
	Panels [][]*plot.Plot
}

// arrange lays panels[view][group] out: with one group its views stand
// side by side (cold next to warm), with several the groups do, one row
// per view, so the same view of each kernel lines up.
func arrange(panels [][]*plot.Plot) [][]*plot.Plot {
	if len(panels) < 2 || len(panels[0]) != 1 {
		return panels
	}
	row := make([]*plot.Plot, 0, len(panels))
	for _, r := range panels {
		row = append(row, r[0])
	}
	return [][]*plot.Plot{row}
}

// Size is the drawn size of the whole grid.
func (f *Figure) Size() (w, h vg.Length) {
	cols := 0
	for _, row := range f.Panels {
		cols = max(cols, len(row))
	}
	return vg.Length(cols) * panelW, vg.Length(len(f.Panels)) * panelH
}

func (f *Figure) draw(c draw.Canvas) {
	tiles := draw.Tiles{Rows: len(f.Panels), Cols: len(f.Panels[0]), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(f.Panels, tiles, c)
	for i, row := range f.Panels {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
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
