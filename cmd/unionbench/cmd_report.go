package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/render"
	"github.com/unionbench/unionbench/reports/results"
)

func cmdReport(args []string, stdout io.Writer) error {
	fset := newFlags("report")
	out := fset.String("o", "report", "directory for report.md, report.html and plots/: new, empty, or an earlier report's")
	files, err := parseWithArgs(fset, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return badInput("want one or more results files (results.jsonl or bench.txt)")
	}
	if _, err := checkDir("-o", *out, reportDir); err != nil {
		return err
	}
	s, err := dataset.Load(files...)
	if err != nil {
		return badInput("%v", err) // unreadable, or a bad line named by file:line
	}
	if err := writeReport(*out, s); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(*out, "report.html"))
	return nil
}

// writeReport renders a set into dir.
func writeReport(dir string, s *dataset.Set) error {
	r, err := render.Build(s)
	if err != nil {
		return err
	}
	return r.WriteDir(dir)
}

// reportRun writes the report of a run's own records: run calls it last,
// and a failure here leaves the measured results as they are.
func reportRun(dir, resultsFile string, recs []results.Record) error {
	if len(recs) == 0 {
		return errors.New("nothing was measured")
	}
	return writeReport(dir, dataset.FromFile(resultsFile, recs))
}

// parseWithArgs parses flags that may come before, between or after the
// positional arguments (`report a.jsonl -o out b.jsonl`), which flag.Parse
// alone stops at.
func parseWithArgs(fset *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fset.SetOutput(os.Stderr)
				fset.PrintDefaults()
				return nil, err
			}
			return nil, badInput("%v", err)
		}
		args = fset.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
