package overlay2

import (
	"path/filepath"
	"strings"

	"github.com/unionbench/unionbench/internal/mountutil"
)

// MountSpec is one overlay mount of a layer, with every path relative to
// Root, so that the same spec renders as Docker's absolute mount data or as
// its short relative form.
type MountSpec struct {
	Root string
	// Options come first in the data, as Docker puts its index=off first.
	Options []string
	// Lowers are the lowerdirs, topmost first: "l/<short>" entries, and for
	// a read-only mount of a committed layer its own "<id>/diff" on top.
	Lowers []string
	// Upper and Work are "<id>/diff" and "<id>/work", or both "" for a
	// read-only mount.
	Upper, Work string
	// Target is "<id>/merged".
	Target string
}

// Abs makes a path of the spec absolute.
func (m MountSpec) Abs(p string) string { return filepath.Join(m.Root, p) }

// Data renders the mount options: with absolute paths
// ("index=off,lowerdir=/root/l/A:/root/l/B,upperdir=/root/<id>/diff,...")
// or relative to Root ("index=off,lowerdir=l/A:l/B,upperdir=<id>/diff,...").
func (m MountSpec) Data(relative bool) string {
	path := m.Abs
	if relative {
		path = func(p string) string { return p }
	}
	lowers := make([]string, len(m.Lowers))
	for i, lo := range m.Lowers {
		lowers[i] = path(lo)
	}
	parts := append(append([]string(nil), m.Options...), "lowerdir="+strings.Join(lowers, ":"))
	if m.Upper != "" {
		parts = append(parts, "upperdir="+path(m.Upper), "workdir="+path(m.Work))
	}
	return strings.Join(parts, ",")
}

// Method is how the kernel driver passes a MountSpec to the kernel.
type Method int

const (
	// Absolute: mount(2) with absolute paths, Docker's first choice.
	Absolute Method = iota
	// Relative: mount(2) from the root with l/<short> paths, Docker's
	// fallback when the absolute data exceeds a page.
	Relative
	// LowerdirPlus: the new mount API, one fsconfig "lowerdir+" call per
	// layer, which has no page limit. Docker has no such fallback (it stops
	// at 128 lowers, which fit a page in the relative form); it is what
	// lets a stack go up to the kernel's 500 lowers.
	LowerdirPlus
)

func (m Method) String() string {
	return [...]string{"absolute", "relative", "lowerdir+"}[m]
}

// DockerRoot is Docker's overlay2 root, /var/lib/docker/overlay2. Docker
// switches from absolute to relative mount data when the absolute data no
// longer fits in a page, so the switch depends on the root's length: about
// 71 lowers under this root, about 34 under a 60-byte one.
const DockerRoot = "/var/lib/docker/overlay2"

// ChooseMethod picks the first method whose data fits, in Docker's order,
// and switches to relative paths where Docker would for the same stack: as
// soon as the absolute data Docker would pass under DockerRoot no longer
// fits, whatever this driver's own root. So a stack is mounted in the same
// form as Docker mounts it, with data as long as Docker's give or take the
// difference in root length per path. A root longer than Docker's switches
// earlier still when its own absolute data does not fit (the kernel takes
// one page), which is the one way the form can differ from Docker's.
func ChooseMethod(m MountSpec) Method {
	docker := m
	docker.Root = DockerRoot
	switch {
	case mountutil.DataFits(docker.Data(false)) && mountutil.DataFits(m.Data(false)):
		return Absolute
	case mountutil.DataFits(m.Data(true)):
		return Relative
	}
	return LowerdirPlus
}
