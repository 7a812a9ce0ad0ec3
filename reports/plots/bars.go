package plots

import (
	"fmt"
	"slices"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/unionbench/unionbench/reports/dataset"
)

// Inodes is inodes used per image and per container, as grouped bars per
// image shape, with the flattened tree (the floor: the image's final tree
// as plain files) as a black bar beside the drivers'.
func Inodes(s *dataset.Set) (*Figure, error) {
	f := &Figure{
		Name:  "inodes",
		Title: "Inodes per image and per container",
		Caption: "Inodes a fresh backing filesystem loses to one image (top) and to each container on it (bottom), " +
			"by image shape (median). The black bar is the flattened tree: the image's final contents as plain files, " +
			"what any driver must hold at least once.",
	}
	st := newStyles(s)
	any := false
	for _, v := range []view{{"per image", "image-inodes", nil}, {"per container", "container-inodes", nil}} {
		var row []*Panel
		for _, g := range s.Groups {
			p, n, err := barPanel(g, v, st)
			if err != nil {
				return nil, fmt.Errorf("plot inodes (%s): %w", g.Label, err)
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

func barPanel(g *dataset.Group, v view, st styles) (*Panel, int, error) {
	var ms []*dataset.Measurement
	for _, m := range g.Select("inodes", v.metric) {
		if m.Driver != dataset.FloorDriver { // floors come by reference
			ms = append(ms, m)
		}
	}
	ms = append(ms, floorOf(g, ms)...)
	var cats []string
	for _, m := range ms {
		if l := imageLabel(m); !slices.Contains(cats, l) {
			cats = append(cats, l)
		}
	}
	if len(cats) == 0 {
		return &Panel{Plot: noPanel(g, "inodes "+v.title)}, 0, nil
	}
	p := newPanel(g, "inodes "+v.title)
	panel := &Panel{Plot: p}
	variants := dataset.Variants(ms)
	width := vg.Points(min(60, 220/float64(len(variants)*len(cats))))
	unit := ""
	for i, variant := range variants {
		sty := st.of(variant)
		vals := make(plotter.Values, len(cats))
		for _, m := range ms {
			if m.Variant == variant && !m.Failed() {
				vals[slices.Index(cats, imageLabel(m))] = m.Summary.Median
				unit = m.Unit
			}
		}
		b, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, 0, err
		}
		b.Offset = vg.Length(float64(i)-float64(len(variants)-1)/2) * width
		b.LineStyle.Width = vg.Points(0.5)
		b.Color = sty.color
		label := variant
		if sty.floor {
			label = "flattened tree (floor)"
		}
		p.Add(b)
		panel.addEntry(label, sty.floor, b)
	}
	p.NominalX(cats...)
	p.X.Tick.Label.Font.Size = vg.Points(8)
	// Room for the offset bars at both ends.
	p.X.Min, p.X.Max = -0.5, float64(len(cats))-0.5
	p.Y.Min = 0
	p.Y.Max *= 1.05
	p.Y.Label.Text = yLabel(unit)
	p.Y.Tick.Marker = axisTicker(unit, false)
	return panel, len(variants), nil
}
