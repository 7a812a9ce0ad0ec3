package plots

import (
	"image/color"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/unionbench/unionbench/reports/dataset"
)

// palette is Okabe and Ito's colour-blind-safe set without its yellow,
// which is too pale for a thin line on white. The floor is black.
var palette = []color.Color{
	color.RGBA{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF}, // blue
	color.RGBA{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}, // vermillion
	color.RGBA{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF}, // bluish green
	color.RGBA{R: 0xCC, G: 0x79, B: 0xA7, A: 0xFF}, // reddish purple
	color.RGBA{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF}, // orange
	color.RGBA{R: 0x56, G: 0xB4, B: 0xE9, A: 0xFF}, // sky blue
}

// glyphs and dashes tell drivers apart without colour too: in print, to
// a reader who cannot tell two hues apart, and where lines coincide.
var (
	glyphs = []draw.GlyphDrawer{
		draw.RingGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
		draw.PlusGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{},
	}
	dashes = [][]vg.Length{
		nil,
		{vg.Points(1.5), vg.Points(2)},
		{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)},
		{vg.Points(3), vg.Points(2)},
		{vg.Points(9), vg.Points(2), vg.Points(1.5), vg.Points(2), vg.Points(1.5), vg.Points(2)},
	}
	floorDashes = []vg.Length{vg.Points(5), vg.Points(3)}
)

// style is how one variant is drawn in every figure of a report.
type style struct {
	color  color.Color
	glyph  draw.GlyphDrawer
	dashes []vg.Length
	floor  bool
}

// styles gives every variant of a set one style, in the order the
// variants first appear, so overlay2 has the same colour, marker and dash
// in every panel and every figure.
type styles map[string]style

func newStyles(s *dataset.Set) styles {
	var all []*dataset.Measurement
	for _, g := range s.Groups {
		all = append(all, g.Measurements...)
	}
	st := styles{}
	for i, v := range dataset.Variants(all) {
		if v == dataset.FloorDriver {
			continue
		}
		st[v] = style{color: palette[i%len(palette)], glyph: glyphs[i%len(glyphs)], dashes: dashes[i%len(dashes)]}
	}
	return st
}

// of returns a variant's style; the floor's is black and dashed, so it
// reads as a reference rather than as one more driver.
func (st styles) of(variant string) style {
	if variant == dataset.FloorDriver {
		return style{color: color.Black, glyph: draw.CircleGlyph{}, dashes: floorDashes, floor: true}
	}
	if s, ok := st[variant]; ok {
		return s
	}
	return style{color: palette[0], glyph: glyphs[0]}
}
