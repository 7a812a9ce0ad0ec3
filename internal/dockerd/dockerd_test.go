package dockerd

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
)

func TestMain(m *testing.M) { sandbox.RunTests(m) }

// TestStartStop starts a vfs daemon (the one driver that needs nothing of
// the kernel), checks it runs on its own data root with the driver asked
// for, and that Stop leaves neither a mount nor a file.
func TestStartStop(t *testing.T) {
	d := StartT(t, "vfs")
	out, err := d.Docker(t.Context(), "info", "--format", "{{.Driver}} {{.DockerRootDir}}")
	require.NoError(t, err)
	assert.Equal(t, "vfs "+d.DataRoot, strings.TrimSpace(string(out)))
	assert.DirExists(t, d.DriverRoot())
	assert.NotContains(t, d.DataRoot, "/var/lib/docker")

	require.NoError(t, d.Stop())
	_, err = os.Stat(d.Dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "Stop removes the scratch directory")
	mounts, err := mountutil.MountsUnder(d.Dir)
	require.NoError(t, err)
	assert.Empty(t, mounts)
	require.NoError(t, d.Stop(), "a second Stop is harmless")
}

// TestDataRootIn: the data root goes where it is asked (a benchmark's
// backing fs), Docker uses it, and Stop removes it while leaving the
// directory it was made in.
func TestDataRootIn(t *testing.T) {
	in := t.TempDir()
	d := StartT(t, "vfs", DataRootIn(in))
	assert.Equal(t, in, filepath.Dir(d.DataRoot))
	out, err := d.Docker(t.Context(), "info", "--format", "{{.DockerRootDir}}")
	require.NoError(t, err)
	assert.Equal(t, d.DataRoot, strings.TrimSpace(string(out)))
	assert.DirExists(t, d.DriverRoot())
	assert.NoDirExists(t, filepath.Join(d.Dir, "data"), "nothing of the data root in the scratch directory")

	require.NoError(t, d.Stop())
	assert.NoDirExists(t, d.DataRoot)
	assert.NoDirExists(t, d.Dir)
	assert.DirExists(t, in)
}

// TestUnknownDriverFailsWithTheLog: a daemon that cannot start says why
// (its log's last lines) and leaves nothing.
func TestUnknownDriverFailsWithTheLog(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	parent := t.TempDir()
	_, err := Start(t.Context(), parent, "no-such-driver")
	require.Error(t, err)
	assert.ErrorContains(t, err, "no-such-driver")
	left, rerr := os.ReadDir(parent)
	require.NoError(t, rerr)
	assert.Empty(t, left)
}

// testDockerfile's steps make what the issue asks of the test image:
// files deleted (whiteouts), a directory replaced (opaque), hard links, a
// large file and many small files.
const testDockerfile = `FROM busybox-rootfs
RUN mkdir -p /data/replaced /data/small && echo keep > /data/replaced/old && echo gone > /data/gone && \
    dd if=/dev/zero of=/data/large bs=1M count=8 2>/dev/null && \
    for i in $(seq 1 200); do echo $i > /data/small/f$i; done
RUN rm /data/gone /data/small/f1 && rm -r /data/replaced && mkdir /data/replaced && echo new > /data/replaced/new && \
    ln /data/large /data/large.link
`

// TestBuildAndSave builds a multi-layer image with Docker itself (RUN
// steps need a working runtime: runc, containerd's shim and a /proc of
// the sandbox's PID namespace) and checks that `docker save` holds its
// whiteouts, the opaque marker and the hard link.
func TestBuildAndSave(t *testing.T) {
	d := StartT(t, "overlay2")
	dir := t.TempDir()
	busybox := testenv.NeedTool(t, "busybox", "busybox-static")
	require.NoError(t, BusyboxRootfs(busybox, filepath.Join(dir, "rootfs.tar")))
	require.NoError(t, d.Import(t.Context(), filepath.Join(dir, "rootfs.tar"), "busybox-rootfs"))
	require.NoError(t, d.Build(t.Context(), testDockerfile, "parity-build"))
	archive := filepath.Join(dir, "image.tar")
	require.NoError(t, d.Save(t.Context(), "parity-build", archive))

	layers := savedLayers(t, archive)
	require.Len(t, layers, 3, "the imported rootfs and one layer per RUN")
	top := layers[2]
	for _, name := range []string{"data/.wh.gone", "data/small/.wh.f1", "data/replaced/.wh..wh..opq", "data/replaced/new"} {
		assert.Contains(t, top, name)
	}
	assert.Equal(t, byte(tar.TypeLink), top["data/large.link"].Typeflag, "a hard link to the file the layer also carries")
	assert.Equal(t, int64(8<<20), layers[1]["data/large"].Size)
	assert.GreaterOrEqual(t, len(layers[1]), 200)
}

// savedLayers reads each layer tar of a `docker save` archive, in the
// manifest's order, as name -> header.
func savedLayers(t *testing.T, archive string) []map[string]*tar.Header {
	t.Helper()
	files := map[string][]byte{}
	f, err := os.Open(archive)
	require.NoError(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if h.Name == "manifest.json" || strings.HasSuffix(h.Name, "/layer.tar") {
			b, err := io.ReadAll(tr)
			require.NoError(t, err)
			files[h.Name] = b
		}
	}
	var manifest []struct{ Layers []string }
	require.NoError(t, json.Unmarshal(files["manifest.json"], &manifest))
	require.Len(t, manifest, 1)
	var out []map[string]*tar.Header
	for _, l := range manifest[0].Layers {
		entries := map[string]*tar.Header{}
		lr := tar.NewReader(bytes.NewReader(files[l]))
		for {
			h, err := lr.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err, l)
			entries[strings.TrimSuffix(h.Name, "/")] = h
		}
		out = append(out, entries)
	}
	return out
}
