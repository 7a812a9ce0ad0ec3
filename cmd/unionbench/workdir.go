package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/unionbench/unionbench/internal/sandbox"
)

// defaultWorkdir is where scratch filesystems live unless --workdir says
// otherwise: /var/tmp survives reboots of a VM mid-run less often than /tmp
// is a tmpfs too small for 1 GiB copy-ups.
const defaultWorkdir = "/var/tmp/unionbench"

func workdirFlag(fs *flag.FlagSet) *string {
	return fs.String("workdir", defaultWorkdir, "directory that holds all scratch state (not a system directory such as /etc or /usr, nor under /var/lib/docker)")
}

// checkWorkdir turns a refused work directory into a usage error.
func checkWorkdir(dir string) (string, error) {
	return checkDir("--workdir", dir, scratchDir)
}

// enterSandbox re-executes unionbench in its private namespaces (it returns
// only inside them) after removing what killed runs left in workdir. Not as
// root it returns sandbox.ErrNotRoot for the caller to report or work around.
func enterSandbox(workdir string) error {
	if !sandbox.Inside() && os.Geteuid() == 0 {
		if removed, err := sandbox.Clean(workdir); err != nil {
			fmt.Fprintf(os.Stderr, "unionbench: cleaning %s: %v\n", workdir, err)
		} else if len(removed) > 0 {
			fmt.Fprintf(os.Stderr, "unionbench: removed %d work directories left by killed runs\n", len(removed))
		}
	}
	err := sandbox.Enter(sandbox.Options{ScratchParent: workdir})
	if err != nil && !errors.Is(err, sandbox.ErrNotRoot) {
		return err
	}
	return err
}
