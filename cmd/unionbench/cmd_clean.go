package main

import (
	"fmt"
	"io"
	"os"

	"github.com/unionbench/unionbench/internal/sandbox"
)

func cmdClean(args []string, stdout io.Writer) error {
	fs := newFlags("clean")
	workdir := workdirFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	dir, err := checkWorkdir(*workdir)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return sandbox.ErrNotRoot
	}
	removed, err := sandbox.Clean(dir)
	for _, r := range removed {
		fmt.Fprintln(stdout, "removed", r)
	}
	if err == nil && len(removed) == 0 {
		fmt.Fprintf(stdout, "nothing to clean in %s\n", dir)
	}
	return err
}
