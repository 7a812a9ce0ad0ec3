package overlay2

import (
	"errors"
	"fmt"
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

func requireRoot(t *testing.T) { drivertest.RequireRoot(t, Name) }

func newDriver(t *testing.T, opts drivers.Options) *Driver {
	return drivertest.New(t, Name, New, opts).(*Driver)
}

func oneFile(name string) *layerspec.Layer {
	return &layerspec.Layer{Entries: []layerspec.Entry{{Path: name, Kind: layerspec.File, Size: int64(len(name)), Seed: 1}}}
}

// buildStack creates n layers with one file each ("f000" in the bottom),
// the last two as a container's init and writable layers, and returns the
// top layer's id.
func buildStack(t *testing.T, d drivers.Driver, n int) string {
	t.Helper()
	parent := ""
	for i := 0; i < n-2; i++ {
		id := fmt.Sprintf("layer%03d", i)
		require.NoError(t, d.Create(t.Context(), id, parent, oneFile(fmt.Sprintf("f%03d", i))), "layer %d", i)
		parent = id
	}
	require.NoError(t, drivers.NewContainer(t.Context(), d, "ctr", parent))
	return "ctr"
}

func TestLinkID(t *testing.T) {
	a, b := LinkID("layer0"), LinkID("layer1")
	assert.Regexp(t, `^[A-Z2-7]{26}$`, a, "Docker's alphabet: base32, 26 characters")
	assert.NotEqual(t, a, b)
	assert.Equal(t, a, LinkID("layer0"), "deterministic")
}

// TestLayoutOnDisk checks every file Docker's overlay2 writes, by name,
// content and mode, without mounting.
func TestLayoutOnDisk(t *testing.T) {
	root := filepath.Join(t.TempDir(), "overlay2")
	l := Layout{Root: root, WorkMode: 0o700}
	require.NoError(t, l.Init())
	assert.Equal(t, os.ModeDir|0o710, drivertest.Mode(t, root), "the root, as Docker's /var/lib/docker/overlay2")
	assert.Equal(t, os.ModeDir|0o700, drivertest.Mode(t, filepath.Join(root, LinkDir)), filepath.Join(root, LinkDir))

	require.NoError(t, l.Create("base", ""))
	require.NoError(t, l.Create("mid", "base"))
	require.NoError(t, l.Commit("base"))
	require.NoError(t, l.Create("top", "mid"))
	require.NoError(t, l.Commit("mid"))

	for _, id := range []string{"base", "mid", "top"} {
		assert.Equal(t, os.ModeDir|0o710, drivertest.Mode(t, l.Dir(id)), l.Dir(id))
		assert.Equal(t, os.ModeDir|0o755, drivertest.Mode(t, l.Path(id, DiffDir)), l.Path(id, DiffDir))
		assert.Equal(t, os.FileMode(0o644), drivertest.Mode(t, l.Path(id, LinkFile)), l.Path(id, LinkFile))
		assert.Equal(t, LinkID(id), drivertest.ReadString(t, l.Path(id, LinkFile)), "link holds the short id, no newline")
		target, err := os.Readlink(filepath.Join(root, LinkDir, LinkID(id)))
		require.NoError(t, err)
		assert.Equal(t, "../"+id+"/diff", target, "l/<short> is a relative symlink to the diff")
		assert.NoFileExists(t, l.Path(id, MergedDir), "merged/ exists only while mounted")
	}
	assert.NoFileExists(t, l.Path("base", LowerFile), "a base layer has no lower")
	assert.NoDirExists(t, l.Path("base", WorkDir), "a base layer has no work/")
	assert.Equal(t, "l/"+LinkID("base"), drivertest.ReadString(t, l.Path("mid", LowerFile)))
	assert.Equal(t, "l/"+LinkID("mid")+":l/"+LinkID("base"), drivertest.ReadString(t, l.Path("top", LowerFile)), "parent first, down to the base")
	for _, id := range []string{"mid", "top"} {
		assert.Equal(t, os.FileMode(0o644), drivertest.Mode(t, l.Path(id, LowerFile)), l.Path(id, LowerFile))
		assert.Equal(t, os.ModeDir|0o700, drivertest.Mode(t, l.Path(id, WorkDir)), l.Path(id, WorkDir))
	}
	assert.Equal(t, os.FileMode(0o600), drivertest.Mode(t, l.Path("base", CommitFile)), l.Path("base", CommitFile))
	assert.Empty(t, drivertest.ReadString(t, l.Path("base", CommitFile)))
	assert.True(t, l.Committed("mid"))
	assert.False(t, l.Committed("top"), "nothing built on top yet")

	kids, err := l.Children("base")
	require.NoError(t, err)
	assert.Equal(t, []string{"mid"}, kids)
	n, err := l.Depth("top")
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	dirs, err := l.LowerDirs("top")
	require.NoError(t, err)
	assert.Equal(t, []string{l.Path("mid", DiffDir), l.Path("base", DiffDir)}, dirs)

	assert.ErrorContains(t, l.Create("mid", "base"), "already exists")
	require.NoError(t, l.Remove("top"))
	assert.NoDirExists(t, l.Dir("top"))
	assert.NoFileExists(t, filepath.Join(root, LinkDir, LinkID("top")), "the short link goes with the layer")
}

// TestCommittedMarksLayersWithChildren follows a container's life: Docker
// writes committed into a layer when a child is created on it, so image
// layers under the top, the top once a container exists, and the init
// layer carry it; the container's writable layer never does.
func TestCommittedMarksLayersWithChildren(t *testing.T) {
	d := newDriver(t, drivers.Options{})
	l := d.Layout()
	require.NoError(t, d.Create(t.Context(), "img0", "", oneFile("a")))
	require.NoError(t, d.Create(t.Context(), "img1", "img0", oneFile("b")))
	assert.True(t, l.Committed("img0"))
	assert.False(t, l.Committed("img1"), "top image layer, no container yet")

	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img1"))
	assert.True(t, l.Committed("img1"))
	assert.True(t, l.Committed(drivers.InitID("c")))
	assert.False(t, l.Committed("c"), "a container's writable layer is never committed")

	// A committed layer mounts read-only, its own diff as the top lower.
	spec, ok, err := d.MountSpec("img1")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []string{"img1/diff", "l/" + LinkID("img0")}, spec.Lowers)
	assert.Empty(t, spec.Upper)
	dir, err := d.Mount(t.Context(), "img1")
	require.NoError(t, err)
	assert.ErrorIs(t, os.WriteFile(filepath.Join(dir, "x"), nil, 0o644), unix.EROFS)
	require.NoError(t, d.Unmount("img1"))

	// The base layer is never mounted: its diff is the whole view.
	dir, err = d.Mount(t.Context(), "img0")
	require.NoError(t, err)
	assert.Equal(t, l.Path("img0", DiffDir), dir)
}

// TestDriverModesAreDockers checks the modes New gives what it makes, not
// only the Layout's: Docker 20.10's overlay2 makes the root 0710 and
// work/ 0700 (its fuse-overlayfs driver makes work/ 0710).
func TestDriverModesAreDockers(t *testing.T) {
	d := newDriver(t, drivers.Options{})
	require.NoError(t, d.Create(t.Context(), "img", "", oneFile("a")))
	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img"))
	assert.Equal(t, os.ModeDir|0o710, drivertest.Mode(t, d.Root()))
	for _, id := range []string{"c", drivers.InitID("c")} {
		assert.Equal(t, os.ModeDir|0o700, drivertest.Mode(t, d.Layout().Path(id, WorkDir)), id)
		assert.Equal(t, os.ModeDir|0o710, drivertest.Mode(t, d.Layout().Dir(id)), id)
	}
}

func TestMountDataShallowIsAbsolute(t *testing.T) {
	d := newDriver(t, drivers.Options{})
	top := buildStack(t, d, 4)
	spec, ok, err := d.MountSpec(top)
	require.NoError(t, err)
	require.True(t, ok)
	root := d.Root()
	want := fmt.Sprintf("lowerdir=%s/l/%s:%s/l/%s:%s/l/%s,upperdir=%s/ctr/diff,workdir=%s/ctr/work",
		root, LinkID("ctr-init"), root, LinkID("layer001"), root, LinkID("layer000"), root, root)
	if _, err := os.Stat(indexParam); err == nil {
		want = "index=off," + want
	}
	assert.Equal(t, want, spec.Data(false))
	assert.Equal(t, Absolute, ChooseMethod(spec))

	dir, err := d.Mount(t.Context(), top)
	require.NoError(t, err)
	mounts, err := mountutil.MountsUnder(dir)
	require.NoError(t, err)
	require.Len(t, mounts, 1)
	assert.Contains(t, mounts[0].VFSOptions, "lowerdir="+root+"/l/"+LinkID("ctr-init")+":", "mounted with absolute paths")
}

func TestMountDataDeepIsRelative(t *testing.T) {
	d := newDriver(t, drivers.Options{})
	top := buildStack(t, d, d.MaxDepth())
	spec, ok, err := d.MountSpec(top)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Len(t, spec.Lowers, DockerMaxLowers)
	assert.False(t, mountutil.DataFits(spec.Data(false)), "128 absolute lowers exceed a page")
	assert.Equal(t, Relative, ChooseMethod(spec))
	rel := spec.Data(true)
	assert.True(t, strings.Contains(rel, "lowerdir=l/"+LinkID("ctr-init")+":l/"), rel)
	assert.True(t, strings.HasSuffix(rel, ",upperdir=ctr/diff,workdir=ctr/work"), rel)
	assert.NotContains(t, rel, d.Root())
}

func TestMountDataBeyondAPageUsesLowerdirPlus(t *testing.T) {
	spec := MountSpec{Root: "/var/tmp/unionbench-run/backing-ext4/root1", Upper: "c/diff", Work: "c/work", Target: "c/merged"}
	for i := 0; i < KernelMaxLowers; i++ {
		spec.Lowers = append(spec.Lowers, "l/"+LinkID(fmt.Sprint(i)))
	}
	assert.Equal(t, LowerdirPlus, ChooseMethod(spec))
	spec.Lowers = spec.Lowers[:100]
	assert.Equal(t, Relative, ChooseMethod(spec))
	spec.Lowers = spec.Lowers[:10]
	assert.Equal(t, Absolute, ChooseMethod(spec))
}

// TestMountFormSwitchesWhereDockers: the switch to relative paths is at
// the depth where Docker's own absolute data (under /var/lib/docker/overlay2)
// stops fitting in a page, whatever the driver root's length.
func TestMountFormSwitchesWhereDockers(t *testing.T) {
	stack := func(root string, lowers int) MountSpec {
		spec := MountSpec{Root: root, Options: []string{"index=off"}, Upper: LinkID("c") + "/diff", Work: LinkID("c") + "/work", Target: "c/merged"}
		for i := range lowers {
			spec.Lowers = append(spec.Lowers, "l/"+LinkID(fmt.Sprint(i)))
		}
		return spec
	}
	// The deepest stack Docker mounts with absolute paths.
	switchAt := 0
	for n := 1; n <= DockerMaxLowers; n++ {
		if !mountutil.DataFits(stack(DockerRoot, n).Data(false)) {
			switchAt = n
			break
		}
	}
	require.NotZero(t, switchAt)
	assert.InDelta(t, 71, switchAt, 3, "Docker's switch is at about 71 lowers")
	for _, root := range []string{"/r", DockerRoot, "/srv/ub/overlay2"} {
		assert.Equal(t, Absolute, ChooseMethod(stack(root, switchAt-1)), "%s: %d lowers", root, switchAt-1)
		assert.Equal(t, Relative, ChooseMethod(stack(root, switchAt)), "%s: %d lowers: relative, as Docker, though absolute would fit", root, switchAt)
	}
	long := "/var/tmp/unionbench-run/backing-ext4/some/much/longer/driver/root"
	assert.Equal(t, Relative, ChooseMethod(stack(long, switchAt-10)), "a longer root than Docker's switches earlier: a page is all the kernel takes")
}

// readBottom mounts top and reads the bottom layer's file through it.
func readBottom(t *testing.T, d *Driver, top string) {
	t.Helper()
	dir, err := d.Mount(t.Context(), top)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "f000"))
	require.NoError(t, err)
	assert.Len(t, got, 4)
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	n, err := d.Depth(top)
	require.NoError(t, err)
	assert.Len(t, names, n-2+5, "one file per image layer, and the init layer's dev, proc, sys, etc, .dockerenv")
}

// TestDeepest128 mounts Docker's deepest stack: 128 lowers under a
// container's writable layer (129 layers), through the relative form.
func TestDeepest128(t *testing.T) {
	d := newDriver(t, drivers.Options{})
	require.Equal(t, DockerMaxLowers+1, d.MaxDepth())
	top := buildStack(t, d, d.MaxDepth())
	readBottom(t, d, top)
	var de *drivers.DepthError
	assert.ErrorAs(t, d.CreateReadWrite(t.Context(), "one-more", top, nil), &de)
	assert.False(t, d.Layout().Exists("one-more"), "refused before anything is created")
}

// TestDeepest500 raises MaxDepth to the kernel's limit and mounts 500
// lowers under the writable layer: that needs lowerdir+ (14 KiB of
// relative paths do not fit in a page).
func TestDeepest500(t *testing.T) {
	d := newDriver(t, drivers.Options{MaxDepth: KernelMaxLowers + 1})
	top := buildStack(t, d, d.MaxDepth())
	spec, _, err := d.MountSpec(top)
	require.NoError(t, err)
	assert.Len(t, spec.Lowers, KernelMaxLowers)
	assert.Equal(t, LowerdirPlus, ChooseMethod(spec))
	readBottom(t, d, top)
	var de *drivers.DepthError
	assert.ErrorAs(t, d.CreateReadWrite(t.Context(), "one-more", top, nil), &de)
}

// TestKernelStackLimit checks KernelMaxLowers against the kernel: 501
// lowers are refused, and through fsconfig the error says why.
func TestKernelStackLimit(t *testing.T) {
	requireRoot(t)
	_, err := ProbeMount(t.TempDir(), KernelMaxLowers, nil, mountLowerdirPlus)
	require.NoError(t, err)
	_, err = ProbeMount(t.TempDir(), KernelMaxLowers+1, nil, mountLowerdirPlus)
	require.ErrorIs(t, err, unix.EINVAL)
	assert.ErrorContains(t, err, "too many lower directories, limit is 500")
}

func TestFactoryRefusals(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		root string
		opts drivers.Options
		want string
	}{
		{"/", drivers.Options{}, "root directory"},
		{"/var/lib/docker/overlay2", drivers.Options{}, "/var/lib/docker"},
		{t.TempDir(), drivers.Options{MaxDepth: KernelMaxLowers + 2}, "limit of 501"},
		{t.TempDir(), drivers.Options{MaxDepth: -2}, "out of range"},
		{t.TempDir(), drivers.Options{MountOptions: []string{"lowerdir=/x"}}, "set by the driver"},
		{t.TempDir(), drivers.Options{MountOptions: []string{"a,b"}}, "bad mount option"},
	} {
		_, err := New(tc.root, tc.opts)
		assert.ErrorContains(t, err, tc.want, tc.root)
		assert.NotErrorIs(t, err, drivers.ErrNotSupported)
	}
	_, err := os.Stat("/var/lib/docker/overlay2/l")
	assert.True(t, errors.Is(err, os.ErrNotExist) || err == nil, "nothing made under /var/lib/docker")
}

func TestKernelRefusalIsNotSupported(t *testing.T) {
	requireRoot(t)
	_, err := New(t.TempDir(), drivers.Options{MountOptions: []string{"metacopy=on", "redirect_dir=off"}})
	require.ErrorIs(t, err, drivers.ErrNotSupported)
	assert.ErrorIs(t, err, unix.EINVAL, "the kernel's errno is kept")
	assert.ErrorContains(t, err, "refuses metacopy=on,redirect_dir=off")
}

func TestVariantsNameAndReport(t *testing.T) {
	requireRoot(t)
	reg, _ := drivers.Lookup(Name)
	for _, opts := range reg.Variants {
		d, err := New(t.TempDir(), drivers.Options{MountOptions: opts})
		if errors.Is(err, drivers.ErrNotSupported) {
			t.Logf("%v", err)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, "overlay2+"+strings.Join(opts, "+"), d.Name())
		t.Logf("%s: supported", d.Name())
	}
}

func TestRemove(t *testing.T) {
	d := newDriver(t, drivers.Options{})
	require.NoError(t, d.Create(t.Context(), "img", "", oneFile("a")))
	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img"))
	dir, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	err = d.Remove("img")
	assert.ErrorIs(t, err, drivers.ErrLayerHasChildren)
	assert.ErrorContains(t, err, "c-init built on it")
	require.NoError(t, d.Remove("c"), "a mounted layer is unmounted first")
	assert.NoDirExists(t, dir)
	assert.NoDirExists(t, d.Layout().Dir("c"))
	assert.NoFileExists(t, filepath.Join(d.Root(), LinkDir, LinkID("c")))
	require.NoError(t, d.Remove("c-init"))
	require.NoError(t, d.Remove("img"))
	left, err := os.ReadDir(d.Root())
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Equal(t, LinkDir, left[0].Name())
}

func TestUsage(t *testing.T) {
	d := newDriver(t, drivers.Options{})
	require.NoError(t, d.Create(t.Context(), "img", "", &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "d/f", Kind: layerspec.File, Size: 8192, Seed: 1},
	}}))
	u, err := d.Usage("img")
	require.NoError(t, err)
	// <id>, diff, diff/d, diff/d/f, link, l/<short>
	assert.Equal(t, int64(6), u.Inodes)
	assert.GreaterOrEqual(t, u.Bytes, int64(8192))

	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img"))
	after, err := d.Usage("img")
	require.NoError(t, err)
	assert.Equal(t, u, after, "committed, written when a child appears, is not counted")
	_, err = d.Mount(t.Context(), "c")
	require.NoError(t, err)
	cu, err := d.Usage("c")
	require.NoError(t, err)
	assert.Less(t, cu.Inodes, int64(10), "merged/ is not walked")
}

// TestVolatileRemount: a volatile mount leaves a marker that makes the
// kernel refuse the next mount of that upper; after an unmount of its own
// the driver removes it, so a container can be mounted again.
func TestVolatileRemount(t *testing.T) {
	d := newDriver(t, drivers.Options{MountOptions: []string{"volatile"}})
	require.NoError(t, d.Create(t.Context(), "img", "", oneFile("a")))
	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img"))
	dir, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "w"), []byte("x"), 0o644))
	assert.DirExists(t, filepath.Join(d.Layout().Path("c", WorkDir), "work/incompat/volatile"))
	require.NoError(t, d.Unmount("c"))
	assert.NoDirExists(t, filepath.Join(d.Layout().Path("c", WorkDir), "work/incompat/volatile"))
	dir, err = d.Mount(t.Context(), "c")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "w"))
}
