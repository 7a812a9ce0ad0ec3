package overlay2

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/unionbench/unionbench/drivers/internal/overlayhost"
	"github.com/unionbench/unionbench/internal/mountutil"
)

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
		if !overlayhost.Reserved(key) {
			effective = append(effective, o)
		}
	}
	return effective, nil
}
