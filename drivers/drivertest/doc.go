// Package drivertest is the one conformance suite every driver runs, and
// what the drivers' own tests share. A driver's conformance test is one
// line, drivertest.Run(t, Name, New): the suite gives every check a fresh
// driver root on every backing filesystem kind testenv.Backings
// names (by default tmpfs, a loop-mounted ext4, xfs and btrfs image, and a
// plain directory; UNIONBENCH_BACKINGS narrows it), builds real layer
// stacks and mounts real containers, and compares what the merged view
// shows with the tree layerspec.Flatten computes from the same specs. It
// also holds every driver to the contract's typed errors (errors.Is
// ErrUnknownLayer, ErrLayerExists, ErrLayerHasChildren; errors.As
// *drivers.LayerError naming the driver, operation and layer) and to its
// contexts (a done context refuses Create and Mount and leaves nothing; a
// 1 GiB layer build cancelled after 50 ms stops within a second).
//
// Main, New, RequireRoot and the small stat helpers are the setup the
// drivers' own tests share, so each test file holds only what is
// particular to its driver.
//
// A factory that returns an error wrapping drivers.ErrNotSupported makes the
// suite skip with the reason, except that with CI=true a skip of a driver
// that must run on CI machines (overlay2, overlay, vfs) fails instead, so a
// broken host cannot pass by skipping. RunVariants skips a variant the
// kernel lacks even on CI: which variants a kernel has is data.
package drivertest
