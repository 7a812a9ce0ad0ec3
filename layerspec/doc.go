// Package layerspec declares image layers instead of scripting them: files
// (size, deterministic content, mode, owner, xattrs, sparse or dense),
// directories, symlinks, hard links, deletions and opaque directories.
//
// A Layer is applied by a driver in the driver's own on-disk format through a
// WhiteoutFormat (overlay's 0/0 character devices and trusted.overlay.opaque,
// aufs's .wh. files, or real deletions for full-copy drivers). Flatten computes
// the tree a correct union of a stack must show, so the conformance suite can
// compare a merged view with it, and Synthetic generates the same stack from a
// seed on every run of every driver.
//
// Paths in a spec are always relative, clean and free of "..": Validate
// rejects anything else, and Apply never follows a symlink out of the layer
// directory.
package layerspec
