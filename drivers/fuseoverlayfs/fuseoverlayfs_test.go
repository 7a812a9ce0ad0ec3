package fuseoverlayfs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/drivertest"
	"github.com/unionbench/unionbench/drivers/overlay2"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/layerspec"
)

func newTestDriver(t *testing.T, opts drivers.Options) *overlay2.Driver {
	return drivertest.New(t, Name, New, opts).(*overlay2.Driver)
}

func TestParseVersion(t *testing.T) {
	v, err := parseVersion("fuse-overlayfs: version 1.10\nFUSE library version 3.14.0\nusing FUSE kernel interface version 7.31\n")
	require.NoError(t, err)
	assert.Equal(t, "1.10", v)
	_, err = parseVersion("something else\n")
	assert.ErrorContains(t, err, "no \"fuse-overlayfs: version X\" line")
}

func TestVersion(t *testing.T) {
	if _, err := exec.LookPath(Program); err != nil {
		t.Skip("fuse-overlayfs not installed")
	}
	v, err := Version()
	require.NoError(t, err)
	assert.Regexp(t, `^\d+\.\d+`, v)
	t.Logf("fuse-overlayfs %s", v)
}

// TestLayoutOnDisk checks what differs from overlay2: .wh. whiteouts in
// diff/, work/ 0710, and Docker's fuse-overlayfs mount data (absolute,
// no index=off).
func TestLayoutOnDisk(t *testing.T) {
	d := newTestDriver(t, drivers.Options{})
	l := d.Layout()
	require.NoError(t, d.Create(t.Context(), "base", "", &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "a/gone", Kind: layerspec.File}, {Path: "o/x", Kind: layerspec.File},
	}}))
	require.NoError(t, d.Create(t.Context(), "top", "base", &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "a/gone", Kind: layerspec.Delete}, {Path: "o", Kind: layerspec.Opaque},
	}}))
	for _, p := range []string{"a/.wh.gone", "o/.wh..wh..opq"} {
		fi, err := os.Lstat(filepath.Join(l.Path("top", overlay2.DiffDir), p))
		require.NoError(t, err, p)
		assert.True(t, fi.Mode().IsRegular(), p)
	}
	fi, err := os.Lstat(l.Path("top", overlay2.WorkDir))
	require.NoError(t, err)
	assert.Equal(t, os.ModeDir|0o710, fi.Mode())
	assert.Equal(t, "l/"+overlay2.LinkID("base"), string(must(os.ReadFile(l.Path("top", overlay2.LowerFile)))))

	spec, ok, err := d.MountSpec("top")
	require.NoError(t, err)
	require.True(t, ok)
	root := d.Root()
	assert.Equal(t, fmt.Sprintf("lowerdir=%s/l/%s,upperdir=%s/top/diff,workdir=%s/top/work", root, overlay2.LinkID("base"), root, root), spec.Data(false))

	dir, err := d.Mount(t.Context(), "top")
	require.NoError(t, err)
	names, err := os.ReadDir(filepath.Join(dir, "a"))
	require.NoError(t, err)
	assert.Empty(t, names, "the .wh. file hides a/gone and is itself hidden")
	names, err = os.ReadDir(filepath.Join(dir, "o"))
	require.NoError(t, err)
	assert.Empty(t, names, "o is opaque")
	mounts, err := mountutil.MountsUnder(dir)
	require.NoError(t, err)
	require.Len(t, mounts, 1)
	assert.Equal(t, "fuse.fuse-overlayfs", mounts[0].FSType)

	require.NoError(t, d.Unmount("top"))
}

// TestContainerDeletesBecomeCharDevices: what fuse-overlayfs writes
// itself, as root, when a container deletes a lower file is overlay's 0/0
// character device, whatever format the image layers use.
func TestContainerDeletesBecomeCharDevices(t *testing.T) {
	d := newTestDriver(t, drivers.Options{})
	require.NoError(t, d.Create(t.Context(), "img", "", &layerspec.Layer{Entries: []layerspec.Entry{{Path: "etc/f", Kind: layerspec.File}}}))
	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img"))
	dir, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(dir, "etc/f")))
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(d.Layout().Path("c", overlay2.DiffDir)+"/etc/f", &st))
	assert.Equal(t, uint32(unix.S_IFCHR), st.Mode&unix.S_IFMT)
	assert.Equal(t, uint64(0), st.Rdev)
}

// TestDeepStacks mounts Docker's deepest stack (128 lowers) and one of the
// kernel overlay's maximum, 500 lowers, and reads the bottom layer's file.
func TestDeepStacks(t *testing.T) {
	for _, depth := range []int{DockerMaxLowers + 1, 501} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			d := newTestDriver(t, drivers.Options{MaxDepth: depth})
			parent := ""
			for i := 0; i < depth-2; i++ {
				id := fmt.Sprintf("layer%03d", i)
				require.NoError(t, d.Create(t.Context(), id, parent, &layerspec.Layer{Entries: []layerspec.Entry{{Path: fmt.Sprintf("f%03d", i), Kind: layerspec.File, Size: 4, Seed: 1}}}))
				parent = id
			}
			require.NoError(t, drivers.NewContainer(t.Context(), d, "c", parent))
			dir, err := d.Mount(t.Context(), "c")
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(dir, "f000"))
			require.NoError(t, err)
			assert.Len(t, got, 4)
			var de *drivers.DepthError
			assert.ErrorAs(t, d.CreateReadWrite(t.Context(), "one-more", "c", nil), &de)
		})
	}
}

func TestFactoryRefusals(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	_, err := New("/var/lib/docker/fuse-overlayfs", drivers.Options{})
	assert.ErrorContains(t, err, "/var/lib/docker")
	_, err = New(t.TempDir(), drivers.Options{MaxDepth: MaxLowers + 2})
	assert.ErrorContains(t, err, "limit of 4097")
	_, err = New(t.TempDir(), drivers.Options{MountOptions: []string{"upperdir=/x"}})
	assert.ErrorContains(t, err, "set by the driver")
}

func TestNotInstalledIsNotSupported(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	t.Setenv("PATH", t.TempDir())
	_, err := New(t.TempDir(), drivers.Options{})
	require.ErrorIs(t, err, drivers.ErrNotSupported)
	assert.ErrorContains(t, err, "fuse-overlayfs not installed (Debian package fuse-overlayfs)")
}

func TestMountArgumentLimit(t *testing.T) {
	spec := overlay2.MountSpec{Root: "/r", Upper: "c/diff", Work: "c/work", Target: "c/merged",
		Lowers: strings.Split(strings.Repeat("l/"+overlay2.LinkID("x")+":", 5000), ":")[:5000]}
	err := Mount(spec)
	assert.ErrorContains(t, err, "MAX_ARG_STRLEN")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
