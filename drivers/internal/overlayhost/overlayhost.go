// Package overlayhost is the one check, shared by every driver that mounts
// overlayfs (overlay, overlay2, and fuse-overlayfs with its own filesystem
// type), of whether this host can run it and of the mount options a
// variant may pass.
//
// What it checks is what all of them need before touching a root: the root
// is not "/" nor a container runtime's storage (a mistake, so a plain
// error), the process is root (it mounts and creates other users' files),
// the kernel lists the filesystem type in /proc/filesystems, and the
// backing filesystem reports d_type (overlay needs it to tell whiteouts
// from files without a stat per entry; Docker's overlay drivers refuse to
// start without it). A host that fails one of the last three gets a
// *drivers.NotSupportedError with the reason.
//
// When not to use it: it is no substitute for the test mount each factory
// makes with its own layout and options; only that shows the options work.
package overlayhost

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
)

// Check checks the host for driver, whose mounts are of type fstype, and
// makes root (with rootMode, if it is missing) once the process is known
// to be allowed to.
func Check(driver, root, fstype string, rootMode fs.FileMode) error {
	if err := backing.CheckWorkdir(root); err != nil {
		return fmt.Errorf("%s: %w", driver, err)
	}
	if uid := os.Geteuid(); uid != 0 {
		return drivers.NotSupported(driver, "needs root to mount and to create files owned by other users (running as uid %d)", uid)
	}
	// Docker runs modprobe first; a benchmark does not load modules
	// behind the operator's back.
	if !hostinfo.HasFilesystem(fstype) {
		return drivers.NotSupported(driver, "the kernel does not list %q in /proc/filesystems (try modprobe %s)", fstype, fstype)
	}
	if err := os.MkdirAll(root, rootMode); err != nil {
		return fmt.Errorf("%s: %w", driver, err)
	}
	if err := backing.CheckDType(root); err != nil {
		if errors.Is(err, backing.ErrNoDType) {
			return drivers.Unsupported(driver, err, "no d_type on the backing filesystem")
		}
		return fmt.Errorf("%s: %w", driver, err)
	}
	return nil
}

// reserved are the options the drivers set themselves for every mount.
var reserved = []string{"lowerdir", "lowerdir+", "upperdir", "workdir", "datadir+"}

// Reserved reports whether the option key (the part before "=") names
// layer directories, which only the driver sets.
func Reserved(key string) bool { return slices.Contains(reserved, key) }

// CheckOptions refuses variant options that are malformed or that name
// the layer directories.
func CheckOptions(driver string, options []string) error {
	for _, o := range options {
		key, _, _ := strings.Cut(o, "=")
		switch {
		case o == "" || key == "" || strings.ContainsAny(o, ", "):
			return fmt.Errorf("%s: bad mount option %q: want name or name=value", driver, o)
		case Reserved(key):
			return fmt.Errorf("%s: mount option %q is set by the driver for each mount, not by a variant", driver, o)
		}
	}
	return nil
}
