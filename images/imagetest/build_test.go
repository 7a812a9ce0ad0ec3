package imagetest

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/sandbox"
)

func TestMain(m *testing.M) { sandbox.RunTests(m) }

// TestDockerWroteTheFormats reads the layer tars Docker itself wrote into
// the `docker save` archive and checks that they carry what the image
// promises, in Docker's own representation: whiteouts, opaque markers,
// the capability as a PAX xattr record, a hard link, a fifo and a device.
func TestDockerWroteTheFormats(t *testing.T) {
	im := Build(t)
	files := tarFiles(t, im.DockerSave, func(name string) bool {
		return name == "manifest.json" || strings.HasSuffix(name, "/layer.tar")
	})
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	require.NoError(t, json.Unmarshal(files["manifest.json"], &manifest))
	require.Len(t, manifest, 1)
	assert.Equal(t, []string{Tag}, manifest[0].RepoTags)
	require.Len(t, manifest[0].Layers, LayerCount, "the imported rootfs and one layer per RUN")
	var layers []map[string]*tar.Header
	for _, l := range manifest[0].Layers {
		layers = append(layers, layerEntries(t, l, files[l]))
	}

	assert.True(t, has(layers[0], "usr/sbin/setcap"), "the base layer is mmdebstrap's rootfs with libcap2-bin")
	assert.True(t, has(layers[0], OpaqueDir), OpaqueDir)

	app := layers[1]
	var small int
	for name, h := range app {
		if strings.HasPrefix(name, "app/small/f") {
			small++
			assert.Equal(t, int64(1024), h.Size, name)
		}
	}
	assert.Equal(t, SmallFiles, small)
	require.True(t, has(app, BigFile), BigFile)
	assert.Equal(t, int64(BigSize), app[BigFile].Size)
	require.True(t, has(app, HardLink), HardLink)
	require.True(t, has(app, HardTarget), HardTarget)
	// Docker writes the first name it meets as the file and the other as a
	// link to it: which is which depends on the directory's order.
	link, target := app[HardLink], HardTarget
	if link.Typeflag != tar.TypeLink {
		link, target = app[HardTarget], HardLink
	}
	assert.Equal(t, byte(tar.TypeLink), link.Typeflag)
	assert.Equal(t, target, link.Linkname)
	require.True(t, has(app, CapFile), CapFile)
	capv := app[CapFile].PAXRecords["SCHILY.xattr.security.capability"]
	require.Len(t, capv, 20, "a VFS_CAP_REVISION_2 value, as setcap writes it")
	assert.Equal(t, uint32(0x02000001), binary.LittleEndian.Uint32([]byte(capv[0:4])), "revision 2, effective")
	assert.Equal(t, uint32(1<<13), binary.LittleEndian.Uint32([]byte(capv[4:8])), "cap_net_raw permitted")
	require.True(t, has(app, "app/dev/fifo"), "app/dev/fifo")
	assert.Equal(t, byte(tar.TypeFifo), app["app/dev/fifo"].Typeflag)
	require.True(t, has(app, "app/dev/null"), "app/dev/null")
	assert.Equal(t, byte(tar.TypeChar), app["app/dev/null"].Typeflag)
	assert.Equal(t, [2]int64{1, 3}, [2]int64{app["app/dev/null"].Devmajor, app["app/dev/null"].Devminor})
	assert.Equal(t, "/app/bin", app["app/current"].Linkname)
	assert.Equal(t, "bin/tool", app["app/rel"].Linkname)

	clean := layers[2]
	for i := 0; i < Deleted; i++ {
		wh := fmt.Sprintf("app/small/.wh.f%04d", i)
		assert.True(t, has(clean, wh), wh)
	}
	kept := fmt.Sprintf("app/small/.wh.f%04d", Deleted)
	assert.False(t, has(clean, kept), kept)
	var docs int
	for name := range clean {
		if strings.HasPrefix(name, "usr/share/doc/.wh.") {
			docs++
		}
	}
	assert.Equal(t, 5, docs, "whiteouts of base directories")
	for _, d := range []string{OpaqueDir, "app/conf"} {
		assert.True(t, has(clean, d+"/.wh..wh..opq"), "Docker records the replaced %s as opaque", d)
	}
	assert.True(t, has(clean, OpaqueKept), OpaqueKept)
	assert.True(t, has(clean, "app/conf/new.conf"), "app/conf/new.conf")

	last := layers[3]
	require.True(t, has(last, RecreatedDel), RecreatedDel)
	assert.Equal(t, int64(0o600), last[RecreatedDel].Mode&0o7777)
	assert.True(t, has(last, "etc/unionbench-release"), "etc/unionbench-release")
}

// TestSkopeoCompressed checks what skopeo wrote: gzip layers in the layout
// directory and zstd in the layout tar (--dest-compress-format zstd), by
// the manifests' media types and by the blobs' own magic numbers.
func TestSkopeoCompressed(t *testing.T) {
	im := Build(t)
	dir := map[string][]byte{}
	require.NoError(t, filepath.Walk(im.OCIDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(im.OCIDir, p)
		dir[rel], err = readHead(p, fi.Size())
		return err
	}))
	gzipMagic, zstdMagic := []byte{0x1f, 0x8b}, []byte{0x28, 0xb5, 0x2f, 0xfd}
	for form, want := range map[string]struct {
		files map[string][]byte
		mt    string
		magic []byte
	}{
		"layout directory": {dir, "application/vnd.oci.image.layer.v1.tar+gzip", gzipMagic},
		"layout tar":       {tarFiles(t, im.OCITar, func(string) bool { return true }), "application/vnd.oci.image.layer.v1.tar+zstd", zstdMagic},
	} {
		var index struct{ Manifests []struct{ Digest string } }
		require.NoError(t, json.Unmarshal(want.files["index.json"], &index), form)
		require.Len(t, index.Manifests, 1, form)
		var manifest struct {
			Layers []struct{ MediaType, Digest string }
		}
		require.NoError(t, json.Unmarshal(want.files[blobPath(index.Manifests[0].Digest)], &manifest), form)
		require.Len(t, manifest.Layers, LayerCount, form)
		for i, l := range manifest.Layers {
			assert.Equal(t, want.mt, l.MediaType, "%s layer %d", form, i)
			assert.True(t, bytes.HasPrefix(want.files[blobPath(l.Digest)], want.magic), "%s layer %d starts % x", form, i, want.files[blobPath(l.Digest)])
		}
	}
}

func blobPath(digest string) string { return "blobs/" + strings.Replace(digest, ":", "/", 1) }

// readHead reads a file whole if it is small (an OCI layout's JSON) and
// its first bytes otherwise (a layer blob, for its magic number).
func readHead(p string, size int64) ([]byte, error) {
	if size <= 1<<20 {
		return os.ReadFile(p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, 4)
	_, err = io.ReadFull(f, b)
	return b, err
}

// tarFiles reads the regular files of the tar at p that keep says to keep:
// layer.tar entries whole, others whole up to 1 MiB and their first bytes
// beyond that (a layer blob of an OCI layout, for its magic number).
func tarFiles(t *testing.T, p string, keep func(string) bool) map[string][]byte {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err, p)
		name := strings.TrimPrefix(h.Name, "./")
		if h.Typeflag != tar.TypeReg || !keep(name) {
			continue
		}
		var r io.Reader = tr
		if h.Size > 1<<20 && !strings.HasSuffix(name, "/layer.tar") {
			r = io.LimitReader(tr, 4)
		}
		b, err := io.ReadAll(r)
		require.NoError(t, err, p)
		out[name] = b
	}
}

// layerEntries is a layer tar's entries by cleaned name (mmdebstrap's
// base layer has "./" prefixes, Docker's own layers none).
func layerEntries(t *testing.T, name string, b []byte) map[string]*tar.Header {
	t.Helper()
	require.NotEmpty(t, b, name)
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err, name)
		out[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = h
	}
}

// has reports whether a layer has an entry name; a failed assertion on it
// names the entry rather than printing the whole layer.
func has(layer map[string]*tar.Header, name string) bool {
	_, ok := layer[name]
	return ok
}
