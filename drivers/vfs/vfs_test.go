package vfs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/drivertest"
	"github.com/unionbench/unionbench/layerspec"
)

func newDriver(t *testing.T) drivers.Driver {
	return drivertest.New(t, Name, New, drivers.Options{})
}

func TestLayoutIsDirSlashID(t *testing.T) {
	d := newDriver(t)
	base := &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "bin/busybox", Kind: layerspec.File, Size: 100, Seed: 1},
		{Path: "bin/sh", Kind: layerspec.Hardlink, Target: "bin/busybox"},
		{Path: "etc/passwd", Kind: layerspec.File, Size: 10, Seed: 2},
	}}
	require.NoError(t, d.Create(t.Context(), "base", "", base))
	require.NoError(t, d.Create(t.Context(), "top", "base", &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "etc/passwd", Kind: layerspec.Delete},
	}}))
	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "top"))

	names, err := os.ReadDir(d.Root())
	require.NoError(t, err)
	require.Len(t, names, 1)
	assert.Equal(t, "dir", names[0].Name(), "the root holds dir/ and nothing else")
	assert.Equal(t, uint32(0o710), drivertest.Lstat(t, filepath.Join(d.Root(), "dir")).Mode&0o7777, "Docker's mode")
	assert.Equal(t, uint32(0o710), drivertest.Lstat(t, d.Root()).Mode&0o7777, "Docker's mode")
	layers, err := os.ReadDir(filepath.Join(d.Root(), "dir"))
	require.NoError(t, err)
	var ids []string
	for _, e := range layers {
		ids = append(ids, e.Name())
	}
	assert.ElementsMatch(t, []string{"base", "top", "c-init", "c"}, ids)

	for _, id := range []string{"base", "top", "c"} {
		dir, err := d.Mount(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(d.Root(), "dir", id), dir, "mounting is returning the directory")
		assert.Equal(t, uint32(0o755), drivertest.Lstat(t, dir).Mode&0o7777)
	}
	n, err := d.Depth("c")
	require.NoError(t, err)
	assert.Equal(t, 4, n)
}

func TestEveryLayerIsARealCopy(t *testing.T) {
	d := newDriver(t)
	require.NoError(t, d.Create(t.Context(), "base", "", &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "bin/busybox", Kind: layerspec.File, Size: 100, Seed: 1},
		{Path: "bin/sh", Kind: layerspec.Hardlink, Target: "bin/busybox"},
		{Path: "etc/gone", Kind: layerspec.File, Size: 1, Seed: 2},
	}}))
	require.NoError(t, d.Create(t.Context(), "top", "base", &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "etc/gone", Kind: layerspec.Delete},
	}}))
	base, top := filepath.Join(d.Root(), "dir/base"), filepath.Join(d.Root(), "dir/top")

	a, b := drivertest.Lstat(t, filepath.Join(base, "bin/busybox")), drivertest.Lstat(t, filepath.Join(top, "bin/busybox"))
	assert.NotEqual(t, a.Ino, b.Ino, "no inode is shared between layers")
	assert.Equal(t, uint64(2), b.Nlink, "links within a layer stay links")
	assert.Equal(t, b.Ino, drivertest.Lstat(t, filepath.Join(top, "bin/sh")).Ino)
	_, err := os.Lstat(filepath.Join(top, "etc/gone"))
	assert.ErrorIs(t, err, os.ErrNotExist, "deletions are real")
	_, err = os.Lstat(filepath.Join(base, "etc/gone"))
	assert.NoError(t, err, "the parent keeps its file")

	require.NoError(t, os.WriteFile(filepath.Join(top, "bin/busybox"), []byte("changed in place"), 0o755))
	data, err := os.ReadFile(filepath.Join(base, "bin/busybox"))
	require.NoError(t, err)
	assert.Len(t, data, 100, "writing a child's file in place leaves the parent alone")

	u, err := d.Usage("top")
	require.NoError(t, err)
	assert.Equal(t, int64(4), u.Inodes, "dir/top, bin, etc and one busybox inode")
}

func TestFactoryRefusals(t *testing.T) {
	for _, root := range []string{"/", "/var/lib/docker/vfs", "/var/lib/docker/../docker/x"} {
		_, err := New(root, drivers.Options{})
		assert.Error(t, err, root)
		assert.NotErrorIs(t, err, drivers.ErrNotSupported, "a forbidden root is a mistake, not a host limit")
	}
	_, err := New(t.TempDir(), drivers.Options{MountOptions: []string{"metacopy=on"}})
	assert.ErrorContains(t, err, "mounts nothing")
	if os.Geteuid() != 0 {
		_, err := New(t.TempDir(), drivers.Options{})
		assert.ErrorIs(t, err, drivers.ErrNotSupported)
	}
}

func TestMaxDepthOption(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	d, err := New(t.TempDir(), drivers.Options{MaxDepth: 2})
	require.NoError(t, err)
	assert.Equal(t, 2, d.MaxDepth())
	require.NoError(t, d.Create(t.Context(), "a", "", nil))
	require.NoError(t, d.Create(t.Context(), "b", "a", nil))
	var de *drivers.DepthError
	require.ErrorAs(t, d.Create(t.Context(), "c", "b", nil), &de)
	_, err = os.Lstat(filepath.Join(d.Root(), "dir/c"))
	assert.ErrorIs(t, err, os.ErrNotExist, "refused before anything was created")

	d, err = New(t.TempDir(), drivers.Options{})
	require.NoError(t, err)
	assert.Equal(t, DefaultMaxDepth, d.MaxDepth())
}

// TestCancelStopsAFullTreeCopy: a vfs layer is a copy of its parent's
// whole tree; cancelling the copy of a parent holding 256 MiB stops it
// within a second and leaves no trace of the child.
func TestCancelStopsAFullTreeCopy(t *testing.T) {
	d := newDriver(t)
	require.NoError(t, d.Create(t.Context(), "base", "", &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "big", Kind: layerspec.File, Size: 256 << 20, Fill: layerspec.Zero},
	}}))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := d.Create(ctx, "child", "base", nil)
	took := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, "treecopy: copy", "stopped in the copy, not before it")
	assert.Less(t, took, 20*time.Millisecond+time.Second)
	t.Logf("returned after %v: %v", took.Round(time.Millisecond), err)
	assert.NoDirExists(t, filepath.Join(d.Root(), "dir/child"))
	assert.ErrorIs(t, d.Remove("child"), drivers.ErrUnknownLayer)
	require.NoError(t, d.Remove("base"), "the parent is not held by the cancelled child")
}
