package overlay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/mountutil"
)

// probe mounts a one-file container layout under root with the variant's
// options, writes through it (a copy-up) and unmounts it: the backing
// filesystem and the options must both work for overlay's upper and work
// directories, which /proc/filesystems alone does not tell.
func probe(root string, options []string) (err error) {
	dir, err := os.MkdirTemp(root, ".overlay-probe-")
	if err != nil {
		return fmt.Errorf("%s: probe: %w", Name, err)
	}
	merged := filepath.Join(dir, "id", "merged")
	defer func() {
		if uerr := mountutil.Unmount(merged); uerr != nil {
			err = errors.Join(err, uerr)
			return // never delete through a mount
		}
		err = errors.Join(err, os.RemoveAll(dir))
	}()
	for _, p := range []string{"lower/root", "id/upper", "id/work", "id/merged"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			return fmt.Errorf("%s: probe: %w", Name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "lower/root/f"), []byte("lower"), 0o644); err != nil {
		return fmt.Errorf("%s: probe: %w", Name, err)
	}
	if err := mountutil.Mount("overlay", merged, "overlay", 0, mountData(dir, "lower", "id", options)); err != nil {
		return drivers.NotSupported(Name, "a test mount with options %q fails: %v", strings.Join(options, ","), err)
	}
	if err := os.WriteFile(filepath.Join(merged, "f"), []byte("upper"), 0o644); err != nil {
		return drivers.NotSupported(Name, "a test mount with options %q cannot copy up a file: %v", strings.Join(options, ","), err)
	}
	return mountutil.Unmount(merged)
}
