package render

import (
	_ "embed"
	"html/template"
	"io"
)

//go:embed report.html.tmpl
var htmlTemplate string

var page = template.Must(template.New("report").Parse(htmlTemplate))

type htmlFigure struct {
	Name, Title, Caption string
	SVG                  template.HTML
}

// HTML writes report.html with the figures' SVG (by figure name) inlined.
func (r *Report) HTML(w io.Writer, svgs map[string][]byte) error {
	var figs []htmlFigure
	for _, f := range r.Figures {
		// The SVG comes from gonum/plot, which escapes the text it
		// draws: it is trusted markup, not user input.
		figs = append(figs, htmlFigure{f.Name, f.Title, f.Caption, template.HTML(inlineSVG(svgs[f.Name]))})
	}
	return page.Execute(w, map[string]any{
		"Intro":        intro(r),
		"Emulated":     r.Emulated(),
		"EmulatedNote": emulatedNote,
		"TableNote":    tableNote,
		"QuirkNote":    quirkNote,
		"ClaimsNote":   claimsNote,
		"Hosts":        r.Hosts,
		"Figures":      figs,
		"Groups":       r.Groups,
	})
}
