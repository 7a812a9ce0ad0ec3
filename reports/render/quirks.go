package render

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/unionbench/unionbench/reports/results"
)

// QuirkResult is one cell of the quirk matrix as `unionbench quirks
// --json` prints it: one quirk on one driver variant, read from its
// record.
type QuirkResult struct {
	Driver  string `json:"driver"`
	Variant string `json:"variant"`
	// MountOptions are the variant's own options, as in every record.
	MountOptions []string `json:"mount_options"`
	// Mount is the container's mount options as the kernel showed them;
	// empty for drivers that do not mount (vfs).
	Mount    string `json:"mount,omitempty"`
	Quirk    string `json:"quirk"`
	Observed string `json:"observed"`
	POSIX    bool   `json:"posix"`
	Detail   string `json:"detail"`
	// Status is ok, unsupported (the variant cannot run here) or error
	// (the experiment could not be made).
	Status string `json:"status"`
}

// Quirk statuses, as QuirkResult.Status says them.
const (
	QuirkOK          = "ok"
	QuirkUnsupported = "unsupported"
	QuirkError       = "error"
)

// QuirkResults reads the quirk records (scenario quirks) of recs, in
// their order.
func QuirkResults(recs []results.Record) []QuirkResult {
	var out []QuirkResult
	for i := range recs {
		r := &recs[i]
		if r.Scenario != "quirks" {
			continue
		}
		q := QuirkResult{Driver: r.Driver, Variant: r.Variant, MountOptions: append([]string{}, r.MountOptions...), Quirk: r.Metric}
		q.Observed, _ = r.Extra["observed"].(string)
		q.POSIX, _ = r.Extra["posix"].(bool)
		q.Detail, _ = r.Extra["detail"].(string)
		q.Mount, _ = r.Extra["mount"].(string)
		switch r.Status {
		case results.OK:
			q.Status = QuirkOK
		case results.Unsupported:
			q.Status, q.Detail = QuirkUnsupported, r.Reason
			q.Observed = "n/a"
		default:
			q.Status, q.Detail = QuirkError, r.Error
			if q.Observed == "" {
				q.Observed = "error"
			}
		}
		out = append(out, q)
	}
	return out
}

// Marks used in the terminal quirk table.
const (
	MarkPOSIX     = "ok"
	MarkDeviation = "XX"
	MarkNA        = "--"
	MarkError     = "!!"
)

// cellWidth bounds a cell so that nine columns fit a wide terminal; the
// full observation is in --json and results.jsonl.
const cellWidth = 24

// WriteQuirkTable renders the quirk records of recs for a terminal as a
// matrix: one row per quirk, one column per variant (both in the order
// first seen, which is the catalogue's in a run), each cell a mark and the
// observed behaviour. A legend above the table gives each column's
// variant and the mount options the kernel showed for it, and the reason
// for a column that could not run; the footer counts deviations per
// column.
func WriteQuirkTable(w io.Writer, recs []results.Record) error {
	rs := QuirkResults(recs)
	var cols, rows []string
	byCol := map[string]map[string]QuirkResult{}
	for _, r := range rs {
		if byCol[r.Variant] == nil {
			cols = append(cols, r.Variant)
			byCol[r.Variant] = map[string]QuirkResult{}
		}
		byCol[r.Variant][r.Quirk] = r
		if !slices.Contains(rows, r.Quirk) {
			rows = append(rows, r.Quirk)
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
		fmt.Fprintf(tw, "\t[%d] %s", i+1, shortVariant(v))
	}
	fmt.Fprintln(tw)
	for _, id := range rows {
		fmt.Fprint(tw, id)
		for _, v := range cols {
			fmt.Fprintf(tw, "\t%s", quirkMark(byCol[v][id], byCol[v]))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "deviations")
	for _, v := range cols {
		n, ran := 0, 0
		for _, r := range byCol[v] {
			if r.Status == QuirkOK {
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
func columnNote(col map[string]QuirkResult) string {
	mount, reason := "", ""
	for _, r := range col {
		if r.Mount != "" && mount == "" {
			mount = r.Mount
		}
		if r.Status == QuirkUnsupported && reason == "" {
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

// shortVariant shortens a variant for a column header: the legend has
// the full name.
func shortVariant(v string) string {
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

func quirkMark(r QuirkResult, col map[string]QuirkResult) string {
	switch {
	case r.Quirk == "":
		return ""
	case r.Status == QuirkUnsupported:
		if unsupportedColumn(col) {
			return MarkNA
		}
		return MarkNA + " " + clip(r.Detail)
	case r.Status == QuirkError:
		return MarkError + " " + clip(r.Detail)
	case r.POSIX:
		return MarkPOSIX + " " + clip(r.Observed)
	}
	return MarkDeviation + " " + clip(r.Observed)
}

// unsupportedColumn: the whole variant is n/a, and the legend says why.
func unsupportedColumn(col map[string]QuirkResult) bool {
	for _, r := range col {
		if r.Status != QuirkUnsupported {
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
