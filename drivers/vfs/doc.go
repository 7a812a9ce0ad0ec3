// Package vfs is Docker's vfs storage driver: no union at all. Every layer,
// image or container, is a directory dir/<id> holding a full copy of its
// parent's tree (file data copied, with copy_file_range so that btrfs and
// xfs can share extents) with the layer's own changes applied for real.
// "Mounting" a layer is returning that directory.
//
// It is the baseline the union drivers are measured against: lookups and
// reads at the backing filesystem's own speed, no copy-up ever (a container
// starts as a copy of everything), and the full cost of that copy in time,
// bytes and inodes for every layer and every container.
//
// It needs root, only because layers hold files owned by other users; it
// mounts nothing and works on any backing filesystem, d_type or not.
//
// When not to use it: for anything but a baseline. Building an image of N
// layers copies the tree N times, and each container copies it twice more
// (the init layer and the container's own), so deep images fill a disk in
// minutes; Docker recommends it only for testing.
package vfs
