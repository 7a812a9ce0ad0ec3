package mountutil

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, Mount("tmpfs", dir, "tmpfs", 0, "size=1m"))
}

func isMounted(t *testing.T, dir string) bool {
	t.Helper()
	m, err := IsMountPoint(dir)
	require.NoError(t, err)
	return m
}

// fewerRetries makes a test that expects Unmount to give up quicker.
func fewerRetries(t *testing.T, n int) {
	old := busyTries
	busyTries = n
	t.Cleanup(func() { busyTries = old })
}

func TestUnmountWaitsOutATransientEBUSY(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "m")
	mountTmpfs(t, dir)
	t.Cleanup(func() { UnmountAll(dir) })
	f, err := os.Create(filepath.Join(dir, "held"))
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() { done <- Unmount(dir) }()
	select {
	case err := <-done:
		t.Fatalf("Unmount returned %v while a file was open inside", err)
	case <-time.After(200 * time.Millisecond):
	}
	assert.True(t, isMounted(t, dir))
	require.NoError(t, f.Close())
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(time.Duration(busyTries) * busyWait * 2):
		t.Fatal("Unmount did not finish after the file was closed")
	}
	assert.False(t, isMounted(t, dir))
}

func TestUnmountNamesWhoHoldsABusyMount(t *testing.T) {
	requireRoot(t)
	fewerRetries(t, 3)
	dir := filepath.Join(t.TempDir(), "m")
	mountTmpfs(t, dir)
	t.Cleanup(func() { assert.NoError(t, Unmount(dir)) })
	held := filepath.Join(dir, "held")
	f, err := os.Create(held)
	require.NoError(t, err)
	defer f.Close()

	err = Unmount(dir)
	require.ErrorIs(t, err, unix.EBUSY)
	// /proc is the host's, so the holder is named by its pid there, which
	// inside the sandbox's pid namespace differs from os.Getpid().
	self, err2 := os.Readlink("/proc/self")
	require.NoError(t, err2)
	assert.Contains(t, err.Error(), "pid "+self+" ")
	assert.Contains(t, err.Error(), fmt.Sprintf("fd %d (%s)", f.Fd(), held))
	assert.Contains(t, err.Error(), "after 3 tries")
	assert.True(t, isMounted(t, dir), "a busy mount must stay mounted")
}

func TestUnmountFailsFastWhenSomethingIsMountedBelow(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "m")
	mountTmpfs(t, dir)
	mountTmpfs(t, filepath.Join(dir, "sub"))
	t.Cleanup(func() { assert.NoError(t, UnmountAll(dir)) })

	start := time.Now()
	err := Unmount(dir)
	require.ErrorIs(t, err, unix.EBUSY)
	assert.Contains(t, err.Error(), filepath.Join(dir, "sub"))
	assert.Less(t, time.Since(start), time.Duration(busyTries)*busyWait/2, "retrying cannot help here")
}

func TestUnmountOfWhatIsNotMounted(t *testing.T) {
	requireRoot(t)
	assert.NoError(t, Unmount(t.TempDir()), "EINVAL (not a mount point) is not an error")
	err := Unmount(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "a path that does not exist is probably a caller's bug")
}

func TestUnmountAllNestedDeepestFirst(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	top := filepath.Join(root, "a")
	// The sibling shares a string prefix with top but is not below it.
	sibling := filepath.Join(root, "ab")
	mountTmpfs(t, sibling)
	t.Cleanup(func() { assert.NoError(t, Unmount(sibling)) })

	mountTmpfs(t, top)
	mountTmpfs(t, filepath.Join(top, "b"))
	mountTmpfs(t, filepath.Join(top, "b", "c"))
	mountTmpfs(t, filepath.Join(top, "b")) // stacked on b, hiding c
	mountTmpfs(t, filepath.Join(top, "d"))
	mounts, err := MountsUnder(top)
	require.NoError(t, err)
	require.Len(t, mounts, 5)

	require.NoError(t, UnmountAll(top))
	mounts, err = MountsUnder(top)
	require.NoError(t, err)
	assert.Empty(t, mounts)
	assert.True(t, isMounted(t, sibling), "UnmountAll went past its prefix")
	assert.NoError(t, UnmountAll(top), "nothing left is nothing to do")
}

func TestUnmountAllDetachesABusyMountAsALastResortAndSaysSo(t *testing.T) {
	requireRoot(t)
	fewerRetries(t, 3)
	dir := filepath.Join(t.TempDir(), "m")
	mountTmpfs(t, dir)
	f, err := os.Create(filepath.Join(dir, "held"))
	require.NoError(t, err)
	defer f.Close()

	err = UnmountAll(dir)
	require.ErrorIs(t, err, ErrDetached)
	assert.ErrorIs(t, err, unix.EBUSY)
	assert.Contains(t, err.Error(), dir)
	assert.False(t, isMounted(t, dir), "detached mounts leave the mount table")
	// ...but the filesystem itself is alive as long as the file is open.
	_, err = f.WriteString("still here")
	assert.NoError(t, err)
}

func TestMountsUnderNormalizesThePrefix(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	dir := filepath.Join(root, "m")
	mountTmpfs(t, dir)
	t.Cleanup(func() { assert.NoError(t, Unmount(dir)) })
	link := filepath.Join(root, "link")
	require.NoError(t, os.Symlink("m", link))

	for _, prefix := range []string{dir, dir + "/", link, root + "/./m/../m"} {
		mounts, err := MountsUnder(prefix)
		require.NoError(t, err, prefix)
		if assert.Len(t, mounts, 1, prefix) {
			assert.Equal(t, dir, mounts[0].Mountpoint)
			assert.Equal(t, "tmpfs", mounts[0].FSType)
		}
	}
	mounts, err := MountsUnder(filepath.Join(root, "missing"))
	assert.NoError(t, err)
	assert.Empty(t, mounts)
}
