// Package overlay is Docker's legacy "overlay" storage driver, the one
// before overlay2: overlayfs with exactly one lower directory, and hard
// links to stack images deeper than that.
//
// Every image layer is a full tree <id>/root/. A base layer's root holds
// its own files; any other image layer's root is a new tree of directories
// in which every regular file is a hard link to the parent layer's file,
// with the layer's changes applied on top (replacing a file unlinks the
// shared name first, so the parent never changes). A container layer is
// <id>/lower-id (the image's top layer), <id>/upper, <id>/work and
// <id>/merged, mounted as overlay with lowerdir=<lower-id>/root; a
// container on its init layer starts with a copy of the init layer's upper.
// So file data is shared between layers, but every layer holds its own copy
// of every directory and every name: that is what makes its mounts cheap
// (one lower, however deep the image) and what exhausts inodes on
// filesystems with a fixed inode table.
//
// It needs root, overlay in /proc/filesystems, and a backing filesystem
// that reports d_type (ext4, xfs with ftype=1, btrfs, tmpfs); the factory
// checks them and makes a test mount.
//
// When not to use it: anything but measuring the legacy driver. Docker
// deprecated it in 18.09 and removed it in 24.0; overlay2 replaced it.
// Each layer adds a name to every shared inode, so a busybox-style image
// whose binary has hundreds of names runs into the filesystem's link limit
// (EMLINK; 65000 on ext4) after a few hundred layers, and each layer's
// directory tree costs as many inodes as the image has directories.
package overlay
