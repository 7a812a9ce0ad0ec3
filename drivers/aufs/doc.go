// Package aufs is Docker's aufs storage driver, rebuilt for measurement:
// every layer is a directory of its own changes, and a container is one
// aufs mount that stacks its layers as branches, the container's writable
// on top and each parent read-only below it, nearest first.
//
// The root is laid out as Docker's /var/lib/docker/aufs:
//
//	diff/<id>/    the layer's own files; deletions are .wh.<name> files,
//	              opaque directories hold .wh..wh..opq
//	layers/<id>   the parent chain, one id a line, nearest parent first
//	mnt/<id>/     the mount point, made when the layer is created
//
// and a union is mounted the way Docker mounts it:
//
//	mount -t aufs -o br:diff/c=rw:diff/c-init=ro+wh:...,dio,xino=/dev/shm/aufs.xino[,dirperm1] none mnt/c
//
// followed, when the branch list does not fit in the one page of mount
// data the kernel reads, by "remount,append:diff/<p>=ro+wh,..." calls
// that add the remaining parents at the bottom. Branches are named by
// absolute path, as Docker names them, unless the root's path contains
// ',', ':' or '=', which aufs's option syntax would misread; then they are
// named relative to the root and the mount calls run there. A layer
// without parents is not mounted at all: its diff directory is its whole
// tree.
//
// What it needs from the host: root, a kernel with aufs (listed in
// /proc/filesystems: Ubuntu kernels up to 20.04, or the out-of-tree aufs
// module; mainline Linux never had it), not a user namespace, and a
// backing filesystem with d_type that is not btrfs or ecryptfs (Docker
// refuses those). aufs-tools' auplink is used when installed. The Factory
// checks all of this, then makes a test mount; anything missing makes it
// return an error wrapping drivers.ErrNotSupported with the reason.
//
// Variants are named by their aufs options, as overlay2's are:
// aufs+dirren (rename(2) of a populated lower directory works instead of
// EXDEV) and aufs+udba=notify / aufs+udba=none (how aufs notices changes
// made to a branch behind its back; udba=reval is the default and what
// Docker mounts). The Factory mounts each by experiment and refuses a
// variant this aufs rejects (udba=notify without CONFIG_AUFS_HNOTIFY) or
// silently ignores (dirren without CONFIG_AUFS_DIRREN: the option is then
// missing from the mount's options), saying which build option it needs.
//
// When not to use it: on any kernel that has overlayfs and no aufs, which
// is every current one; aufs is here to measure the hosts that still run
// it and to compare against them. Stacks are limited to the kernel's
// branch count (127 by default, CONFIG_AUFS_BRANCH_MAX_127), the writable
// and init layers included; the Factory measures it, since nothing under
// /sys shows it for a built-in aufs. Like Docker, every union uses the
// xino file /dev/shm/aufs.xino, which aufs unlinks as soon as it has
// opened it.
package aufs
