// Command unionbench benchmarks and checks the union filesystems behind
// container storage drivers (aufs, overlay, overlay2, with vfs and
// fuse-overlayfs as reference points). See README.md.
//
// This file holds only wiring: subcommand dispatch, the sandbox, exit codes
// (0 success, 1 a failure or regression, 2 bad input).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	_ "github.com/unionbench/unionbench/drivers/all"
	_ "github.com/unionbench/unionbench/scenarios/all"
)

// usageError is bad input: one line on stderr and exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func badInput(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

type command struct {
	summary string
	run     func(args []string, stdout io.Writer) error
}

var commands = map[string]command{
	"drivers": {"list each driver and variant, supported here or not and why", cmdDrivers},
	"clean":   {"remove work directories left by killed runs", cmdClean},
	"run":     {"run the scenarios on every supported driver and write results", cmdRun},
	"vm":      {"boot other kernels in qemu and run unionbench in each", cmdVM},
	"report":  {"render results files into Markdown and HTML with plots", cmdReport},
	"compare": {"compare a baseline with new results; exit 1 on a regression", cmdCompare},
	"quirks":  {"probe POSIX behaviours (rename, open, hard links, ...) on every driver and variant", cmdQuirks},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "unionbench: unknown command %q: want one of %s\n", args[0], strings.Join(commandNames(), ", "))
		return 2
	}
	err := c.run(args[1:], stdout)
	var ue *usageError
	var ie *exitInterrupted
	switch {
	case errors.As(err, &ie):
		fmt.Fprintf(stderr, "unionbench %s: %v: what was measured is kept\n", args[0], err)
		return 128 + int(ie.sig)
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "unionbench %s: %s\n", args[0], ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "unionbench %s: %v\n", args[0], err)
		return 1
	}
}

func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: unionbench COMMAND [flags]")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
}

// newFlags makes a flag set whose errors come back as usage errors.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("unionbench "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags; a bad flag becomes a one-line usage error.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.PrintDefaults()
			return err
		}
		return badInput("%v", err)
	}
	if fs.NArg() > 0 {
		return badInput("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
