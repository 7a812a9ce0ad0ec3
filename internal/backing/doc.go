// Package backing makes the scratch filesystem every layer, container and
// measurement of a run lives on: a plain directory, a tmpfs, or a fresh
// ext4, xfs or btrfs image on a loop device. A fresh filesystem of a chosen
// kind gives each run a known inode count, known d_type support, reflink on
// or off, an empty page cache for its files, and a block device whose write
// counter (DeviceWrites) shows what a driver really wrote.
//
// Images are created sparse under the work directory, formatted as files,
// then attached with LO_FLAGS_AUTOCLEAR; the loop file descriptor is closed
// as soon as the filesystem is mounted, so the device detaches itself when
// the mount goes away, including when the mount namespace it lives in dies
// with a killed process. Close unmounts, waits for the detach and removes
// the image and the mount point, with os.Remove, never os.RemoveAll on a
// mount point.
//
// When not to use it: for anything that must outlive the process (a loop
// device here is not meant to be found again), from the host mount
// namespace (call it inside internal/sandbox: a crash would otherwise leave
// the mount on the host), or when the work directory itself is the
// filesystem under test (use Kind "dir"). It formats and mounts, so every
// kind but "dir" needs root; it refuses work directories that are "/" or a
// container runtime's own storage (CheckWorkdir).
package backing
