package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Markdown writes report.md; figures are plots/<name>.png next to it.
func (r *Report) Markdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("# unionbench report\n\n")
	p("%s\n\n", intro(r))
	if r.Emulated() {
		p("> **Emulated CPU.** %s\n\n", emulatedNote)
	}
	p("## Claims\n\n%s\n\n", claimsNote)
	for _, g := range r.Groups {
		p("### Claims on %s\n\n", g.Group.Label)
		mdTable(b, g.Claims)
	}
	p("## Hosts\n\n")
	mdTable(b, r.Hosts)
	p("## Figures\n\n")
	if len(r.Figures) == 0 {
		p("No plottable measurements in these results.\n\n")
	}
	for _, f := range r.Figures {
		p("### %s\n\n![%s](plots/%s.png)\n\n%s\n\n", f.Title, f.Title, f.Name, f.Caption)
	}
	p("## Measurements\n\n%s\n\n", tableNote)
	for _, g := range r.Groups {
		p("### %s\n\n", g.Group.Label)
		for _, t := range g.Tables {
			p("#### %s\n\n", t.Scenario)
			mdTable(b, t.Table)
		}
	}
	p("## Quirks\n\n%s\n\n", quirkNote)
	any := false
	for _, g := range r.Groups {
		if g.Quirks != nil {
			any = true
			p("### %s\n\n", g.Group.Label)
			mdTable(b, *g.Quirks)
		}
	}
	if !any {
		p("No quirk results in these files.\n\n")
	}
	return b.Flush()
}

func mdTable(w io.Writer, t Table) {
	esc := func(s string) string {
		s = strings.ReplaceAll(s, "|", `\|`)
		return strings.ReplaceAll(s, "\n", " ")
	}
	fmt.Fprintf(w, "| %s |\n|", strings.Join(t.Header, " | "))
	for range t.Header {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, row := range t.Rows {
		var cells []string
		for _, c := range row {
			cells = append(cells, esc(c.Text))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)
}

const (
	emulatedNote = "Some results were timed on an emulated CPU (qemu TCG). Their plots are separate panels, shaded and titled EMULATED CPU; " +
		"their timings say how the code behaves, not how fast it runs, and are never on one axis with native timings."
	tableNote = "Median and p95 (nearest rank) of every sample set; the 95% confidence interval of the median is distribution-free " +
		"(it needs at least 6 samples; n/a below that). The ratio to floor is the median over the median of the same operation on the " +
		"backing filesystem itself. MDE is the minimum detectable effect: the smallest change of the median that a rerun with as many " +
		"samples of the same spread could show in `unionbench compare` (U test at the Benjamini-Hochberg level over the timings); " +
		"none means no change could. Samples of runs on the same kernel, distro, CPU and backing filesystem are pooled."
	quirkNote = "Observed behaviour of each driver variant: ✓ is what POSIX allows, ✗ is not."
)

func intro(r *Report) string {
	var groups []string
	for _, g := range r.Set.Groups {
		groups = append(groups, g.Label)
	}
	runs := 0
	for _, g := range r.Set.Groups {
		runs += len(g.Runs)
	}
	return fmt.Sprintf("%d run(s) from %s; %d host configuration(s): %s.", runs, strings.Join(r.Set.Files, ", "), len(groups), strings.Join(groups, "; "))
}
