package overlay

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/mountutil"
)

// checkOptions refuses variant options that name the directories the
// driver sets for each mount.
func checkOptions(options []string) error {
	for _, o := range options {
		switch key, _, _ := strings.Cut(o, "="); key {
		case "lowerdir", "upperdir", "workdir":
			return fmt.Errorf("%s: mount option %q is set by the driver for each container, not by a variant", Name, o)
		}
	}
	return nil
}

// checkHost is everything that decides whether overlay runs here, short of
// mounting it.
func checkHost(root string) error {
	if uid := os.Geteuid(); uid != 0 {
		return drivers.NotSupported(Name, "needs root to create files owned by other users and to mount overlay (running as uid %d)", uid)
	}
	// Docker runs modprobe first; a benchmark does not load modules
	// behind the operator's back.
	if !hostinfo.HasFilesystem("overlay") {
		return drivers.NotSupported(Name, "overlay is not in /proc/filesystems (needs CONFIG_OVERLAY_FS; try modprobe overlay)")
	}
	if err := backing.CheckDType(root); err != nil {
		if errors.Is(err, backing.ErrNoDType) {
			return drivers.NotSupported(Name, "%v", err)
		}
		return fmt.Errorf("%s: %w", Name, err)
	}
	return nil
}

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
