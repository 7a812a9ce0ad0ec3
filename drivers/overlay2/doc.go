// Package overlay2 is Docker's overlay2 storage driver: every layer is a
// directory <root>/<id> holding only what the layer changes (diff/), and a
// container is one kernel overlay mount with all its parents' diff
// directories as lowerdirs.
//
// The on-disk layout is Docker's, file for file (moby
// daemon/graphdriver/overlay2):
//
//	<root>/l/<short> -> ../<id>/diff   26-character short ids keep mount data short
//	<root>/<id>/diff/                  the layer's content: whiteouts are 0/0
//	                                   character devices, opaque directories carry
//	                                   trusted.overlay.opaque=y
//	<root>/<id>/link                   the short id
//	<root>/<id>/lower                  l/<short>:l/<short>:..., parent first (not in base layers)
//	<root>/<id>/work/                  overlay's workdir (not in base layers)
//	<root>/<id>/committed              written when a child layer is created on it
//	<root>/<id>/merged/                the mount point, only while mounted
//
// A layer is mounted with lowerdir=<root>/l/...,upperdir=<id>/diff,
// workdir=<id>/work, plus index=off (as Docker passes) and the variant's
// options; when that does not fit in one page it mounts from the root with
// relative l/<short> paths, as Docker does; deeper stacks than Docker allows
// (up to the kernel's 500 lowers) go through fsconfig's lowerdir+. A base
// layer is not mounted (its diff is the view) and a committed layer is
// mounted read-only, both as in Docker.
//
// Layout and Driver are exported so that the fuse-overlayfs driver, which
// uses the same layout with another mount program, shares this code.
//
// Host requirements: root, "overlay" in /proc/filesystems, and a backing
// filesystem that reports d_type (ext4, xfs with ftype=1, btrfs, tmpfs).
// Variants (redirect_dir=on, index=on, xino=on, metacopy=on, volatile) are
// checked by a test mount, and one the kernel refuses or silently ignores
// is reported as not supported.
//
// When not to use it: it is not Docker. It has no image store, no tar
// import, no quota and no user namespace remapping, and it must never be
// pointed at /var/lib/docker (New refuses). Layer short ids are derived
// from layer ids rather than drawn at random, so that runs are repeatable.
package overlay2
