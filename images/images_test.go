package images_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/drivers/drivertest"
	"github.com/unionbench/unionbench/images"
	"github.com/unionbench/unionbench/images/imagetest"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/layerspec"
)

func TestMain(m *testing.M) { sandbox.RunTests(m) }

func open(t *testing.T, p string) *images.Image {
	t.Helper()
	im, err := images.Open(p, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, im.Close()) })
	return im
}

// The three forms of the test image hold the same layers (same diff ids,
// same uncompressed bytes), each stored as its form stores them.
func TestOpenEveryForm(t *testing.T) {
	built := imagetest.Build(t)
	forms := map[string]types.MediaType{
		built.DockerSave: types.DockerUncompressedLayer,
		built.OCIDir:     types.OCILayer,
		built.OCITar:     types.OCILayerZStd,
	}
	var ref *images.Image
	for p, mt := range forms {
		im := open(t, p)
		require.Len(t, im.Layers, imagetest.LayerCount, p)
		require.NoError(t, im.Verify(context.Background(), t.TempDir(), func(root string) error {
			return images.HasProgram(root, "/bin/sh")
		}), p)
		assert.Error(t, im.Verify(context.Background(), t.TempDir(), func(root string) error {
			return images.HasProgram(root, "/no/such/program")
		}))
		assert.Greater(t, im.UncompressedSize(), int64(imagetest.BigSize), p)
		for _, l := range im.Layers {
			assert.Equal(t, mt, l.MediaType, "%s layer %d", p, l.Index)
			assert.Positive(t, l.Size)
			if mt == types.DockerUncompressedLayer {
				assert.Equal(t, l.DiffID, l.Digest, "an uncompressed layer's digest is its diff id")
			} else {
				assert.NotEqual(t, l.DiffID, l.Digest, "a compressed layer's digest is its blob's")
				assert.Less(t, l.Size, im.UncompressedSize())
			}
		}
		if ref == nil {
			ref = im
			continue
		}
		assert.Equal(t, ref.UncompressedSize(), im.UncompressedSize(), p)
		for i := range im.Layers {
			assert.Equal(t, ref.Layers[i].DiffID, im.Layers[i].DiffID, "%s layer %d", p, i)
		}
	}
	save := open(t, built.DockerSave)
	assert.Equal(t, save.ID, save.Digest, "docker save has no manifest digest: the config's names it")
	assert.Equal(t, []string{"/bin/sh", "-c", "true"}, save.Config.Config.Cmd)
}

// flat extracts the image's layers into one full tree, applying deletions
// for real: what every driver's merged view must show.
func flat(t *testing.T, im *images.Image) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, im.ExtractFlat(context.Background(), dir))
	return dir
}

// initPaths are the names a container's init layer adds over the image.
var initPaths = map[string]bool{".dockerenv": true, "etc/hosts": true, "etc/hostname": true, "etc/resolv.conf": true, "etc/mtab": true, "dev/console": true, "dev/pts": true, "dev/shm": true}

// Every driver imports the image from its tar streams and its container
// shows exactly the flat tree; each keeps whiteouts in its own format.
func TestImportEveryDriver(t *testing.T) {
	built := imagetest.Build(t)
	im := open(t, built.DockerSave)
	want, wantLinks, err := layerspec.Snapshot(flat(t, im))
	require.NoError(t, err)
	for p := range want {
		if initPaths[p] {
			delete(want, p) // the init layer replaces them
		}
	}
	require.NotContains(t, want, "app/small/f0001", "the flat tree applied the whiteout")
	require.Contains(t, want, imagetest.RecreatedDel)
	require.Contains(t, want, imagetest.OpaqueKept)
	for _, name := range drivers.Names() {
		t.Run(name, func(t *testing.T) {
			reg, _ := drivers.Lookup(name)
			d := drivertest.New(t, name, reg.Factory, drivers.Options{})
			ctx := context.Background()
			top, err := im.Import(ctx, d, "img")
			require.NoError(t, err)
			require.NoError(t, drivers.NewContainer(ctx, d, "c", top))
			merged, err := d.Mount(ctx, "c")
			require.NoError(t, err)
			got, gotLinks, err := layerspec.Snapshot(merged)
			require.NoError(t, err)
			for p := range got {
				if initPaths[p] {
					delete(got, p)
				}
			}
			assert.Empty(t, layerspec.Diff(want, got, 20), "merged view of %s against the flat tree", name)
			assert.Contains(t, fmt.Sprint(gotLinks), imagetest.HardTarget, "hard link group")
			assert.Equal(t, len(wantLinks), len(gotLinks))
			capv := make([]byte, 64)
			n, err := unix.Lgetxattr(filepath.Join(merged, imagetest.CapFile), "security.capability", capv)
			require.NoError(t, err, "security.capability survives import")
			assert.Equal(t, 20, n)
			var st unix.Stat_t
			require.NoError(t, unix.Lstat(filepath.Join(merged, "app/dev/null"), &st))
			assert.Equal(t, uint32(unix.S_IFCHR), st.Mode&unix.S_IFMT)
			assert.Equal(t, unix.Mkdev(1, 3), st.Rdev)
			checkFormat(t, d, name)
			require.NoError(t, d.Unmount("c"))
			require.NoError(t, drivers.RemoveContainer(d, "c"))
			require.NoError(t, im.Remove(d, "img"))
		})
	}
}

// checkFormat looks at the cleanup layer (layer 2) on disk: a deletion and
// an opaque directory, in the driver's own representation.
func checkFormat(t *testing.T, d drivers.Driver, name string) {
	id := images.LayerID("img", 2)
	var diff string
	switch name {
	case "overlay2", "fuse-overlayfs":
		link, err := filepath.Glob(filepath.Join(d.Root(), id, "diff"))
		require.NoError(t, err)
		require.Len(t, link, 1)
		diff = link[0]
	case "aufs":
		diff = filepath.Join(d.Root(), "diff", id)
	case "vfs":
		diff = filepath.Join(d.Root(), "dir", id)
	case "overlay":
		diff = filepath.Join(d.Root(), id, "root")
	default:
		t.Fatalf("no format check for driver %s", name)
	}
	deleted := filepath.Join(diff, "app/small/f0001")
	opq := filepath.Join(diff, imagetest.OpaqueDir)
	switch name {
	case "overlay2":
		var st unix.Stat_t
		require.NoError(t, unix.Lstat(deleted, &st))
		assert.Equal(t, uint32(unix.S_IFCHR), st.Mode&unix.S_IFMT, "overlay whiteout is a char device")
		assert.Zero(t, st.Rdev)
		v := make([]byte, 4)
		n, err := unix.Lgetxattr(opq, layerspec.OpaqueXattr, v)
		require.NoError(t, err)
		assert.Equal(t, "y", string(v[:n]))
		assert.NoFileExists(t, filepath.Join(opq, layerspec.AufsOpaqueMarker))
	case "aufs", "fuse-overlayfs":
		assert.FileExists(t, filepath.Join(diff, "app/small/.wh.f0001"))
		assert.FileExists(t, filepath.Join(opq, layerspec.AufsOpaqueMarker))
	case "vfs", "overlay":
		assert.NoFileExists(t, deleted, "a full tree applies the deletion")
		names, err := os.ReadDir(opq)
		require.NoError(t, err)
		require.Len(t, names, 1, "the opaque directory holds only what layer 2 wrote")
		assert.Equal(t, filepath.Base(imagetest.OpaqueKept), names[0].Name())
	}
}

// Hostile and broken layers are refused as bad input naming the entry,
// leave no layer behind, and write nothing outside the layer directory.
func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	cases := imagetest.BadImages(t, dir, outside)
	for _, name := range []string{"vfs", "overlay2"} {
		for _, c := range cases {
			t.Run(name+"/"+c.Name, func(t *testing.T) {
				reg, _ := drivers.Lookup(name)
				d := drivertest.New(t, name, reg.Factory, drivers.Options{})
				err := importAll(t, d, c.Path)
				require.Error(t, err)
				t.Log(err)
				assert.True(t, images.IsBadInput(err), "bad input: %v", err)
				assert.Contains(t, err.Error(), c.Path)
				if c.Entry != "" {
					assert.Contains(t, err.Error(), fmt.Sprintf("%q", c.Entry))
				}
				assert.NotContains(t, strings.TrimSpace(err.Error()), "\n", "one line")
				left, err := os.ReadDir(outside)
				require.NoError(t, err)
				assert.Empty(t, left, "nothing written outside the layer")
				_, err = d.Depth(images.LayerID("img", 0))
				assert.ErrorIs(t, err, drivers.ErrUnknownLayer, "no layer left behind")
			})
		}
	}
}

func importAll(t *testing.T, d drivers.Driver, p string) error {
	im, err := images.Open(p, t.TempDir())
	if err != nil {
		return err
	}
	defer im.Close()
	_, err = im.Import(context.Background(), d, "img")
	return err
}

// ImportIDs names each layer as told (the parity test makes them under
// Docker's cache ids), and refuses a list of ids that is not one per layer
// before it makes anything.
func TestImportIDs(t *testing.T) {
	dir := t.TempDir()
	var tars []string
	for i, l := range []*layerspec.Layer{
		{Entries: []layerspec.Entry{{Path: "etc", Kind: layerspec.Dir}, {Path: "etc/a", Kind: layerspec.File, Size: 10, Seed: 1}}},
		{Entries: []layerspec.Entry{{Path: "etc", Kind: layerspec.Dir}, {Path: "etc/a", Kind: layerspec.Delete}, {Path: "etc/b", Kind: layerspec.File, Size: 20, Seed: 2}}},
	} {
		p := filepath.Join(dir, fmt.Sprintf("layer%d.tar", i))
		f, err := os.Create(p)
		require.NoError(t, err)
		require.NoError(t, layerspec.WriteTar(f, l))
		require.NoError(t, f.Close())
		tars = append(tars, p)
	}
	save := filepath.Join(dir, "save.tar")
	require.NoError(t, imagetest.WriteDockerSave(save, tars))
	im := open(t, save)
	reg, _ := drivers.Lookup("overlay2")
	d := drivertest.New(t, "overlay2", reg.Factory, drivers.Options{})
	ctx := context.Background()

	_, err := im.ImportIDs(ctx, d, []string{"only-one"})
	require.ErrorContains(t, err, "1 layer ids for 2 layers")
	_, err = d.Depth("only-one")
	require.ErrorIs(t, err, drivers.ErrUnknownLayer, "nothing made for a wrong id list")

	ids := []string{strings.Repeat("a", 64), strings.Repeat("b", 64)}
	top, err := im.ImportIDs(ctx, d, ids)
	require.NoError(t, err)
	assert.Equal(t, ids[1], top)
	for i, id := range ids {
		depth, err := d.Depth(id)
		require.NoError(t, err, id)
		assert.Equal(t, i+1, depth, id)
	}
	_, err = d.Depth(images.LayerID("img", 0))
	assert.ErrorIs(t, err, drivers.ErrUnknownLayer, "no prefix-named layer")
	require.NoError(t, drivers.NewContainer(ctx, d, "c", top))
	merged, err := d.Mount(ctx, "c")
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(merged, "etc/a"))
	assert.FileExists(t, filepath.Join(merged, "etc/b"))
	require.NoError(t, d.Unmount("c"))
	require.NoError(t, drivers.RemoveContainer(d, "c"))
	for i := len(ids) - 1; i >= 0; i-- {
		require.NoError(t, d.Remove(ids[i]))
	}
}
