// Package fuseoverlayfs is Docker's fuse-overlayfs storage driver: Docker's
// overlay2 layout (package overlay2 supplies it, and most of the driver)
// mounted by the fuse-overlayfs program instead of the kernel's overlay, as
// rootless Docker and Podman do. It is here as a reference point: the same
// layers and the same union semantics, served from user space through FUSE.
//
// What differs from overlay2, each as in moby's
// daemon/graphdriver/fuse-overlayfs:
//
//   - layers are written with aufs-style whiteouts (.wh.<name>, and
//     .wh..wh..opq in opaque directories) rather than overlay's 0/0
//     character devices and trusted.overlay.opaque: Docker does so because
//     rootless it can create neither. fuse-overlayfs reads both forms (the
//     tests run the conformance suite on each), and what it writes itself
//     as root, when a container deletes something, is 0/0 devices;
//   - work/ is 0710, and the mount data is always lowerdir=,upperdir=,
//     workdir= with absolute paths and no index=off; when it exceeds what
//     one argument may hold (128 KiB), the paths become relative to the
//     root, from which the program is started;
//   - the program daemonizes; unmounting (umount(2), fine as root) ends it.
//
// Host requirements: root, the fuse-overlayfs program on PATH (Debian
// package fuse-overlayfs), /dev/fuse and "fuse" in /proc/filesystems, and
// a backing filesystem with d_type.
//
// When not to use it: to measure the kernel's overlay (use overlay2), or on
// a long run that mounts many thousands of containers in one process that
// is PID 1 of its namespace (unionbench's sandbox): each unmounted daemon
// is reparented to that process and stays a zombie until the run ends.
package fuseoverlayfs
