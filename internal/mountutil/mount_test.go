package mountutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestMountErrorCarriesTheWholeCallAndUnwrapsToErrno(t *testing.T) {
	var err error = &MountError{Op: "mount", Source: "overlay", Target: "/m", FSType: "overlay",
		Flags: unix.MS_RDONLY, Data: "lowerdir=/a:/b", Err: unix.EXDEV}
	err = fmt.Errorf("driver: %w", fmt.Errorf("layer 7: %w", err))

	assert.True(t, errors.Is(err, unix.EXDEV))
	assert.False(t, errors.Is(err, unix.EINVAL))
	var me *MountError
	require.True(t, errors.As(err, &me))
	assert.Equal(t, "/m", me.Target)
	assert.Equal(t, "driver: layer 7: mount src=overlay, dst=/m, type=overlay, flags=0x1, data=lowerdir=/a:/b: invalid cross-device link", err.Error())
}

func TestDataFitsIsOnePageIncludingNUL(t *testing.T) {
	page := unix.Getpagesize()
	assert.True(t, DataFits(""))
	assert.True(t, DataFits(strings.Repeat("a", page-1)))
	assert.False(t, DataFits(strings.Repeat("a", page)))
}

func TestMountRefusesLongDataWithoutCallingTheKernel(t *testing.T) {
	page := unix.Getpagesize()
	data := "lowerdir=" + strings.Repeat("x", page)
	missing := filepath.Join(t.TempDir(), "missing")
	for name, mount := range map[string]func() error{
		"Mount":   func() error { return Mount("none", missing, "tmpfs", 0, data) },
		"MountAt": func() error { return MountAt(t.TempDir(), "none", missing, "tmpfs", 0, data) },
	} {
		t.Run(name, func(t *testing.T) {
			err := mount()
			require.ErrorIs(t, err, ErrDataTooLong)
			// The kernel would have said ENOENT (root) or EPERM (not root).
			assert.NotErrorIs(t, err, unix.ENOENT)
			assert.NotErrorIs(t, err, unix.EPERM)
			assert.Contains(t, err.Error(), fmt.Sprintf("%d bytes", len(data)))
			assert.Contains(t, err.Error(), fmt.Sprintf("at most %d", page-1))
		})
	}
}

func TestParseOptionsSplitsFlagsFromData(t *testing.T) {
	for _, tc := range []struct {
		in    string
		flags uintptr
		data  string
	}{
		{"", 0, ""},
		{"size=1m", 0, "size=1m"},
		{"noatime,size=1m,,nr_inodes=10,nodev", unix.MS_NOATIME | unix.MS_NODEV, "size=1m,nr_inodes=10"},
		{"ro,rw", 0, ""},
		{"rw,ro", unix.MS_RDONLY, ""},
		{"lowerdir=/a:/b,upperdir=/u,workdir=/w,index=on", 0, "lowerdir=/a:/b,upperdir=/u,workdir=/w,index=on"},
	} {
		flags, data := ParseOptions(tc.in)
		assert.Equal(t, tc.flags, flags, tc.in)
		assert.Equal(t, tc.data, data, tc.in)
	}
}

func TestMountAndUnmountTmpfs(t *testing.T) {
	requireRoot(t)
	dir := filepath.Join(t.TempDir(), "m")
	require.NoError(t, os.Mkdir(dir, 0o755))
	t.Cleanup(func() { assert.NoError(t, Unmount(dir)) })

	flags, data := ParseOptions("nodev,size=1m")
	require.NoError(t, Mount("tmpfs", dir, "tmpfs", flags, data))
	mounted, err := IsMountPoint(dir)
	require.NoError(t, err)
	assert.True(t, mounted)
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &st))
	assert.Equal(t, int64(unix.TMPFS_MAGIC), int64(st.Type))
	assert.Equal(t, int64(1<<20), int64(st.Blocks)*st.Bsize)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("on tmpfs"), 0o644))

	require.NoError(t, Unmount(dir))
	mounted, err = IsMountPoint(dir)
	require.NoError(t, err)
	assert.False(t, mounted)
	assert.NoFileExists(t, filepath.Join(dir, "f"), "the file lived on the tmpfs, not in the directory below")
	assert.NoError(t, Unmount(dir), "unmounting what is not mounted is not an error")
}

func TestMountUnknownFSTypeUnwrapsToENODEV(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	err := Mount("none", dir, "nosuchfs", 0, "")
	require.ErrorIs(t, err, unix.ENODEV)
	var me *MountError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, "nosuchfs", me.FSType)
	assert.Equal(t, dir, me.Target)
	assert.Contains(t, err.Error(), "type=nosuchfs")
}

// overlayStack makes root/l/<id>/ lower directories (bottom layer first,
// each holding a file named after it), root/upper, root/work, root/merged.
func overlayStack(t *testing.T, root string, ids []string) {
	t.Helper()
	for _, d := range []string{"upper", "work", "merged"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	for _, id := range ids {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "l", id), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, "l", id, "from-"+id), []byte(id), 0o644))
	}
}

// lowerdir lists ids top layer first, as overlay wants, each prefixed.
func lowerdir(prefix string, ids []string) string {
	var parts []string
	for i := len(ids) - 1; i >= 0; i-- {
		parts = append(parts, prefix+ids[i])
	}
	return strings.Join(parts, ":")
}

func TestMountAtResolvesRelativePathsAndLeavesCwdAlone(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	ids := []string{"base", "mid", "top"}
	overlayStack(t, root, ids)
	data := "lowerdir=" + lowerdir("l/", ids) + ",upperdir=upper,workdir=work"
	cwd, err := os.Getwd()
	require.NoError(t, err)
	require.NotEqual(t, root, cwd)

	// From the test's own cwd these relative paths name nothing.
	err = Mount("overlay", filepath.Join(root, "merged"), "overlay", 0, data)
	require.Error(t, err, "relative lowerdirs must not resolve against the test's cwd")

	merged := filepath.Join(root, "merged")
	t.Cleanup(func() { assert.NoError(t, Unmount(merged)) })
	require.NoError(t, MountAt(root, "overlay", "merged", "overlay", 0, data))

	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(merged, "from-"+id))
		require.NoError(t, err)
		assert.Equal(t, id, string(b))
	}
	after, err := os.Getwd()
	require.NoError(t, err)
	assert.Equal(t, cwd, after, "MountAt changed the process's working directory")
	// /proc/<pid>/cwd shows the main thread's, which Getwd need not.
	procCwd, err := os.Readlink("/proc/self/cwd")
	require.NoError(t, err)
	assert.Equal(t, cwd, procCwd)
	// The thread that chdir'ed must die with its goroutine rather than go
	// back into the runtime's pool with root as its cwd.
	assert.Eventually(t, func() bool { return len(threadsWithCwd(t, root)) == 0 }, 2*time.Second, 10*time.Millisecond,
		"a thread with cwd %s outlived MountAt", root)
}

// threadsWithCwd lists this process's threads whose working directory is dir.
func threadsWithCwd(t *testing.T, dir string) []string {
	tasks, err := os.ReadDir("/proc/self/task")
	require.NoError(t, err)
	var found []string
	for _, task := range tasks {
		if wd, err := os.Readlink(filepath.Join("/proc/self/task", task.Name(), "cwd")); err == nil && wd == dir {
			found = append(found, task.Name())
		}
	}
	return found
}

// TestMountAtMountsStacksTooDeepForAbsolutePaths is the overlay2 case: the
// absolute option string exceeds a page, the relative one fits.
func TestMountAtMountsStacksTooDeepForAbsolutePaths(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	var ids []string
	for i := 0; i < 120; i++ {
		ids = append(ids, fmt.Sprintf("L%025d", i)) // 26 chars, like overlay2's short links
	}
	overlayStack(t, root, ids)
	abs := "lowerdir=" + lowerdir(filepath.Join(root, "l")+"/", ids) + ",upperdir=" + filepath.Join(root, "upper") + ",workdir=" + filepath.Join(root, "work")
	rel := "lowerdir=" + lowerdir("l/", ids) + ",upperdir=upper,workdir=work"
	require.False(t, DataFits(abs), "test setup: absolute data must exceed a page (%d bytes)", len(abs))
	require.True(t, DataFits(rel), "test setup: relative data must fit (%d bytes)", len(rel))

	merged := filepath.Join(root, "merged")
	require.ErrorIs(t, Mount("overlay", merged, "overlay", 0, abs), ErrDataTooLong)
	t.Cleanup(func() { assert.NoError(t, Unmount(merged)) })
	require.NoError(t, MountAt(root, "overlay", merged, "overlay", 0, rel))
	b, err := os.ReadFile(filepath.Join(merged, "from-"+ids[0]))
	require.NoError(t, err, "the bottom layer must be reachable")
	assert.Equal(t, ids[0], string(b))
}

func TestMountAtMissingDirIsAMountError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	err := MountAt(missing, "none", "m", "tmpfs", 0, "")
	require.ErrorIs(t, err, unix.ENOENT)
	var me *MountError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, missing, me.Dir)
	assert.Contains(t, err.Error(), "mount (in "+missing+")")
}

func TestThrowawayThreadIsNeverTheMainThreadAndDies(t *testing.T) {
	for i := 0; i < 20; i++ {
		var tid int
		require.NoError(t, onThrowawayThread(func() error {
			tid = unix.Gettid()
			if tid == unix.Getpid() {
				return errors.New("ran on the main thread, which the runtime can only wedge, never end")
			}
			return nil
		}))
		assert.Eventually(t, func() bool {
			_, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid))
			return errors.Is(err, os.ErrNotExist)
		}, 2*time.Second, 5*time.Millisecond, "thread %d outlived its locked goroutine", tid)
	}
}
