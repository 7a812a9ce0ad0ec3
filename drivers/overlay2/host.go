package overlay2

import (
	"bytes"
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

// CheckHost does the checks every driver on this layout needs before it
// touches root: root is not "/" nor a container runtime's storage (a plain
// error: that is a mistake, not a host limitation), the process is root,
// the kernel lists fstype in /proc/filesystems, and the filesystem under
// root reports d_type (overlay needs it to tell whiteouts from files without
// a stat per entry; Docker's overlay2 refuses to start without it). It
// creates root if needed.
func CheckHost(driver, root, fstype string) error {
	if err := backing.CheckWorkdir(root); err != nil {
		return fmt.Errorf("%s: %w", driver, err)
	}
	if os.Geteuid() != 0 {
		return drivers.NotSupported(driver, "needs root to mount (running as uid %d)", os.Geteuid())
	}
	if !hostinfo.HasFilesystem(fstype) {
		return drivers.NotSupported(driver, "the kernel does not list %q in /proc/filesystems", fstype)
	}
	if err := os.MkdirAll(root, 0o710); err != nil {
		return fmt.Errorf("%s: %w", driver, err)
	}
	if err := backing.CheckDType(root); err != nil {
		if errors.Is(err, backing.ErrNoDType) {
			return drivers.NotSupported(driver, "%v", err)
		}
		return fmt.Errorf("%s: %w", driver, err)
	}
	return nil
}

// reserved are the options the driver itself sets for every mount.
var reserved = []string{"lowerdir", "lowerdir+", "upperdir", "workdir", "datadir+"}

// CheckOptions refuses variant options that are malformed or that name
// the layer directories, which are the driver's to set.
func CheckOptions(driver string, options []string) error {
	for _, o := range options {
		key, _, _ := strings.Cut(o, "=")
		switch {
		case o == "" || key == "" || strings.ContainsAny(o, ", "):
			return fmt.Errorf("%s: bad mount option %q: want name or name=value", driver, o)
		case contains(reserved, key):
			return fmt.Errorf("%s: mount option %q is set by the driver for each layer, not by a variant", driver, o)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// DepthLimit turns Options.MaxDepth into a limit in layers: 0 means def,
// anything from 1 to max is taken as is, and beyond max is an error that
// says where max comes from.
func DepthLimit(driver string, requested, def, max int, why string) (int, error) {
	switch {
	case requested == 0:
		return def, nil
	case requested == drivers.Deepest:
		return max, nil
	case requested < 0:
		return 0, fmt.Errorf("%s: MaxDepth %d out of range: want 0 (the default) to %d", driver, requested, max)
	case requested > max:
		return 0, fmt.Errorf("%w (%s)", &drivers.DepthError{Driver: driver, Depth: requested, Max: max}, why)
	}
	return requested, nil
}

// probeFile is what ProbeMount reads through the union from the bottom
// layer.
const probeFile = "probe"

// ProbeMount is the factories' experiment: in a fresh directory inside dir
// it makes lowers lower layers (the bottom one holding a file), an upper
// and a work directory, mounts them with options through mount, reads the
// bottom file through the union, and unmounts. It returns the mount's
// options as the kernel reports them (the super options in mountinfo, with
// the layer directories left out), so a caller can see whether an option it
// asked for took effect. The directory is removed afterwards, unless the
// unmount failed.
func ProbeMount(dir string, lowers int, options []string, mount func(MountSpec) error) (effective []string, err error) {
	probe, err := os.MkdirTemp(dir, ".probe-")
	if err != nil {
		return nil, err
	}
	spec := MountSpec{Root: probe, Options: options, Upper: "upper", Work: "work", Target: "merged"}
	defer func() {
		uerr := mountutil.Unmount(spec.Abs(spec.Target))
		if uerr == nil {
			// Unmounted, so RemoveAll cannot reach into a mount.
			uerr = os.RemoveAll(probe)
		}
		err = errors.Join(err, uerr)
	}()
	for i := lowers - 1; i >= 0; i-- {
		spec.Lowers = append(spec.Lowers, fmt.Sprintf("l%d", i))
	}
	for _, d := range append([]string{spec.Upper, spec.Work, spec.Target}, spec.Lowers...) {
		if err := os.Mkdir(spec.Abs(d), 0o755); err != nil {
			return nil, err
		}
	}
	want := []byte("bottom layer")
	if err := os.WriteFile(filepath.Join(spec.Abs(spec.Lowers[lowers-1]), probeFile), want, 0o644); err != nil {
		return nil, err
	}
	if err := mount(spec); err != nil {
		return nil, err
	}
	got, err := os.ReadFile(filepath.Join(spec.Abs(spec.Target), probeFile))
	if err != nil {
		return nil, fmt.Errorf("read through the probe mount: %w", err)
	}
	if !bytes.Equal(got, want) {
		return nil, fmt.Errorf("read through the probe mount: got %q, want %q", got, want)
	}
	mounts, err := mountutil.MountsUnder(spec.Abs(spec.Target))
	if err != nil || len(mounts) == 0 {
		return nil, fmt.Errorf("probe mount on %s not in mountinfo: %v", spec.Abs(spec.Target), err)
	}
	for _, o := range strings.Split(mounts[len(mounts)-1].VFSOptions, ",") {
		key, _, _ := strings.Cut(o, "=")
		if !contains(reserved, key) {
			effective = append(effective, o)
		}
	}
	return effective, nil
}
