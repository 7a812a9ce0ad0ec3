// Package drivertest is the one conformance suite every driver runs. A
// driver's test file passes a factory; the suite gives every check a fresh
// driver root on every backing filesystem kind testenv.Backings names (by
// default tmpfs, a loop-mounted ext4, xfs and btrfs image, and a plain
// directory; UNIONBENCH_BACKINGS narrows it), builds real layer stacks and
// mounts real containers, and compares what the merged view shows with the
// tree layerspec.Flatten computes from the same specs.
//
// A factory that returns an error wrapping drivers.ErrNotSupported makes the
// suite skip with the reason, except that with CI=true a skip of a driver
// that must run on CI machines (overlay2, overlay, vfs) fails instead, so a
// broken host cannot pass by skipping.
package drivertest
