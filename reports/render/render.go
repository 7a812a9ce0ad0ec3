// Package render writes a unionbench report: report.md with PNG plots for
// reading on a forge, and report.html, one self-contained file (SVG
// inlined, styles embedded, nothing fetched from the network) that reads
// in a browser and prints on paper.
//
// Both come from one model (sections of figures and tables), so the two
// always say the same thing. The numbers are formatted by package units
// from package stats' summaries; render computes nothing itself but the
// claims table's verdicts (claims.go), which it reads off those summaries.
package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/plots"
)

// Scenarios are the report's measurement sections, in order; scenarios
// not listed follow in the order they appear.
var Scenarios = []string{"copyup", "lookup", "mount", "inodes", "pagecache"}

// Report is everything a report shows.
type Report struct {
	Set     *dataset.Set
	Figures []*plots.Figure
	Hosts   Table
	Groups  []GroupSection
}

// GroupSection is the tables of one host group.
type GroupSection struct {
	Group *dataset.Group
	// Claims judges the write-ups' claims on this group's measurements.
	Claims Table
	Tables []ScenarioTable
	Quirks *Table
}

// ScenarioTable is the measurement table of one scenario.
type ScenarioTable struct {
	Scenario string
	Table
}

// Build makes the report of a set: figures and tables.
func Build(s *dataset.Set) (*Report, error) {
	figs, err := plots.All(s)
	if err != nil {
		return nil, err
	}
	r := &Report{Set: s, Figures: figs, Hosts: hostTable(s)}
	for _, g := range s.Groups {
		sec := GroupSection{Group: g, Claims: claimsTable(g)}
		for _, sc := range scenarioOrder(g) {
			sec.Tables = append(sec.Tables, ScenarioTable{sc, measurementTable(g, sc)})
		}
		if t, ok := quirkTable(g); ok {
			sec.Quirks = &t
		}
		r.Groups = append(r.Groups, sec)
	}
	return r, nil
}

func scenarioOrder(g *dataset.Group) []string {
	seen := map[string]bool{}
	var out []string
	for _, sc := range Scenarios {
		if len(g.Scenario(sc)) > 0 {
			out = append(out, sc)
			seen[sc] = true
		}
	}
	for _, m := range g.Measurements {
		if !seen[m.Scenario] && m.Scenario != "quirks" {
			out = append(out, m.Scenario)
			seen[m.Scenario] = true
		}
	}
	return out
}

// Emulated reports whether any group was measured on an emulated CPU.
func (r *Report) Emulated() bool {
	for _, g := range r.Set.Groups {
		if g.Key.Emulated {
			return true
		}
	}
	return false
}

// WriteDir writes dir/report.md, dir/report.html and dir/plots/*.png and
// *.svg, creating dir.
func (r *Report) WriteDir(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "plots"), 0o755); err != nil {
		return err
	}
	// Plots render independently, each on one CPU: in parallel, the
	// quick suite's report takes about half the time it did one by one.
	svgs := make([][]byte, len(r.Figures))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, f := range r.Figures {
		g.Go(func() (err error) {
			svgs[i], err = writePlot(dir, f)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	byName := map[string][]byte{}
	for i, f := range r.Figures {
		byName[f.Name] = svgs[i]
	}
	var md, html bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		return err
	}
	if err := r.HTML(&html, byName); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.html"), html.Bytes(), 0o644)
}

// writePlot writes a figure's PNG and SVG into dir/plots and returns the
// SVG, which the HTML report inlines.
func writePlot(dir string, f *plots.Figure) ([]byte, error) {
	var png bytes.Buffer
	if err := f.WritePNG(&png); err != nil {
		return nil, fmt.Errorf("plot %s: %w", f.Name, err)
	}
	svg, err := f.SVG()
	if err != nil {
		return nil, fmt.Errorf("plot %s: %w", f.Name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plots", f.Name+".png"), png.Bytes(), 0o644); err != nil {
		return nil, err
	}
	return svg, os.WriteFile(filepath.Join(dir, "plots", f.Name+".svg"), svg, 0o644)
}

// inlineSVG strips what may not appear inside HTML (the XML declaration,
// the generator comment) from an SVG document.
func inlineSVG(svg []byte) string {
	s := string(svg)
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return s
}
