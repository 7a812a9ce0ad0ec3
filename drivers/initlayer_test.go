package drivers

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestSetupInitLayerKeepsTheImagesDirectories runs the setup on a plain
// directory standing for a mounted init layer (what vfs mounts) over an
// image with its own /etc (0751, group 4), /etc/hosts, an /etc/mtab file
// and /sys (0555), and no /dev or /proc: the image's directories keep their
// attributes, its files are made anew, and what it lacks is made 0755.
func TestSetupInitLayerKeepsTheImagesDirectories(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the image's directories are owned by other groups")
	}
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "etc"), 0o751))
	require.NoError(t, os.Chmod(filepath.Join(dir, "etc"), 0o751))
	require.NoError(t, os.Chown(filepath.Join(dir, "etc"), 0, 4))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/hosts"), []byte("127.0.0.1 image\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/mtab"), []byte("a file"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sys"), 0o555))
	require.NoError(t, os.Chmod(filepath.Join(dir, "sys"), 0o555))

	require.NoError(t, SetupInitLayer(dir))

	mode := func(p string) (uint32, uint32) {
		var st unix.Stat_t
		require.NoError(t, unix.Lstat(filepath.Join(dir, p), &st), p)
		return st.Mode, st.Gid
	}
	m, gid := mode("etc")
	assert.Equal(t, uint32(unix.S_IFDIR|0o751), m, "the image's /etc keeps its mode")
	assert.Equal(t, uint32(4), gid, "and its group")
	m, _ = mode("sys")
	assert.Equal(t, uint32(unix.S_IFDIR|0o555), m, "a directory the image has is left alone")
	for _, p := range []string{"dev", "dev/pts", "dev/shm", "proc"} {
		m, _ := mode(p)
		assert.Equal(t, uint32(unix.S_IFDIR|0o755), m, "%s made where the image lacks it", p)
	}
	for _, p := range []string{".dockerenv", "dev/console", "etc/hostname", "etc/hosts", "etc/resolv.conf"} {
		m, _ := mode(p)
		assert.Equal(t, uint32(unix.S_IFREG|0o755), m, p)
		fi, err := os.Stat(filepath.Join(dir, p))
		require.NoError(t, err)
		assert.Zero(t, fi.Size(), "%s is made anew, empty", p)
	}
	target, err := os.Readlink(filepath.Join(dir, "etc/mtab"))
	require.NoError(t, err, "the image's /etc/mtab file is replaced by the symlink")
	assert.Equal(t, "/proc/mounts", target)

	require.NoError(t, SetupInitLayer(dir), "a second setup finds everything in place")
}

// TestSetupInitLayerDoesNotFollowTheImagesSymlinks: an image whose /etc
// is a symlink out of the layer gets a real /etc, and nothing is written
// where the symlink points.
func TestSetupInitLayerDoesNotFollowTheImagesSymlinks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "etc")))
	require.NoError(t, SetupInitLayer(dir))
	fi, err := os.Lstat(filepath.Join(dir, "etc"))
	require.NoError(t, err)
	assert.True(t, fi.IsDir(), "the symlink is unlinked and a directory made")
	left, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Empty(t, left)
}
