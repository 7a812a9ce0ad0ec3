package overlay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/drivertest"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/layerspec"
)

func newDriver(t *testing.T) *Driver {
	return drivertest.New(t, Name, New, drivers.Options{}).(*Driver)
}

func file(p string, seed uint64) layerspec.Entry {
	return layerspec.Entry{Path: p, Kind: layerspec.File, Size: 100, Seed: seed}
}

// image builds base <- mid: mid changes one file, deletes one, adds one.
func image(t *testing.T, d *Driver) (base, mid string) {
	t.Helper()
	require.NoError(t, d.Create(t.Context(), "base", "", &layerspec.Layer{Entries: []layerspec.Entry{
		file("bin/busybox", 1),
		{Path: "bin/sh", Kind: layerspec.Hardlink, Target: "bin/busybox"},
		file("etc/os-release", 2),
		file("etc/motd", 3),
		{Path: "lib", Kind: layerspec.Symlink, Target: "usr/lib"},
	}}))
	require.NoError(t, d.Create(t.Context(), "mid", "base", &layerspec.Layer{Entries: []layerspec.Entry{
		file("etc/os-release", 4),
		{Path: "etc/motd", Kind: layerspec.Delete},
		file("usr/lib/libc.so", 5),
	}}))
	return filepath.Join(d.Root(), "base/root"), filepath.Join(d.Root(), "mid/root")
}

func TestImageLayersAreRootTrees(t *testing.T) {
	d := newDriver(t)
	image(t, d)
	for _, id := range []string{"base", "mid"} {
		dir := filepath.Join(d.Root(), id)
		assert.Equal(t, []string{"root"}, drivertest.Names(t, dir), "an image layer is <id>/root and nothing else")
		assert.Equal(t, uint32(0o710), drivertest.Lstat(t, dir).Mode&0o7777)
		assert.Equal(t, uint32(0o755), drivertest.Lstat(t, filepath.Join(dir, "root")).Mode&0o7777)
		got, err := d.Mount(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "root"), got, "an image layer is not mounted")
	}
	assert.Equal(t, []string{"base", "mid"}, drivertest.Names(t, d.Root()), "the factory's probe left nothing")
}

func TestImageLayersShareFilesByHardLink(t *testing.T) {
	d := newDriver(t)
	base, mid := image(t, d)

	busybox := drivertest.Lstat(t, filepath.Join(base, "bin/busybox"))
	assert.Equal(t, busybox.Ino, drivertest.Lstat(t, filepath.Join(mid, "bin/busybox")).Ino, "an unchanged file is the parent's inode")
	assert.Equal(t, busybox.Ino, drivertest.Lstat(t, filepath.Join(mid, "bin/sh")).Ino)
	assert.Equal(t, uint64(4), busybox.Nlink, "two names in each of the two layers")

	osr := drivertest.Lstat(t, filepath.Join(mid, "etc/os-release"))
	assert.NotEqual(t, drivertest.Lstat(t, filepath.Join(base, "etc/os-release")).Ino, osr.Ino, "a changed file is a new inode")
	assert.Equal(t, uint64(1), osr.Nlink)
	want := make([]byte, 100)
	e := file("etc/os-release", 2)
	_, err := e.Content().Read(want)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(base, "etc/os-release"))
	require.NoError(t, err)
	assert.Equal(t, want, got, "the parent's content is unchanged")
	assert.Equal(t, uint64(1), drivertest.Lstat(t, filepath.Join(base, "etc/os-release")).Nlink)

	_, err = os.Lstat(filepath.Join(mid, "etc/motd"))
	assert.ErrorIs(t, err, os.ErrNotExist, "deleted in the child")
	assert.Equal(t, uint64(1), drivertest.Lstat(t, filepath.Join(base, "etc/motd")).Nlink, "still in the parent, with its one name")

	for _, dir := range []string{".", "bin", "etc"} {
		assert.NotEqual(t, drivertest.Lstat(t, filepath.Join(base, dir)).Ino, drivertest.Lstat(t, filepath.Join(mid, dir)).Ino, "directory %s is the layer's own", dir)
	}
	assert.NotEqual(t, drivertest.Lstat(t, filepath.Join(base, "lib")).Ino, drivertest.Lstat(t, filepath.Join(mid, "lib")).Ino, "symlinks are re-created")
	_, err = os.Lstat(filepath.Join(base, "usr"))
	assert.ErrorIs(t, err, os.ErrNotExist, "what the child adds stays in the child")
	assert.Error(t, d.Remove("base"), "a layer with children is refused")

	// Removing the child removes names, never the parent's inodes.
	require.NoError(t, d.Remove("mid"))
	assert.Equal(t, uint64(2), drivertest.Lstat(t, filepath.Join(base, "bin/busybox")).Nlink)
}

func TestContainerLayout(t *testing.T) {
	d := newDriver(t)
	image(t, d)
	init := &layerspec.Layer{Entries: []layerspec.Entry{
		file("etc/hosts", 6),
		{Path: "etc/os-release", Kind: layerspec.Delete},                 // a whiteout
		{Path: "usr/lib", Kind: layerspec.Opaque},                        // an opaque dir
		{Path: "dev/console", Kind: layerspec.File, Mode: 0o755, UID: 5}, // someone else's file
	}}
	require.NoError(t, d.CreateReadWrite(t.Context(), "c-init", "mid", init))
	require.NoError(t, d.CreateReadWrite(t.Context(), "c", "c-init", nil))

	for _, id := range []string{"c-init", "c"} {
		dir := filepath.Join(d.Root(), id)
		assert.Equal(t, []string{"lower-id", "upper", "work"}, drivertest.Names(t, dir), "%s: merged/ exists only while mounted", id)
		assert.Equal(t, uint32(0o710), drivertest.Lstat(t, dir).Mode&0o7777)
		lowerID, err := os.ReadFile(filepath.Join(dir, "lower-id"))
		require.NoError(t, err)
		assert.Equal(t, "mid", string(lowerID), "%s: lower-id is the image's top layer, without a newline", id)
		assert.Equal(t, uint32(0o600), drivertest.Lstat(t, filepath.Join(dir, "lower-id")).Mode&0o7777)
		assert.Equal(t, uint32(0o700), drivertest.Lstat(t, filepath.Join(dir, "work")).Mode&0o7777)
		assert.Equal(t, uint32(0o755), drivertest.Lstat(t, filepath.Join(dir, "upper")).Mode&0o7777, "upper has the mode of the image's root")
		upper := filepath.Join(dir, "upper")
		assert.Equal(t, []string{"dev", "etc", "usr"}, drivertest.Names(t, upper))
		wh := drivertest.Lstat(t, filepath.Join(upper, "etc/os-release"))
		assert.Equal(t, uint32(unix.S_IFCHR), wh.Mode&unix.S_IFMT, "%s: whiteout is a character device", id)
		assert.Equal(t, uint64(0), wh.Rdev)
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(filepath.Join(upper, "usr/lib"), layerspec.OpaqueXattr, buf)
		require.NoError(t, err, "%s: opaque xattr", id)
		assert.Equal(t, "y", string(buf[:n]))
		assert.Equal(t, uint32(5), drivertest.Lstat(t, filepath.Join(upper, "dev/console")).Uid)
	}
	initHosts := drivertest.Lstat(t, filepath.Join(d.Root(), "c-init/upper/etc/hosts"))
	cHosts := drivertest.Lstat(t, filepath.Join(d.Root(), "c/upper/etc/hosts"))
	assert.NotEqual(t, initHosts.Ino, cHosts.Ino, "a container's upper is a real copy of its init layer's")

	merged, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(d.Root(), "c/merged"), merged)
	assert.Equal(t, uint32(0o710), drivertest.Lstat(t, d.Root()).Mode&0o7777, "the root is 0710 as Docker's")
	assert.Equal(t, []string{"bin", "dev", "etc", "lib", "usr"}, drivertest.Names(t, merged))
	assert.Equal(t, []string{"hosts"}, drivertest.Names(t, filepath.Join(merged, "etc")), "os-release whited out, motd deleted below")
	assert.Empty(t, drivertest.Names(t, filepath.Join(merged, "usr/lib")), "the opaque dir hides libc.so")

	mounts, err := mountutil.MountsUnder(merged)
	require.NoError(t, err)
	require.Len(t, mounts, 1)
	assert.Equal(t, "overlay", mounts[0].FSType)
	for _, opt := range []string{
		"lowerdir=" + filepath.Join(d.Root(), "mid/root"),
		"upperdir=" + filepath.Join(d.Root(), "c/upper"),
		"workdir=" + filepath.Join(d.Root(), "c/work"),
	} {
		assert.Contains(t, strings.Split(mounts[0].VFSOptions, ","), opt)
	}

	// Writes go to the container's upper only.
	require.NoError(t, os.WriteFile(filepath.Join(merged, "bin/busybox"), []byte("patched"), 0o755))
	assert.Equal(t, int64(100), int64(drivertest.Lstat(t, filepath.Join(d.Root(), "mid/root/bin/busybox")).Size))
	assert.Equal(t, int64(7), int64(drivertest.Lstat(t, filepath.Join(d.Root(), "c/upper/bin/busybox")).Size))
	n, err := d.Depth("c")
	require.NoError(t, err)
	assert.Equal(t, 4, n, "base, mid, c-init, c")

	require.NoError(t, d.Unmount("c"))
	assert.NoDirExists(t, merged, "Unmount removes merged/, as Docker's Put does")
	require.NoError(t, d.Remove("c"))
	_, err = os.Lstat(filepath.Join(d.Root(), "c"))
	assert.ErrorIs(t, err, os.ErrNotExist, "Remove unmounts, then removes")
}

func TestMountData(t *testing.T) {
	assert.Equal(t,
		"lowerdir=/r/img/root,upperdir=/r/c/upper,workdir=/r/c/work",
		mountData("/r", "img", "c", nil))
	assert.Equal(t,
		"lowerdir=img/root,upperdir=c/upper,workdir=c/work,metacopy=on,redirect_dir=on",
		mountData("", "img", "c", []string{"metacopy=on", "redirect_dir=on"}))
}

func TestVariantNameAndOptionsReachTheMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	d, err := New(filepath.Join(t.TempDir(), "overlay"), drivers.Options{MountOptions: []string{"redirect_dir=on"}})
	require.NoError(t, err)
	defer func() { assert.NoError(t, d.Cleanup()) }()
	assert.Equal(t, "overlay+redirect_dir=on", d.Name())
	require.NoError(t, d.Create(t.Context(), "img", "", nil))
	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img"))
	merged, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	mounts, err := mountutil.MountsUnder(merged)
	require.NoError(t, err)
	require.Len(t, mounts, 1)
	assert.Contains(t, strings.Split(mounts[0].VFSOptions, ","), "redirect_dir=on")

	_, err = New(filepath.Join(t.TempDir(), "overlay"), drivers.Options{MountOptions: []string{"no_such_option=1"}})
	assert.ErrorIs(t, err, drivers.ErrNotSupported, "a variant the kernel refuses is unsupported, by experiment")
	assert.ErrorContains(t, err, "no_such_option=1")
}

func TestFactoryRefusals(t *testing.T) {
	for _, root := range []string{"/", "/var/lib/docker/overlay"} {
		_, err := New(root, drivers.Options{})
		assert.Error(t, err, root)
		assert.NotErrorIs(t, err, drivers.ErrNotSupported, root)
	}
	_, err := New(t.TempDir(), drivers.Options{MountOptions: []string{"lowerdir=/etc"}})
	assert.ErrorContains(t, err, "set by the driver")
	if os.Geteuid() != 0 {
		_, err := New(t.TempDir(), drivers.Options{})
		assert.ErrorIs(t, err, drivers.ErrNotSupported)
	}
}

func TestUsageCountsSharedFilesInEveryLayer(t *testing.T) {
	d := newDriver(t)
	image(t, d)
	b, err := d.Usage("base")
	require.NoError(t, err)
	m, err := d.Usage("mid")
	require.NoError(t, err)
	// base: root, bin, etc, busybox(+sh), os-release, motd, lib = 7.
	// mid: root, bin, etc, usr, usr/lib, busybox (shared), os-release (new),
	// libc.so, lib = 9: every directory again, and the shared file too.
	assert.Equal(t, int64(7), b.Inodes)
	assert.Equal(t, int64(9), m.Inodes)
	all, err := drivers.DirUsage(filepath.Join(d.Root(), "base/root"), filepath.Join(d.Root(), "mid/root"))
	require.NoError(t, err)
	assert.Equal(t, int64(15), all.Inodes, "the image as a whole counts the shared inode once")
}
