package overlay2

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/internal/overlayhost"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/layerspec"
)

// Name is the driver's registered name.
const Name = "overlay2"

const (
	// DockerMaxLowers is Docker's limit: moby's overlay2 refuses to create
	// a layer with more than 128 lower layers (maxDepth), so its deepest
	// stack is 129 layers counting the layer itself.
	DockerMaxLowers = 128
	// KernelMaxLowers is the kernel's limit on lowerdirs in one overlay
	// mount (OVL_MAX_STACK in fs/overlayfs; "too many lower directories,
	// limit is 500"). The upperdir is not one of them.
	KernelMaxLowers = 500
)

// indexParam exists when the overlay module knows the index feature; Docker
// then passes index=off unless told otherwise, so that a layer mounted
// with index=on once is not refused later ("upper fs ... index mismatch").
const indexParam = "/sys/module/overlay/parameters/index"

func init() {
	drivers.Register(drivers.Registration{
		Name:    Name,
		Factory: New,
		Variants: [][]string{
			{"redirect_dir=on"},
			{"index=on"},
			{"xino=on"},
			{"metacopy=on", "redirect_dir=on"},
			{"volatile"},
		},
		Doc: "root; overlay in /proc/filesystems; a backing fs with d_type (ext4, xfs ftype=1, btrfs, tmpfs)",
	})
}

// New is the overlay2 factory. opts.MountOptions name the variant and are
// passed with every mount; opts.MaxDepth (in layers) may raise the
// default of 129 (Docker's 128 lowers + the layer itself) up to 501 (the
// kernel's 500 lowers + the upper). New checks the host by experiment: a
// small overlay mount with the variant's options inside root must work,
// and each option must show in the mount's options, since the kernel
// ignores some options silently (xino=on when all layers share one
// filesystem).
func New(root string, opts drivers.Options) (drivers.Driver, error) {
	name := drivers.Variant{Driver: Name, Options: opts.MountOptions}.String()
	if err := overlayhost.CheckOptions(name, opts.MountOptions); err != nil {
		return nil, err
	}
	maxDepth, err := drivers.DepthLimit(name, opts.MaxDepth, DockerMaxLowers+1, KernelMaxLowers+1,
		"the kernel's 500 lower layers, OVL_MAX_STACK, plus the upper")
	if err != nil {
		return nil, err
	}
	if err := overlayhost.Check(Name, root, "overlay", 0o710); err != nil {
		return nil, err
	}
	base := defaultOptions(opts.MountOptions)
	options := slices.Concat(base, opts.MountOptions)
	if err := probeKernel(root, base, options); err != nil {
		return nil, err
	}
	cfg := Config{
		Name:     name,
		Format:   layerspec.OverlayFormat{},
		WorkMode: 0o700,
		MaxDepth: maxDepth,
		Options:  options,
		Mount:    MountKernel,
	}
	if slices.Contains(options, "volatile") {
		cfg.Unmounted = clearVolatile
	}
	return NewDriver(root, cfg)
}

// clearVolatile removes the marker a volatile mount leaves in its workdir
// (work/work/incompat/volatile), without which the kernel refuses to mount
// that upper again ("overlay with incompat feature 'volatile' cannot be
// mounted"): unsynced data may have been lost in a crash. The kernel's
// documentation allows removing it when the user knows the system has not
// crashed since; this driver knows that for a layer it has just unmounted
// itself, and only then is the marker removed. After a real crash the
// marker stays and the mount is refused, as it should be.
func clearVolatile(l Layout, id string) error {
	return os.RemoveAll(filepath.Join(l.Path(id, WorkDir), "work", "incompat", "volatile"))
}

// defaultOptions are the options Docker adds itself: index=off where the
// kernel knows the index feature, unless the variant sets index.
func defaultOptions(variant []string) []string {
	if _, err := os.Stat(indexParam); err != nil {
		return nil
	}
	for _, o := range variant {
		if strings.HasPrefix(o, "index=") {
			return nil
		}
	}
	return []string{"index=off"}
}

// probeKernel mounts a two-lower stack with Docker's default options and,
// for a variant, again with the variant's: the variant is not supported if
// the kernel refuses it, or if the mount's options come out the same as
// without it (the kernel ignored the option, so the variant would measure
// plain overlay2 under another name).
func probeKernel(root string, base, options []string) error {
	plain, err := ProbeMount(root, 2, base, MountKernel)
	if err != nil {
		return drivers.Unsupported(Name, err, "test mount of a two-layer overlay failed")
	}
	if len(options) == len(base) {
		return nil
	}
	got, err := ProbeMount(root, 2, options, MountKernel)
	if err != nil {
		return drivers.Unsupported(Name, err, "the kernel refuses %s", strings.Join(options[len(base):], ","))
	}
	if slices.Equal(plain, got) {
		return drivers.NotSupported(Name, "the kernel accepts %s but ignores it here: the mount shows the same options as without it (%s)",
			strings.Join(options[len(base):], ","), strings.Join(got, ","))
	}
	return nil
}

// MountKernel mounts spec with the kernel's overlay the way Docker does:
// absolute paths when the data fits in a page, else paths relative to the
// root with the mount made from there. Beyond that (more lowers than
// Docker allows) it passes each lower through fsconfig's lowerdir+.
func MountKernel(spec MountSpec) error {
	switch ChooseMethod(spec) {
	case Absolute:
		return mountutil.Mount("overlay", spec.Abs(spec.Target), "overlay", 0, spec.Data(false))
	case Relative:
		return mountutil.MountAt(spec.Root, "overlay", spec.Target, "overlay", 0, spec.Data(true))
	default:
		if err := mountLowerdirPlus(spec); err != nil {
			return fmt.Errorf("%d lower layers do not fit in one page of mount data even as relative paths (%d bytes): %w",
				len(spec.Lowers), len(spec.Data(true)), err)
		}
		return nil
	}
}
