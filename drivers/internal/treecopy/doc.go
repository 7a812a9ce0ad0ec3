// Package treecopy copies a directory tree the way the full-tree storage
// drivers need it: every layer of vfs, and every image layer of the legacy
// overlay driver, starts as a copy of its parent layer's tree.
//
// Copy walks the source once with directory file descriptors (openat,
// getdents, linkat, mknodat, ...), so no path is resolved twice and no
// symlink in the source is ever followed. It copies what Docker 20.10's
// DirCopy (moby daemon/graphdriver/copy, which Docker's vfs and legacy
// overlay drivers use for the same copies) copies, and nothing more, so a
// layer holds what Docker's would (tests/dockerparity checks it against a
// real dockerd): file types (directories, regular files, symlinks,
// character and block devices such as overlay's 0/0 whiteouts, fifos),
// modes including setuid/setgid/sticky, owners, access and modification
// times, hard links within the tree, and of the extended attributes only
// security.capability and trusted.overlay.opaque (DockerXattrs): user.*,
// other trusted.* and POSIX ACLs are dropped, as Docker drops them. A
// file's data is copied over its whole length, so holes become zeros
// wherever the kernel's copy_file_range writes zeros (tmpfs, ext4), and
// stay where it shares extents (btrfs, xfs with reflink), as with
// Docker's copy. A socket is refused, as Docker's copy fails on one.
//
// In Hardlink mode every regular file of the copy is a new name for the
// source's inode (Docker's legacy overlay driver shares file data between
// image layers that way); directories, symlinks and special files are
// always new inodes. Whoever changes such a copy must replace files, never
// write them in place, or the parent layer changes too.
//
// When not to use it: the copy is not atomic (a failure leaves a partial
// tree in dst for the caller to remove), it refuses to cross into another
// filesystem mounted inside the source, and it is single-threaded on
// purpose, so that building layers measures the copy, not the scheduler.
// It needs root (or the matching capabilities) to set owners, device nodes
// and trusted.* attributes.
package treecopy
