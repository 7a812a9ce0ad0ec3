package quirks

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// Marks used in the terminal table.
const (
	MarkPOSIX     = "ok"
	MarkDeviation = "XX"
	MarkNA        = "--"
	MarkError     = "!!"
)

// cellWidth bounds a cell so that nine columns fit a wide terminal; the
// full observation is in --json and results.jsonl.
const cellWidth = 24

// WriteTable renders results as a matrix: one row per quirk (in catalogue
// order), one column per variant (in the order first seen), each cell a
// mark and the observed behaviour. A legend above the table gives each
// column's variant and the mount options the kernel showed for it, and
// the reason for a column that could not run; the footer counts
// deviations per column.
func WriteTable(w io.Writer, rs []Result) error {
	var cols []string
	byCol := map[string]map[string]Result{}
	quirkSeen := map[string]bool{}
	for _, r := range rs {
		if byCol[r.Variant] == nil {
			cols = append(cols, r.Variant)
			byCol[r.Variant] = map[string]Result{}
		}
		byCol[r.Variant][r.Quirk] = r
		quirkSeen[r.Quirk] = true
	}
	var rows []string
	for _, id := range IDs() {
		if quirkSeen[id] {
			rows = append(rows, id)
			delete(quirkSeen, id)
		}
	}
	for _, r := range rs { // quirks not in the catalogue (from a newer run) last
		if quirkSeen[r.Quirk] {
			rows = append(rows, r.Quirk)
			delete(quirkSeen, r.Quirk)
		}
	}

	fmt.Fprintf(w, "columns (%s = what POSIX requires, %s = deviation, %s = not available here, %s = probe failed):\n", MarkPOSIX, MarkDeviation, MarkNA, MarkError)
	for i, v := range cols {
		fmt.Fprintf(w, "  [%d] %-38s %s\n", i+1, v, columnNote(byCol[v]))
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 2, 8, 1, ' ', 0)
	fmt.Fprint(tw, "QUIRK")
	for i, v := range cols {
		fmt.Fprintf(tw, "\t[%d] %s", i+1, shortName(v))
	}
	fmt.Fprintln(tw)
	for _, id := range rows {
		fmt.Fprint(tw, id)
		for _, v := range cols {
			fmt.Fprintf(tw, "\t%s", cell(byCol[v][id], byCol[v]))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "deviations")
	for _, v := range cols {
		n, ran := 0, 0
		for _, r := range byCol[v] {
			if r.Status == StatusOK {
				ran++
				if !r.POSIX {
					n++
				}
			}
		}
		if ran == 0 {
			fmt.Fprint(tw, "\t-")
			continue
		}
		fmt.Fprintf(tw, "\t%d of %d", n, ran)
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}

// columnNote is the mount a column ran with, or why it could not run.
func columnNote(col map[string]Result) string {
	mount, reason := "", ""
	for _, r := range col {
		if r.Mount != "" && mount == "" {
			mount = r.Mount
		}
		if r.Status == StatusUnsupported && reason == "" {
			reason = r.Detail
		}
	}
	switch {
	case mount != "":
		return "mount " + mount
	case reason != "":
		return "n/a: " + reason
	}
	return "no mount (plain directories)"
}

// shortName shortens a variant for a column header: the legend has the
// full name.
func shortName(v string) string {
	driver, opts, found := strings.Cut(v, "+")
	switch driver {
	case "fuse-overlayfs":
		driver = "fuse-ovl"
	}
	if !found {
		return driver
	}
	// "=on" goes, other values stay: aufs+udba=notify and aufs+udba=none
	// must not both read "+udba".
	var short []string
	for _, o := range strings.Split(opts, "+") {
		name, value, _ := strings.Cut(o, "=")
		name = strings.TrimSuffix(name, "_dir")
		if value != "" && value != "on" {
			name += "=" + value
		}
		short = append(short, name)
	}
	return "+" + strings.Join(short, "+")
}

func cell(r Result, col map[string]Result) string {
	switch {
	case r.Quirk == "":
		return ""
	case r.Status == StatusUnsupported:
		if unsupportedColumn(col) {
			return MarkNA
		}
		return MarkNA + " " + clip(r.Detail)
	case r.Status == StatusError:
		return MarkError + " " + clip(r.Detail)
	case r.POSIX:
		return MarkPOSIX + " " + clip(r.Observed)
	}
	return MarkDeviation + " " + clip(r.Observed)
}

// unsupportedColumn: the whole variant is n/a, and the legend says why.
func unsupportedColumn(col map[string]Result) bool {
	for _, r := range col {
		if r.Status != StatusUnsupported {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= cellWidth-3 {
		return s
	}
	r := []rune(s)
	return string(r[:cellWidth-4]) + "…"
}
