package mountutil

import (
	"path/filepath"

	"github.com/moby/sys/mountinfo"
)

// IsMountPoint reports whether path is a mount point, bind mounts included
// (a st_dev comparison with the parent would miss those).
func IsMountPoint(path string) (bool, error) {
	return mountinfo.Mounted(path)
}

// MountsUnder lists the mounts at or below prefix, as this process's mount
// namespace sees them, in mountinfo order (parents before children).
// "/foo" does not match "/foobar". A prefix that does not exist yields no
// mounts and no error, so cleanup code can call it unconditionally.
func MountsUnder(prefix string) ([]*mountinfo.Info, error) {
	return mountinfo.GetMounts(mountinfo.PrefixFilter(Normalize(prefix)))
}

// Normalize makes path absolute, clean and free of symlinks, which is what
// mountinfo's filters compare against. A path that does not exist is
// (or cannot be resolved) is returned absolute and clean; if nothing exists
// there, nothing can be mounted below it and the filter matches nothing.
func Normalize(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}
