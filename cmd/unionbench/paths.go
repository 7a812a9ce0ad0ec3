package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/unionbench/unionbench/internal/backing"
)

// dirUse is what a command does with a directory the user named, which
// decides what may already be in it.
type dirUse int

const (
	// scratchDir (--workdir, vm --cache) holds state shared between runs
	// in directories of unionbench's own: it may hold anything.
	scratchDir dirUse = iota
	// resultsDir (run and quirks --out) gets results.jsonl, bench.txt and
	// report/: it must be new or empty, so one run's results never mix
	// with another's or with someone's files.
	resultsDir
	// vmResultsDir (vm --out) gets one directory per kernel: it may hold
	// other kernels' directories from an earlier vm run, and nothing else.
	vmResultsDir
	// reportDir (report -o) gets report.md, report.html and plots/: it
	// may hold an earlier report, which is replaced, and nothing else.
	reportDir
)

// systemDirs are the operating system's own directories: no unionbench
// output or scratch state goes in them or under them. "/lib" stands for
// every top-level /lib* (lib32, lib64, libx32).
var systemDirs = []string{"/etc", "/usr", "/bin", "/sbin", "/lib", "/boot", "/proc", "/sys", "/dev", "/run"}

// allowedHere says what each use lets a directory already hold.
var allowedHere = map[dirUse]func(e fs.DirEntry) bool{
	// stdout.txt: unionbench vm captures the command's stdout in the very
	// directory it passes as --out, before the command starts.
	resultsDir:   func(e fs.DirEntry) bool { return e.Name() == "stdout.txt" && e.Type().IsRegular() },
	vmResultsDir: func(e fs.DirEntry) bool { return e.IsDir() },
	reportDir: func(e fs.DirEntry) bool {
		switch e.Name() {
		case "report.md", "report.html":
			return e.Type().IsRegular()
		case "plots":
			return e.IsDir()
		}
		return false
	},
}

// wantFor is the "what is allowed" half of a refusal, per use.
var wantFor = map[dirUse]string{
	scratchDir:   "want a directory outside the system's own (/, /etc, /usr, /bin, /sbin, /lib*, /boot, /proc, /sys, /dev, /run), e.g. /var/tmp/unionbench",
	resultsDir:   "want a new or empty directory outside the system's own (/, /etc, /usr, /bin, /sbin, /lib*, /boot, /proc, /sys, /dev, /run)",
	vmResultsDir: "want a new directory, or one holding only other kernels' results, outside the system's own (/, /etc, /usr, /bin, /sbin, /lib*, /boot, /proc, /sys, /dev, /run)",
	reportDir:    "want a new or empty directory, or an earlier report's, outside the system's own (/, /etc, /usr, /bin, /sbin, /lib*, /boot, /proc, /sys, /dev, /run)",
}

// checkDir is the one policy for every directory flag (--workdir, --out,
// -o, --cache): it refuses, as a one-line usage error naming the flag and
// its value, a system directory (judged by where the path's symlinks lead,
// whether or not it exists yet), a path that is not a directory, and a
// directory holding what this use must not write beside or over. It
// returns the absolute path. It creates nothing.
func checkDir(flagName, value string, use dirUse) (string, error) {
	refuse := func(why string) error {
		return badInput("%s %q: %s: %s", flagName, value, why, wantFor[use])
	}
	if value == "" {
		return "", refuse("no path given")
	}
	abs, err := filepath.Abs(value)
	if err != nil {
		return "", refuse(err.Error())
	}
	real, err := backing.Resolve(abs)
	if err != nil {
		return "", refuse(err.Error())
	}
	if why := systemDir(abs); why != "" {
		return "", refuse(why)
	}
	if why := systemDir(real); why != "" {
		return "", refuse("it leads to " + real + ": " + why)
	}
	if use == scratchDir {
		if err := backing.CheckWorkdir(abs); err != nil {
			return "", badInput("%s %q: %v", flagName, value, err)
		}
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return abs, nil // made later, once the rest of the input is known good
	case err != nil:
		return "", refuse(err.Error())
	case !st.IsDir():
		return "", refuse("it exists and is not a directory")
	case use == scratchDir:
		return abs, nil
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", refuse(err.Error())
	}
	var others []string
	for _, e := range entries {
		if !allowedHere[use](e) {
			others = append(others, e.Name())
		}
	}
	if len(others) == 0 {
		return abs, nil
	}
	sort.Strings(others)
	if use == resultsDir && slices.Contains(others, "results.jsonl") {
		return "", refuse("it already holds results.jsonl (another run's)")
	}
	if len(others) > 3 {
		others = append(others[:3], "...")
	}
	return "", refuse("it already holds " + strings.Join(others, ", "))
}

// systemDir says why p (absolute, clean) is a system directory, or "".
func systemDir(p string) string {
	if p == "/" {
		return "it is the root directory"
	}
	top := "/" + strings.SplitN(p[1:], "/", 2)[0]
	for _, d := range systemDirs {
		if top == d || (d == "/lib" && strings.HasPrefix(top, "/lib")) {
			if top == p {
				return "it is " + top + ", a system directory"
			}
			return "it is inside " + top + ", a system directory"
		}
	}
	return ""
}

// checkOutFlag checks run's and quirks' --out, or when it is not given
// the default results/<run id>'s parent (results/ in the working
// directory, which must not be a system directory either).
func checkOutFlag(out string) error {
	if out == "" {
		_, err := checkDir("--out (default results/<run id>)", "results", scratchDir)
		return err
	}
	_, err := checkDir("--out", out, resultsDir)
	return err
}
