package drivertest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/layerspec"
)

// buildImage creates one image layer per spec, bottom first, and returns
// the ids.
func buildImage(t *testing.T, d drivers.Driver, prefix string, layers []*layerspec.Layer) []string {
	t.Helper()
	ids := make([]string, len(layers))
	parent := ""
	for i, l := range layers {
		ids[i] = fmt.Sprintf("%s%03d", prefix, i)
		require.NoError(t, d.Create(t.Context(), ids[i], parent, l), "create layer %d", i)
		parent = ids[i]
	}
	return ids
}

// mountContainer creates and mounts a container on image top layer top.
func mountContainer(t *testing.T, d drivers.Driver, id, top string) string {
	t.Helper()
	require.NoError(t, drivers.NewContainer(t.Context(), d, id, top))
	dir, err := d.Mount(t.Context(), id)
	require.NoError(t, err)
	return dir
}

// mergeRules are the drivers whose kernel documents (in its source) merge
// rules other than the POSIX reading layerspec.Flatten gives: aufs lets the
// lowest of two opaque markers win (layerspec.Rules says why, docs/quirks.md
// opaque-twice what was observed). The merged view of such a driver is
// compared, entry by entry and as exactly, with a flatten under its rules,
// so a layout mistake still fails; every other driver gets the POSIX one.
var mergeRules = map[string]layerspec.Rules{"aufs": layerspec.AufsRules}

// requireView checks that dir, a merged view of d, shows exactly the
// flattened layers plus Docker's init layer, hard links included, under
// d's merge rules.
func requireView(t *testing.T, d drivers.Driver, dir string, layers []*layerspec.Layer) {
	t.Helper()
	driver, _, _ := strings.Cut(d.Name(), "+") // a variant merges as its driver
	rules := mergeRules[driver]
	want, err := rules.Flatten(append(append([]*layerspec.Layer(nil), layers...), layerspec.DockerInit()))
	require.NoError(t, err)
	got, links, err := layerspec.Snapshot(dir)
	require.NoError(t, err)
	require.Empty(t, layerspec.Diff(want, got, 30), "merged view differs from the flattened reference tree")
	require.Equal(t, want.LinkGroups(), links, "hard-link groups in the merged view")
}

func file(p string, seed uint64) layerspec.Entry {
	return layerspec.Entry{Path: p, Kind: layerspec.File, Size: 1000 + int64(seed), Seed: seed}
}

func readSeed(t *testing.T, dir, p string, seed uint64) {
	t.Helper()
	e := file(p, seed)
	got, err := os.ReadFile(filepath.Join(dir, p))
	require.NoError(t, err)
	want := make([]byte, e.Size)
	_, err = e.Content().Read(want)
	require.NoError(t, err)
	require.Equal(t, want, got, "content of %s", p)
}

func upperLayerWins(t *testing.T, d drivers.Driver) {
	layers := []*layerspec.Layer{
		{Entries: []layerspec.Entry{file("etc/app.conf", 1), file("bin/tool", 2)}},
		{Entries: []layerspec.Entry{file("etc/app.conf", 3)}},
		{Entries: []layerspec.Entry{{Path: "bin/tool", Kind: layerspec.File, Size: 5, Seed: 4, Mode: 0o700, UID: 33, GID: 33}}},
	}
	ids := buildImage(t, d, "img", layers)
	dir := mountContainer(t, d, "c", ids[len(ids)-1])
	readSeed(t, dir, "etc/app.conf", 3)
	fi, err := os.Stat(filepath.Join(dir, "bin/tool"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm())
	requireView(t, d, dir, layers)
}

func whiteoutHides(t *testing.T, d drivers.Driver) {
	layers := []*layerspec.Layer{
		{Entries: []layerspec.Entry{file("a/keep", 1), file("a/gone", 2), file("a/sub/deep", 3)}},
		{Entries: []layerspec.Entry{{Path: "a/gone", Kind: layerspec.Delete}, {Path: "a/sub", Kind: layerspec.Delete}}},
	}
	ids := buildImage(t, d, "img", layers)
	dir := mountContainer(t, d, "c", ids[1])
	_, err := os.Lstat(filepath.Join(dir, "a/gone"))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "deleted file is hidden: %v", err)
	_, err = os.Lstat(filepath.Join(dir, "a/sub"))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "deleted dir is hidden: %v", err)
	names := readdir(t, filepath.Join(dir, "a"))
	assert.Equal(t, []string{"keep"}, names, "readdir shows no whiteout entries")
	requireView(t, d, dir, layers)
}

func opaqueHides(t *testing.T, d drivers.Driver) {
	layers := []*layerspec.Layer{
		{Entries: []layerspec.Entry{file("d/x", 1), file("d/y", 2), file("d/n/z", 3)}},
		{Entries: []layerspec.Entry{{Path: "d", Kind: layerspec.Opaque, Mode: 0o750}, file("d/new", 4)}},
		{Entries: []layerspec.Entry{file("d/newer", 5)}},
	}
	ids := buildImage(t, d, "img", layers)
	dir := mountContainer(t, d, "c", ids[2])
	assert.Equal(t, []string{"new", "newer"}, readdir(t, filepath.Join(dir, "d")))
	requireView(t, d, dir, layers)
}

func deleteAndRecreate(t *testing.T, d drivers.Driver) {
	layers := []*layerspec.Layer{
		{Entries: []layerspec.Entry{file("p/f", 1), file("p/q/r", 2)}},
		{Entries: []layerspec.Entry{{Path: "p", Kind: layerspec.Delete}}},
		{Entries: []layerspec.Entry{file("p/g", 3)}}, // p again, must not show f or q
		{Entries: []layerspec.Entry{{Path: "p/g", Kind: layerspec.Delete}, {Path: "p/g", Kind: layerspec.Dir, Mode: 0o711}, file("p/g/h", 4)}},
		{Entries: []layerspec.Entry{{Path: "p/g/h", Kind: layerspec.Delete}, {Path: "p/g/h", Kind: layerspec.Symlink, Target: "../f"}}},
	}
	ids := buildImage(t, d, "img", layers)
	dir := mountContainer(t, d, "c", ids[len(ids)-1])
	assert.Equal(t, []string{"g"}, readdir(t, filepath.Join(dir, "p")))
	requireView(t, d, dir, layers)
}

func linksSurvive(t *testing.T, d drivers.Driver) {
	layers := []*layerspec.Layer{
		{Entries: []layerspec.Entry{
			file("bin/busybox", 1),
			{Path: "bin/sh", Kind: layerspec.Hardlink, Target: "bin/busybox"},
			{Path: "bin/ls", Kind: layerspec.Hardlink, Target: "bin/busybox"},
			{Path: "usr/bin/env", Kind: layerspec.Symlink, Target: "/bin/busybox"},
			{Path: "lib", Kind: layerspec.Symlink, Target: "usr/lib"},
		}},
		{Entries: []layerspec.Entry{file("usr/lib/libc.so", 2)}},
	}
	ids := buildImage(t, d, "img", layers)
	dir := mountContainer(t, d, "c", ids[1])
	var a, b syscallStat
	a.stat(t, filepath.Join(dir, "bin/busybox"))
	b.stat(t, filepath.Join(dir, "bin/sh"))
	assert.Equal(t, a.ino, b.ino, "hard links in a lower layer show one inode")
	assert.GreaterOrEqual(t, a.nlink, uint64(3))
	target, err := os.Readlink(filepath.Join(dir, "usr/bin/env"))
	require.NoError(t, err)
	assert.Equal(t, "/bin/busybox", target)
	readSeed(t, dir, "lib/libc.so", 2) // resolved through the symlink inside the view
	requireView(t, d, dir, layers)
}

// deepStack builds the deepest container the driver allows (image layers +
// init + writable = MaxDepth, capped at 128 to keep the suite fast) from a
// synthetic image with churn, and compares the merged view with the
// flattened tree; one more layer must be refused.
func deepStack(t *testing.T, d drivers.Driver) {
	depth := min(d.MaxDepth(), 128)
	layers, err := layerspec.Synthetic{Seed: 128, Layers: depth - 2, Dirs: 8, Files: 5, Sizes: []int64{0, 100, 5000}, Churn: 0.5}.Generate()
	require.NoError(t, err)
	ids := buildImage(t, d, "deep", layers)
	dir := mountContainer(t, d, "c", ids[len(ids)-1])
	n, err := d.Depth("c")
	require.NoError(t, err)
	assert.Equal(t, depth, n)
	requireView(t, d, dir, layers)
	if depth == d.MaxDepth() {
		err = d.CreateReadWrite(t.Context(), "too-deep", "c", nil)
		var de *drivers.DepthError
		assert.ErrorAs(t, err, &de, "a layer beyond MaxDepth is refused")
	}
}

func writesLandInUpper(t *testing.T, d drivers.Driver) {
	layers, err := layerspec.Synthetic{Seed: 7, Layers: 3, Dirs: 4, Files: 20, Churn: 0.2}.Generate()
	require.NoError(t, err)
	ids := buildImage(t, d, "img", layers)
	var before []drivers.Usage
	for _, id := range ids {
		u, err := d.Usage(id)
		require.NoError(t, err)
		before = append(before, u)
	}
	want, err := layerspec.Flatten(layers)
	require.NoError(t, err)
	var lowerFile string
	for p, n := range want {
		if n.Type == "file" && (lowerFile == "" || p < lowerFile) {
			lowerFile = p
		}
	}
	dir := mountContainer(t, d, "c1", ids[2])
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new-file"), []byte("hello"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, lowerFile), []byte("changed"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "new-dir"), 0o755))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, layerspec.DirName(1))))

	for i, id := range ids {
		u, err := d.Usage(id)
		require.NoError(t, err)
		assert.Equal(t, before[i], u, "image layer %s is untouched by the container's writes", id)
	}
	// A second container on the same image sees the image as built.
	requireView(t, d, mountContainer(t, d, "c2", ids[2]), layers)

	// The writes persist across unmount and mount.
	require.NoError(t, d.Unmount("c1"))
	dir, err = d.Mount(t.Context(), "c1")
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, lowerFile))
	require.NoError(t, err)
	assert.Equal(t, "changed", string(got))
	_, err = os.Stat(filepath.Join(dir, layerspec.DirName(1)))
	assert.True(t, errors.Is(err, fs.ErrNotExist))
}

func removeLeavesNothing(t *testing.T, d drivers.Driver) {
	layers, err := layerspec.Synthetic{Seed: 11, Layers: 4, Dirs: 4, Files: 10, Churn: 0.3}.Generate()
	require.NoError(t, err)
	ids := buildImage(t, d, "img", layers)
	for _, c := range []string{"c1", "c2"} {
		dir := mountContainer(t, d, c, ids[len(ids)-1])
		require.NoError(t, os.WriteFile(filepath.Join(dir, "scribble"), []byte(c), 0o600))
	}
	assert.ErrorIs(t, d.Remove(ids[0]), drivers.ErrLayerHasChildren)
	for _, c := range []string{"c1", "c2"} {
		require.NoError(t, drivers.RemoveContainer(d, c))
	}
	for i := len(ids) - 1; i >= 0; i-- {
		require.NoError(t, d.Remove(ids[i]))
	}
	requireEmptyRoot(t, d)
}

// requireEmptyRoot checks that nothing is mounted under the driver's root
// and that only the driver's own empty top-level directories (overlay2's
// l/, aufs's diff/ layers/ mnt/, vfs's dir/) are left in it.
func requireEmptyRoot(t *testing.T, d drivers.Driver) {
	t.Helper()
	mounts, err := mountutil.MountsUnder(d.Root())
	require.NoError(t, err)
	assert.Empty(t, mounts)
	var left []string
	top, err := os.ReadDir(d.Root())
	require.NoError(t, err)
	for _, e := range top {
		if !e.IsDir() {
			left = append(left, e.Name())
			continue
		}
		for _, n := range readdir(t, filepath.Join(d.Root(), e.Name())) {
			left = append(left, filepath.Join(e.Name(), n))
		}
	}
	assert.Empty(t, left, "only the driver's empty top-level directories are left")
}

func mountIdempotent(t *testing.T, d drivers.Driver) {
	ids := buildImage(t, d, "img", []*layerspec.Layer{{Entries: []layerspec.Entry{file("f", 1)}}, {Entries: []layerspec.Entry{file("g", 2)}}})
	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", ids[1]))
	require.NoError(t, d.Unmount("c"), "unmounting a layer never mounted is not an error")
	a, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	b, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	assert.Equal(t, a, b)
	readSeed(t, b, "f", 1)
	require.NoError(t, d.Unmount("c"))
	require.NoError(t, d.Unmount("c"))
}

func rejectsBadRequests(t *testing.T, d drivers.Driver) {
	assert.Error(t, d.Create(t.Context(), "../escape", "", nil), "id with a path separator")
	assert.Error(t, d.Create(t.Context(), "", "", nil), "empty id")
	require.NoError(t, d.Create(t.Context(), "base", "", nil))
	bad := &layerspec.Layer{Entries: []layerspec.Entry{{Path: "../../etc/passwd", Kind: layerspec.File}}}
	assert.Error(t, d.Create(t.Context(), "bad", "base", bad), "a spec escaping the layer")
	_, err := os.Stat(filepath.Join(filepath.Dir(d.Root()), "etc"))
	assert.True(t, errors.Is(err, fs.ErrNotExist), "nothing written outside the root")
}

// requireLayerError checks that err is a *drivers.LayerError of this
// driver for op on layer id, matching sentinel, and not a host limit.
func requireLayerError(t *testing.T, d drivers.Driver, err error, sentinel error, op, id string) {
	t.Helper()
	require.ErrorIs(t, err, sentinel, "%s %s", op, id)
	var le *drivers.LayerError
	require.ErrorAs(t, err, &le, "%s %s", op, id)
	assert.Equal(t, d.Name(), le.Driver, "%s %s: the driver", op, id)
	assert.Equal(t, op, le.Op, "%s %s: the operation", op, id)
	assert.Equal(t, id, le.ID, "%s %s: the layer", op, id)
	assert.NotErrorIs(t, err, drivers.ErrNotSupported, "%s %s is a bad request, not a host limit", op, id)
}

// typedErrors: every refusal of the contract is a *drivers.LayerError that
// errors.Is matches to its sentinel, whatever the driver writes in the
// message.
func typedErrors(t *testing.T, d drivers.Driver) {
	err := d.Create(t.Context(), "orphan", "no-such-parent", nil)
	requireLayerError(t, d, err, drivers.ErrUnknownLayer, "create", "orphan")
	assert.ErrorContains(t, err, "no-such-parent", "the message names the missing parent")
	err = d.CreateReadWrite(t.Context(), "orphan", "no-such-parent", nil)
	requireLayerError(t, d, err, drivers.ErrUnknownLayer, "create", "orphan")

	require.NoError(t, d.Create(t.Context(), "base", "", nil))
	requireLayerError(t, d, d.Create(t.Context(), "base", "", nil), drivers.ErrLayerExists, "create", "base")
	requireLayerError(t, d, d.CreateReadWrite(t.Context(), "base", "", nil), drivers.ErrLayerExists, "create", "base")

	require.NoError(t, d.CreateReadWrite(t.Context(), "child", "base", nil))
	requireLayerError(t, d, d.Remove("base"), drivers.ErrLayerHasChildren, "remove", "base")
	_, err = d.Mount(t.Context(), "base")
	require.NoError(t, err, "the refused removal left the layer usable")

	_, err = d.Mount(t.Context(), "missing")
	requireLayerError(t, d, err, drivers.ErrUnknownLayer, "mount", "missing")
	requireLayerError(t, d, d.Remove("missing"), drivers.ErrUnknownLayer, "remove", "missing")
	_, err = d.Usage("missing")
	requireLayerError(t, d, err, drivers.ErrUnknownLayer, "usage", "missing")
	_, err = d.Depth("missing")
	requireLayerError(t, d, err, drivers.ErrUnknownLayer, "depth", "missing")

	require.NoError(t, d.Remove("child"))
	require.NoError(t, d.Remove("base"))
	requireLayerError(t, d, d.Remove("base"), drivers.ErrUnknownLayer, "remove", "base")
	requireEmptyRoot(t, d)
}

// cancelledContextRefuses: with a done context, Create, CreateReadWrite,
// NewContainer and Mount fail with the context's error and leave nothing
// (no layer, no mount), and the driver carries on as before.
func cancelledContextRefuses(t *testing.T, d drivers.Driver) {
	done, cancel := context.WithCancel(t.Context())
	cancel()
	spec := &layerspec.Layer{Entries: []layerspec.Entry{file("f", 1)}}
	require.ErrorIs(t, d.Create(done, "img", "", spec), context.Canceled)
	requireLayerError(t, d, d.Remove("img"), drivers.ErrUnknownLayer, "remove", "img")
	requireEmptyRoot(t, d)

	require.NoError(t, d.Create(t.Context(), "img", "", spec), "the same id once more, with a live context")
	require.ErrorIs(t, d.CreateReadWrite(done, "rw", "img", spec), context.Canceled)
	require.ErrorIs(t, drivers.NewContainer(done, d, "c", "img"), context.Canceled)
	for _, id := range []string{"rw", "c", drivers.InitID("c")} {
		requireLayerError(t, d, d.Remove(id), drivers.ErrUnknownLayer, "remove", id)
	}

	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img"))
	_, err := d.Mount(done, "c")
	require.ErrorIs(t, err, context.Canceled)
	mounts, err := mountutil.MountsUnder(d.Root())
	require.NoError(t, err)
	assert.Empty(t, mounts, "a refused mount mounts nothing")
	readSeed(t, mountExisting(t, d, "c"), "f", 1)

	require.NoError(t, drivers.RemoveContainer(d, "c"))
	require.NoError(t, d.Remove("img"))
	requireEmptyRoot(t, d)
}

// BigFile is the size of the file cancelStopsABigBuild builds: at the
// speed layers are built (a few hundred MB/s to a few GB/s) a second or
// more of writing, of which the check lets only the first 50 ms happen.
const BigFile = 1 << 30

// cancelStopsABigBuild starts building a layer holding a 1 GiB file of the
// layer spec's random pattern (no holes: every byte is written), cancels
// the build after 50 ms, and checks that it stops within a second with
// context.Canceled, leaving no layer behind, so the id can be used again.
func cancelStopsABigBuild(t *testing.T, d drivers.Driver) {
	big := &layerspec.Layer{Entries: []layerspec.Entry{{Path: "big", Kind: layerspec.File, Size: BigFile, Seed: 9}}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stop := time.AfterFunc(50*time.Millisecond, cancel)
	defer stop.Stop()
	start := time.Now()
	err := d.Create(ctx, "big", "", big)
	took := time.Since(start)
	require.ErrorIs(t, err, context.Canceled, "after %v", took)
	assert.Less(t, took, 50*time.Millisecond+time.Second, "the build stops soon after the cancel")
	t.Logf("cancelled after 50ms, returned after %v: %v", took.Round(time.Millisecond), err)
	requireLayerError(t, d, d.Remove("big"), drivers.ErrUnknownLayer, "remove", "big")
	requireEmptyRoot(t, d)
	require.NoError(t, d.Create(t.Context(), "big", "", nil), "the id is free again")
	require.NoError(t, d.Remove("big"))
}

// mountExisting mounts an existing container.
func mountExisting(t *testing.T, d drivers.Driver, id string) string {
	t.Helper()
	dir, err := d.Mount(t.Context(), id)
	require.NoError(t, err)
	return dir
}

func readdir(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(dir)
	require.NoError(t, err)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	require.NoError(t, err)
	return sorted(names)
}
