package aufs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/drivertest"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/layerspec"
)

func needRoot(t *testing.T) { drivertest.RequireRoot(t, Name) }

// kernelCall is one mount(2) the driver asked for.
type kernelCall struct {
	Dir                    string // working directory for relative paths; "" for none
	Source, Target, FSType string
	Flags                  uintptr
	Data                   string
}

// fakeKernel stands in for mount(2) and umount(2) on hosts without aufs,
// recording what the driver would pass to the kernel.
type fakeKernel struct {
	mounts   []kernelCall
	unmounts []string
	failAt   int // 1-based index of the mount call that fails with EINVAL; 0 never
}

// fakeContainer is drivers.NewContainer for a driver on the fake kernel:
// NewContainer sets the init layer up through its mount, which the fake
// kernel does not make, so the init layer is written directly with
// layerspec.DockerInit, which is what the setup makes on these images
// (they have none of its paths).
func fakeContainer(ctx context.Context, d *Driver, id, image string) error {
	if err := d.CreateReadWrite(ctx, drivers.InitID(id), image, layerspec.DockerInit()); err != nil {
		return err
	}
	return d.CreateReadWrite(ctx, id, drivers.InitID(id), nil)
}

// testDriver is a driver on a fresh root that talks to a fake kernel:
// everything but the aufs mount itself is real.
func testDriver(t *testing.T, opts drivers.Options) (*Driver, *fakeKernel) {
	t.Helper()
	return testDriverAt(t, t.TempDir(), opts)
}

func testDriverAt(t *testing.T, root string, opts drivers.Options) (*Driver, *fakeKernel) {
	t.Helper()
	d, err := newDriver(root, opts)
	require.NoError(t, err)
	d.dirperm1 = true
	require.NoError(t, d.makeDirs())
	k := &fakeKernel{}
	d.auplink = ""
	d.mountFn = func(dir, source, target, fstype string, flags uintptr, data string) error {
		k.mounts = append(k.mounts, kernelCall{dir, source, target, fstype, flags, data})
		if len(k.mounts) == k.failAt {
			return &mountutil.MountError{Op: "mount", Source: source, Target: target, FSType: fstype, Flags: flags, Data: data, Err: unix.EINVAL}
		}
		return nil
	}
	d.unmountFn = func(target string) error {
		k.unmounts = append(k.unmounts, target)
		return nil
	}
	t.Cleanup(func() { assert.NoError(t, d.Cleanup()) })
	return d, k
}

func file(p string, size int64) layerspec.Entry {
	return layerspec.Entry{Path: p, Kind: layerspec.File, Size: size, Seed: uint64(size)}
}

// threeLayers is an image whose second layer deletes a file and a
// directory and whose third makes a directory opaque.
var threeLayers = []*layerspec.Layer{
	{Entries: []layerspec.Entry{file("a/keep", 10), file("a/gone", 20), file("a/sub/deep", 30), file("d/x", 40)}},
	{Entries: []layerspec.Entry{{Path: "a/gone", Kind: layerspec.Delete}, {Path: "a/sub", Kind: layerspec.Delete}}},
	{Entries: []layerspec.Entry{{Path: "d", Kind: layerspec.Opaque, Mode: 0o750}, file("d/new", 50)}},
}

func buildImage(t *testing.T, d *Driver, layers []*layerspec.Layer) []string {
	t.Helper()
	var ids []string
	parent := ""
	for i, l := range layers {
		id := fmt.Sprintf("img%d", i)
		require.NoError(t, d.Create(t.Context(), id, parent, l))
		ids, parent = append(ids, id), id
	}
	return ids
}

func TestLayoutOfAnImageAndAContainer(t *testing.T) {
	needRoot(t)
	d, k := testDriver(t, drivers.Options{})
	buildImage(t, d, threeLayers)
	require.NoError(t, fakeContainer(t.Context(), d, "c", "img2"))
	r := d.Root()

	assert.Equal(t, []string{"diff", "layers", "mnt"}, drivertest.Names(t, r))
	ids := []string{"c", "c-init", "img0", "img1", "img2"}
	for _, top := range []string{"diff", "layers", "mnt"} {
		assert.Equal(t, fs.ModeDir|0o710, drivertest.Mode(t, filepath.Join(r, top)), top)
		assert.Equal(t, ids, drivertest.Names(t, filepath.Join(r, top)), top)
	}
	for _, id := range ids {
		assert.Equal(t, fs.ModeDir|0o755, drivertest.Mode(t, filepath.Join(r, "diff", id)), "diff/%s", id)
		assert.Equal(t, fs.ModeDir|0o755, drivertest.Mode(t, filepath.Join(r, "mnt", id)), "mnt/%s", id)
		assert.Empty(t, drivertest.Names(t, filepath.Join(r, "mnt", id)), "mnt/%s is an empty mount point", id)
		assert.Equal(t, fs.FileMode(0o644), drivertest.Mode(t, filepath.Join(r, "layers", id)), "layers/%s", id)
	}

	// Docker's chain files: the parent, then the parent's own chain.
	for id, want := range map[string]string{
		"img0":   "",
		"img1":   "img0\n",
		"img2":   "img1\nimg0\n",
		"c-init": "img2\nimg1\nimg0\n",
		"c":      "c-init\nimg2\nimg1\nimg0\n",
	} {
		assert.Equal(t, want, drivertest.ReadString(t, filepath.Join(r, "layers", id)), "layers/%s", id)
	}

	// aufs's whiteouts: empty .wh.<name> files beside the deleted names,
	// and .wh..wh..opq inside the opaque directory.
	assert.Equal(t, []string{".wh.gone", ".wh.sub"}, drivertest.Names(t, filepath.Join(r, "diff/img1/a")))
	for _, wh := range []string{"diff/img1/a/.wh.gone", "diff/img1/a/.wh.sub", "diff/img2/d/.wh..wh..opq"} {
		fi, err := os.Lstat(filepath.Join(r, wh))
		require.NoError(t, err, wh)
		assert.True(t, fi.Mode().IsRegular(), wh)
		assert.Zero(t, fi.Size(), wh)
	}
	assert.Equal(t, []string{".wh..wh..opq", "new"}, drivertest.Names(t, filepath.Join(r, "diff/img2/d")))
	assert.Equal(t, fs.ModeDir|0o750, drivertest.Mode(t, filepath.Join(r, "diff/img2/d")))
	assert.Equal(t, []string{".dockerenv", "dev", "etc", "proc", "sys"}, drivertest.Names(t, filepath.Join(r, "diff/c-init")))
	assert.Empty(t, drivertest.Names(t, filepath.Join(r, "diff/c")))

	// What Mount passes to the kernel: one call for a shallow stack.
	dir, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(r, "mnt/c"), dir)
	want := kernelCall{"", "none", filepath.Join(r, "mnt/c"), "aufs", 0,
		"br:" + r + "/diff/c=rw:" + r + "/diff/c-init=ro+wh:" + r + "/diff/img2=ro+wh:" + r + "/diff/img1=ro+wh:" + r + "/diff/img0=ro+wh" +
			",dio,xino=/dev/shm/aufs.xino,dirperm1"}
	assert.Equal(t, []kernelCall{want}, k.mounts)

	again, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	assert.Equal(t, dir, again)
	assert.Len(t, k.mounts, 1, "mounting a mounted layer does not mount again")

	base, err := d.Mount(t.Context(), "img0")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(r, "diff/img0"), base, "a layer without parents is its diff directory, unmounted, as in Docker")
	assert.Len(t, k.mounts, 1)

	require.NoError(t, d.Unmount("c"))
	require.NoError(t, d.Unmount("c"))
	require.NoError(t, d.Unmount("img0"))
	assert.Equal(t, []string{filepath.Join(r, "mnt/c")}, k.unmounts)

	for id, want := range map[string]int{"img0": 1, "img2": 3, "c": 5} {
		n, err := d.Depth(id)
		require.NoError(t, err)
		assert.Equal(t, want, n, id)
	}
}

// A 127-branch container: the mount is one call plus remounts that append
// the remaining parents in order, and a 128th layer is refused.
func TestDeepContainerMountsInPagesAndRefusesOneLayerMore(t *testing.T) {
	needRoot(t)
	d, k := testDriver(t, drivers.Options{})
	d.pageSize = 4096 // what Docker's hosts have, whatever this one has
	parent := ""
	var image []string
	for i := 0; i < DefaultMaxDepth-2; i++ {
		id := hexID(i)
		require.NoError(t, d.Create(t.Context(), id, parent, nil))
		image, parent = append(image, id), id
	}
	require.NoError(t, fakeContainer(t.Context(), d, "c", parent))
	n, err := d.Depth("c")
	require.NoError(t, err)
	assert.Equal(t, 127, n)

	_, err = d.Mount(t.Context(), "c")
	require.NoError(t, err)
	require.Greater(t, len(k.mounts), 1, "a deep stack with long paths needs appends (root %s)", d.Root())
	var plan mountPlan
	for i, c := range k.mounts {
		assert.Equal(t, "none", c.Source)
		assert.Equal(t, filepath.Join(d.Root(), "mnt/c"), c.Target)
		assert.Equal(t, "aufs", c.FSType)
		assert.LessOrEqual(t, len(c.Data), 4095, "call %d fits in a page", i)
		if i == 0 {
			assert.Equal(t, uintptr(0), c.Flags)
			plan.First = c.Data
		} else {
			assert.Equal(t, uintptr(unix.MS_REMOUNT), c.Flags, "call %d is a remount", i)
			plan.Appends = append(plan.Appends, c.Data)
		}
	}
	ro := []string{d.diffPath("c-init")}
	for i := len(image) - 1; i >= 0; i-- {
		ro = append(ro, d.diffPath(image[i]))
	}
	assert.Equal(t, wantBranches(d.diffPath("c"), ro), branchesOf(t, plan, d.options(true)))

	err = d.CreateReadWrite(t.Context(), "too-deep", "c", nil)
	var de *drivers.DepthError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, drivers.DepthError{Driver: "aufs", Depth: 128, Max: 127}, *de)
	_, err = os.Lstat(d.diffPath("too-deep"))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "a refused layer creates nothing")
}

func TestMaxDepthOption(t *testing.T) {
	d, _ := testDriver(t, drivers.Options{MaxDepth: 2})
	assert.Equal(t, 2, d.MaxDepth())
	require.NoError(t, d.Create(t.Context(), "a", "", nil))
	require.NoError(t, d.Create(t.Context(), "b", "a", nil))
	var de *drivers.DepthError
	assert.ErrorAs(t, d.Create(t.Context(), "c", "b", nil), &de)

	d, _ = testDriver(t, drivers.Options{MaxDepth: 1000})
	assert.Equal(t, 1000, d.MaxDepth(), "a kernel built with a larger branch limit may be used")
}

// appendingStack is a driver on a fake kernel with layers a <- b <- c and a
// page so small that mounting c takes appends.
func appendingStack(t *testing.T) (*Driver, *fakeKernel) {
	d, k := testDriver(t, drivers.Options{})
	d.pageSize = 160
	require.NoError(t, d.Create(t.Context(), "a", "", nil))
	require.NoError(t, d.Create(t.Context(), "b", "a", nil))
	require.NoError(t, d.Create(t.Context(), "c", "b", nil))
	return d, k
}

// A failed remount part way leaves nothing mounted and nothing recorded;
// the error names the layer and unwraps to the errno.
func TestFailedMountUnmountsAndIsNotRecorded(t *testing.T) {
	d, k := appendingStack(t)
	plan, err := d.plan("c", []string{"b", "a"})
	require.NoError(t, err)
	require.NotEmpty(t, plan.Appends)

	k.failAt = 2
	_, err = d.Mount(t.Context(), "c")
	require.Error(t, err)
	assert.True(t, errors.Is(err, unix.EINVAL), "unwraps to the errno: %v", err)
	assert.ErrorContains(t, err, `layer "c"`)
	assert.ErrorContains(t, err, "append:")
	assert.Equal(t, []string{d.mntPath("c")}, k.unmounts, "the half-built union is unmounted")

	k.failAt = 0
	_, err = d.Mount(t.Context(), "c")
	require.NoError(t, err)
	assert.Len(t, k.mounts, 2+len(plan.Calls()), "the next Mount tries again from the start")
}

// A context that ends between the first mount call and the appends stops
// the mount there, and the half-built union is unmounted again.
func TestCancelledMountUnmountsWhatItMounted(t *testing.T) {
	d, k := appendingStack(t)
	ctx, cancel := context.WithCancel(t.Context())
	mount := d.mountFn
	d.mountFn = func(dir, source, target, fstype string, flags uintptr, data string) error {
		cancel() // the first call is made; the context ends before the next
		return mount(dir, source, target, fstype, flags, data)
	}
	_, err := d.Mount(ctx, "c")
	require.ErrorIs(t, err, context.Canceled)
	var le *drivers.LayerError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, drivers.LayerError{Driver: "aufs", Op: "mount", ID: "c", Err: le.Err}, *le)
	assert.Len(t, k.mounts, 1, "no append after the context ended")
	assert.Equal(t, []string{d.mntPath("c")}, k.unmounts, "the half-built union is unmounted")
	assert.NotContains(t, d.mounts, "c", "and not recorded as mounted")
}

func TestRemoveRefusesParentsAndUnmountsFirst(t *testing.T) {
	needRoot(t)
	d, k := testDriver(t, drivers.Options{})
	ids := buildImage(t, d, threeLayers)
	require.NoError(t, fakeContainer(t.Context(), d, "c", ids[2]))
	_, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)

	err = d.Remove("img2")
	assert.ErrorIs(t, err, drivers.ErrLayerHasChildren)
	assert.ErrorContains(t, err, `remove layer "img2": layer has child layers (c-init)`)
	assert.ErrorIs(t, d.Remove("c-init"), drivers.ErrLayerHasChildren)
	assert.ErrorIs(t, d.Remove("missing"), drivers.ErrUnknownLayer)

	require.NoError(t, drivers.RemoveContainer(d, "c"))
	assert.Equal(t, []string{d.mntPath("c")}, k.unmounts, "Remove unmounts a mounted layer")
	for i := len(ids) - 1; i >= 0; i-- {
		require.NoError(t, d.Remove(ids[i]))
	}
	for _, top := range []string{"diff", "layers", "mnt"} {
		assert.Empty(t, drivertest.Names(t, filepath.Join(d.Root(), top)), top)
	}
}

// Something this driver did not mount (another process, a crashed run)
// still covers mnt/<id>: Remove stops before deleting the layer's content.
func TestRemoveNeverDeletesUnderAMount(t *testing.T) {
	needRoot(t)
	d, _ := testDriver(t, drivers.Options{})
	require.NoError(t, d.Create(t.Context(), "a", "", &layerspec.Layer{Entries: []layerspec.Entry{file("f", 10)}}))
	require.NoError(t, d.Create(t.Context(), "b", "a", nil))
	require.NoError(t, mountutil.Mount("tmpfs", d.mntPath("b"), "tmpfs", 0, "size=1m"))
	defer func() { require.NoError(t, mountutil.Unmount(d.mntPath("b"))) }()

	err := d.Remove("b")
	assert.True(t, errors.Is(err, unix.EBUSY), "%v", err)
	_, err = os.Stat(d.diffPath("b"))
	assert.NoError(t, err, "diff/b survives")
	_, err = d.Depth("b")
	assert.NoError(t, err, "layers/b survives, so Remove can be retried")
}

func TestUsageCountsTheLayersOwnEntries(t *testing.T) {
	needRoot(t)
	d, _ := testDriver(t, drivers.Options{})
	require.NoError(t, d.Create(t.Context(), "a", "", &layerspec.Layer{Entries: []layerspec.Entry{file("dir/f", 8192)}}))
	require.NoError(t, d.Create(t.Context(), "b", "a", nil))
	u, err := d.Usage("a")
	require.NoError(t, err)
	// diff/a, diff/a/dir, diff/a/dir/f, layers/a, mnt/a
	assert.Equal(t, int64(5), u.Inodes)
	assert.GreaterOrEqual(t, u.Bytes, int64(8192))

	before, err := d.Usage("b")
	require.NoError(t, err)
	assert.Equal(t, int64(3), before.Inodes, "diff/b, layers/b, mnt/b")
	_, err = d.Mount(t.Context(), "b")
	require.NoError(t, err)
	during, err := d.Usage("b")
	require.NoError(t, err)
	assert.Equal(t, before, during, "a mounted layer's usage does not walk the union")

	_, err = d.Usage("missing")
	assert.ErrorIs(t, err, drivers.ErrUnknownLayer)
}

func TestRejectsBadRequests(t *testing.T) {
	d, _ := testDriver(t, drivers.Options{})
	err := d.Create(t.Context(), "orphan", "nope", nil)
	assert.ErrorIs(t, err, drivers.ErrUnknownLayer)
	assert.ErrorContains(t, err, `create layer "orphan": parent "nope"`)
	assert.Error(t, d.Create(t.Context(), "../x", "", nil))
	require.NoError(t, d.Create(t.Context(), "base", "", nil))
	assert.ErrorIs(t, d.Create(t.Context(), "base", "", nil), drivers.ErrLayerExists)
	bad := &layerspec.Layer{Entries: []layerspec.Entry{{Path: "../../etc/passwd", Kind: layerspec.File}}}
	assert.Error(t, d.Create(t.Context(), "bad", "base", bad))
	_, err = os.Lstat(d.diffPath("bad"))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "a refused spec creates nothing")
	_, err = d.Mount(t.Context(), "missing")
	assert.ErrorIs(t, err, drivers.ErrUnknownLayer)
}

func TestVariantOptionsFollowDockers(t *testing.T) {
	d, _ := testDriver(t, drivers.Options{MountOptions: []string{"udba=none", "noplink"}})
	assert.Equal(t, "aufs+udba=none+noplink", d.Name())
	assert.Equal(t, "dio,xino=/dev/shm/aufs.xino,dirperm1,udba=none,noplink", d.options(true))
	assert.Equal(t, "dio,xino=/dev/shm/aufs.xino,udba=none,noplink", d.options(false), "no dirperm1 where the aufs does not know it")

	_, err := newDriver(t.TempDir(), drivers.Options{MountOptions: []string{"br:/etc=rw"}})
	assert.ErrorContains(t, err, "changes the branches")
	_, err = New(t.TempDir(), drivers.Options{MountOptions: []string{"a,b"}})
	assert.ErrorContains(t, err, "bad mount option")
	d, err = newDriver(t.TempDir(), drivers.Options{})
	require.NoError(t, err)
	assert.Equal(t, "aufs", d.Name())
}

// A root whose path aufs's option syntax would misread (Go names test
// directories after subtests: "backing=tmpfs") gets branches relative to
// it, and the mount calls run there.
func TestRootWithOptionSyntaxMountsRelativeToIt(t *testing.T) {
	for _, name := range []string{"backing=dir", "a,b", "a:b"} {
		root := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.Mkdir(root, 0o700))
		d, k := testDriverAt(t, root, drivers.Options{})
		require.NoError(t, d.Create(t.Context(), "a", "", nil))
		require.NoError(t, d.Create(t.Context(), "b", "a", nil))
		require.NoError(t, d.CreateReadWrite(t.Context(), "c", "b", nil))
		_, err := d.Mount(t.Context(), "c")
		require.NoError(t, err)
		assert.Equal(t, []kernelCall{{d.Root(), "none", d.mntPath("c"), "aufs", 0,
			"br:diff/c=rw:diff/b=ro+wh:diff/a=ro+wh,dio,xino=/dev/shm/aufs.xino,dirperm1"}}, k.mounts, name)
	}
}

func TestFactoryRefusesRootsItMustNotTouch(t *testing.T) {
	for _, root := range []string{"/", "/var/lib/docker/aufs", "/var/lib/docker/../docker/x"} {
		_, err := New(root, drivers.Options{})
		require.Error(t, err, root)
		assert.False(t, errors.Is(err, drivers.ErrNotSupported), "a bad root is the caller's mistake, not the host's: %v", err)
		_, statErr := os.Stat(root)
		if root != "/" {
			assert.True(t, errors.Is(statErr, fs.ErrNotExist), "%s was not created", root)
		}
	}
}

// On this host (no aufs, or no root) the Factory says why, as data, and
// leaves the root as it found it.
func TestFactorySaysWhyNotSupported(t *testing.T) {
	root := t.TempDir()
	d, err := New(root, drivers.Options{})
	if err == nil {
		require.NoError(t, d.Cleanup())
		t.Skip("aufs runs on this host")
	}
	require.True(t, errors.Is(err, drivers.ErrNotSupported), "%v", err)
	switch {
	case os.Geteuid() != 0:
		assert.ErrorContains(t, err, "needs root")
	case !listed():
		assert.Equal(t, "aufs: aufs is not in /proc/filesystems (needs an Ubuntu kernel up to 20.04 / the aufs module): "+drivers.ErrNotSupported.Error(), err.Error())
	}
	assert.Empty(t, drivertest.Names(t, root))
}

func TestRegistered(t *testing.T) {
	r, ok := drivers.Lookup(Name)
	require.True(t, ok)
	assert.Equal(t, Name, r.Name)
	assert.NotEmpty(t, r.Doc)
}

func TestProcFilesystemsParsing(t *testing.T) {
	assert.True(t, hasFS([]byte("nodev\tsysfs\n\text4\nnodev\taufs\n"), "aufs"))
	assert.False(t, hasFS([]byte("nodev\tsysfs\n\text4\nnodev\toverlay\n"), "aufs"))
	assert.False(t, hasFS([]byte("nodev\tnotaufs\n"), "aufs"), "a whole name, not a substring")
}

// realDriver is the driver as the Factory makes it, on a host with aufs;
// elsewhere the test skips with the Factory's reason.
func realDriver(t *testing.T, root string) *Driver {
	t.Helper()
	require.NoError(t, os.MkdirAll(root, 0o700))
	d, err := New(root, drivers.Options{})
	if errors.Is(err, drivers.ErrNotSupported) {
		t.Skip(err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Cleanup()) })
	return d.(*Driver)
}

// On an aufs host: the union shows the flattened image, and a container's
// changes land in its own diff directory in aufs's format. Both ways of
// naming branches are exercised: absolute (a plain root) and relative (a
// root aufs's option syntax would misread).
func TestRealMountShowsTheFlattenedImage(t *testing.T) {
	for _, name := range []string{"plain", "backing=x"} {
		t.Run(name, func(t *testing.T) {
			d := realDriver(t, filepath.Join(t.TempDir(), name))
			buildImage(t, d, threeLayers)
			require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img2"))
			dir, err := d.Mount(t.Context(), "c")
			require.NoError(t, err)

			want, err := layerspec.Flatten(append(append([]*layerspec.Layer(nil), threeLayers...), layerspec.DockerInit()))
			require.NoError(t, err)
			got, _, err := layerspec.Snapshot(dir)
			require.NoError(t, err)
			assert.Empty(t, layerspec.Diff(want, got, 20))

			require.NoError(t, os.Remove(filepath.Join(dir, "a/keep")))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "d/x"), []byte("new"), 0o644))
			require.NoError(t, d.Unmount("c"))
			assert.Empty(t, drivertest.Names(t, d.mntPath("c")))
			_, err = os.Lstat(filepath.Join(d.diffPath("c"), "a/.wh.keep"))
			assert.NoError(t, err, "the deletion is a .wh. file in the container's layer")
			assert.Equal(t, "new", drivertest.ReadString(t, filepath.Join(d.diffPath("c"), "d/x")))
		})
	}
}

// On an aufs host: a 127-branch union with Docker-length ids and absolute
// paths needs remount appends, and every branch makes it into the union.
func TestRealMountOfTheDeepestStack(t *testing.T) {
	d := realDriver(t, t.TempDir())
	parent := ""
	for i := 0; i < d.MaxDepth()-2; i++ {
		id := hexID(i)
		require.NoError(t, d.Create(t.Context(), id, parent, &layerspec.Layer{Entries: []layerspec.Entry{file(fmt.Sprintf("l/%03d", i), 1)}}))
		parent = id
	}
	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", parent))
	parents, err := d.chain("c")
	require.NoError(t, err)
	plan, err := d.plan("c", parents)
	require.NoError(t, err)
	require.NotEmpty(t, plan.Appends, "the test must exercise appends")
	dir, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	assert.Len(t, drivertest.Names(t, filepath.Join(dir, "l")), d.MaxDepth()-2, "one file from every image layer")
}
