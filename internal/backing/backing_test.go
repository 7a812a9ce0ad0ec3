package backing

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/mountutil"
)

// imageSize is small but above mkfs.xfs's 300 MB minimum; images are
// sparse, so it costs little.
const imageSize = 512 << 20

func sizeFor(k Kind) int64 {
	switch {
	case k.onImage():
		return imageSize
	case k == Tmpfs:
		return 64 << 20
	}
	return 1 << 20 // dir: ignored
}

// newFS creates a backing filesystem that Close is deferred for, skipping
// when the host cannot make the kind at all.
func newFS(t *testing.T, work string, spec Spec) *FS {
	t.Helper()
	if spec.Kind != Dir {
		requireRoot(t)
	}
	f, err := Create(work, spec)
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("%s: %v", spec.Kind, err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, f.Close()) })
	return f
}

// loopsBackedUnder lists loop devices whose backing file lies under dir.
func loopsBackedUnder(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	require.NoError(t, err)
	var found []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // detached while we looked
		}
		if bf := strings.TrimSpace(string(b)); strings.HasPrefix(bf, dir+"/") {
			found = append(found, f+" -> "+bf)
		}
	}
	return found
}

// assertNothingLeft checks what Close promises: no mounts, no loop devices
// and no files left in the work directory.
func assertNothingLeft(t *testing.T, work string) {
	t.Helper()
	mounts, err := mountutil.MountsUnder(work)
	require.NoError(t, err)
	assert.Empty(t, mounts, "mounts left under the work directory")
	assert.Empty(t, loopsBackedUnder(t, work), "loop devices still attached to images in the work directory")
	entries, err := os.ReadDir(work)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "files left in the work directory")
}

func TestEveryKind(t *testing.T) {
	for _, tc := range []struct {
		kind    Kind
		magic   int64
		reflink *bool // nil: depends on the host
	}{
		{Dir, 0, nil},
		{Tmpfs, unix.TMPFS_MAGIC, ptr(false)},
		{Ext4, unix.EXT4_SUPER_MAGIC, ptr(false)},
		{Xfs, unix.XFS_SUPER_MAGIC, ptr(true)}, // mkfs.xfs has defaulted to reflink=1 since 5.1
		{Btrfs, unix.BTRFS_SUPER_MAGIC, ptr(true)},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			work := t.TempDir()
			f := newFS(t, work, Spec{Kind: tc.kind, Size: sizeFor(tc.kind)})
			assert.Equal(t, work, filepath.Dir(f.Dir))
			mounted, err := mountutil.IsMountPoint(f.Dir)
			require.NoError(t, err)
			assert.Equal(t, tc.kind != Dir, mounted)

			data := []byte(strings.Repeat("unionbench", 100000))
			require.NoError(t, os.WriteFile(filepath.Join(f.Dir, "f"), data, 0o644))
			back, err := os.ReadFile(filepath.Join(f.Dir, "f"))
			require.NoError(t, err)
			assert.Equal(t, data, back)

			dtype, err := f.DType()
			require.NoError(t, err)
			assert.True(t, dtype)
			assert.NoError(t, CheckDType(f.Dir))

			st, err := f.Statfs()
			require.NoError(t, err)
			if tc.magic != 0 {
				assert.Equal(t, tc.magic, int64(st.Type))
			}
			if tc.kind != Dir {
				assert.InDelta(t, sizeFor(tc.kind), int64(st.Blocks)*st.Bsize, float64(sizeFor(tc.kind))/5, "size")
			}

			facts := f.Describe()
			t.Logf("%+v", facts)
			assert.Empty(t, facts.Problems)
			assert.Equal(t, tc.kind, facts.Kind)
			assert.True(t, facts.DType)
			assert.NotEmpty(t, facts.MountOptions)
			assert.Positive(t, facts.Size)
			if tc.kind != Dir {
				assert.Equal(t, string(tc.kind), facts.FSType)
			}
			if tc.reflink != nil {
				assert.Equal(t, *tc.reflink, facts.Reflink, "reflink")
			}
			if tc.kind == Tmpfs {
				assert.Contains(t, facts.MountOptions, "size=65536k")
			}

			written, ok := DeviceWrites(f)
			assert.Equal(t, tc.kind.onImage(), ok, "DeviceWrites ok")
			if ok {
				// Mounting and the probes write a little; a counter that
				// also counted the device's earlier lives would show more.
				t.Logf("device writes since attach: %d bytes", written)
				assert.Less(t, written, int64(16<<20))
			}
			if tc.kind.onImage() {
				assert.Regexp(t, `^/dev/loop[0-9]+$`, f.Device)
				assert.Equal(t, f.Device, facts.Device)
				assert.Equal(t, f.Image, loopBackingFile(f.Device))
				assert.Equal(t, work, filepath.Dir(f.Image))
				autoclear, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(f.Device), "loop", "autoclear"))
				require.NoError(t, err)
				assert.Equal(t, "1", strings.TrimSpace(string(autoclear)), "loop devices must detach themselves")
			} else {
				assert.Empty(t, f.Device)
				assert.Empty(t, f.Image)
			}

			require.NoError(t, f.Close())
			assertNothingLeft(t, work)
			assert.NoError(t, f.Close(), "Close twice")
			_, ok = DeviceWrites(f)
			assert.False(t, ok, "DeviceWrites after Close")
		})
	}
}

func ptr[T any](v T) *T { return &v }

// fillInodes creates empty files in dir until the filesystem says ENOSPC
// and returns how many it made.
func fillInodes(t *testing.T, dir string, limit int) int {
	t.Helper()
	for n := 0; n < limit; n++ {
		fd, err := unix.Open(filepath.Join(dir, fmt.Sprint(n)), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
		if err == unix.ENOSPC {
			return n
		}
		require.NoError(t, err)
		unix.Close(fd)
	}
	t.Fatalf("created %d files without running out of inodes", limit)
	return 0
}

func TestInodeCountIsHonoured(t *testing.T) {
	for _, tc := range []struct {
		kind   Kind
		inodes int64
		slack  uint64 // how far above the request the kernel may round
	}{
		// mkfs.ext4 -N rounds up to whole inode-table blocks per group.
		{Ext4, 4096, 256},
		{Tmpfs, 1000, 0},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			f := newFS(t, t.TempDir(), Spec{Kind: tc.kind, Size: sizeFor(tc.kind), Inodes: tc.inodes})
			st, err := f.Statfs()
			require.NoError(t, err)
			assert.GreaterOrEqual(t, st.Files, uint64(tc.inodes))
			assert.LessOrEqual(t, st.Files, uint64(tc.inodes)+tc.slack)
			// And the limit bites: the fs runs out of inodes there, with
			// plenty of space left.
			made := fillInodes(t, f.Dir, int(st.Files)+10)
			assert.InDelta(t, float64(st.Ffree), float64(made), 2)
		})
	}
}

func TestXfsInodeLimitIsApproximate(t *testing.T) {
	deflt := newFS(t, t.TempDir(), Spec{Kind: Xfs, Size: imageSize})
	limited := newFS(t, t.TempDir(), Spec{Kind: Xfs, Size: imageSize, Inodes: 4096})
	dst, err := deflt.Statfs()
	require.NoError(t, err)
	lst, err := limited.Statfs()
	require.NoError(t, err)
	t.Logf("xfs inodes: default %d, asked for 4096: %d", dst.Files, lst.Files)
	assert.GreaterOrEqual(t, lst.Files, uint64(4096))
	// One percent of the image is the finest step -i maxpct can take.
	assert.LessOrEqual(t, lst.Files, uint64(imageSize/100/xfsInodeSize))
	assert.Less(t, lst.Files, dst.Files)
}

func TestXfsReflinkFollowsSpec(t *testing.T) {
	for _, want := range []bool{false, true} {
		t.Run(fmt.Sprint("reflink=", want), func(t *testing.T) {
			f := newFS(t, t.TempDir(), Spec{Kind: Xfs, Size: imageSize, Reflink: &want})
			got, err := f.Reflink()
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestDeviceWritesCountsWhatReachesTheDisk(t *testing.T) {
	f := newFS(t, t.TempDir(), Spec{Kind: Ext4, Size: imageSize})
	before, ok := DeviceWrites(f)
	require.True(t, ok)
	file, err := os.Create(filepath.Join(f.Dir, "8MiB"))
	require.NoError(t, err)
	defer file.Close()
	_, err = file.Write(make([]byte, 8<<20))
	require.NoError(t, err)
	require.NoError(t, file.Sync())
	after, ok := DeviceWrites(f)
	require.True(t, ok)
	t.Logf("device writes: %d -> %d bytes", before, after)
	assert.GreaterOrEqual(t, after-before, int64(8<<20))
	// ...but not wildly more: the journal and metadata add little.
	assert.Less(t, after-before, int64(16<<20))
}

func TestFilesystemWithoutDTypeIsDetected(t *testing.T) {
	requireRoot(t)
	work := t.TempDir()
	// Only the old v4 xfs format can be made without ftype.
	f, err := create(work, Spec{Kind: Xfs, Size: imageSize}, "-m", "crc=0", "-n", "ftype=0")
	var merr *mountutil.MountError
	switch {
	case errors.Is(err, ErrUnsupported):
		t.Skipf("xfs: %v", err)
	case errors.As(err, &merr):
		assertNothingLeft(t, work)
		t.Skipf("this kernel will not mount a v4 xfs (without ftype), the only kind of filesystem here that lacks d_type: %v", err)
	case err != nil && strings.Contains(err.Error(), "mkfs.xfs"):
		t.Skipf("mkfs.xfs will not make a v4 xfs (without ftype): %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, f.Close()) })

	dtype, err := f.DType()
	require.NoError(t, err)
	assert.False(t, dtype)
	err = CheckDType(f.Dir)
	require.ErrorIs(t, err, ErrNoDType)
	assert.Contains(t, err.Error(), f.Dir)
	assert.Contains(t, err.Error(), "ftype=1")
	assert.False(t, f.Describe().DType)
}

func TestFailedMountDetachesTheLoopDevice(t *testing.T) {
	requireRoot(t)
	work := t.TempDir()
	_, err := Create(work, Spec{Kind: Ext4, Size: imageSize, Options: "no_such_option"})
	require.ErrorIs(t, err, unix.EINVAL)
	assert.Contains(t, err.Error(), "no_such_option")
	assertNothingLeft(t, work)
}

func TestLegacyLoopSetupAlsoAutoclears(t *testing.T) {
	requireRoot(t)
	work := t.TempDir()
	image := filepath.Join(work, "legacy.img")
	require.NoError(t, os.WriteFile(image, nil, 0o600))
	require.NoError(t, os.Truncate(image, imageSize))
	err := mkfs(Spec{Kind: Ext4}, image, imageSize, nil)
	if errors.Is(err, ErrUnsupported) {
		t.Skip(err)
	}
	require.NoError(t, err)

	dev, loop, err := attachLoopWith(image, configureLoopLegacy)
	require.NoError(t, err)
	autoclear, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(dev), "loop", "autoclear"))
	require.NoError(t, err)
	assert.Equal(t, "1", strings.TrimSpace(string(autoclear)))

	mnt := filepath.Join(work, "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	require.NoError(t, mountutil.Mount(dev, mnt, "ext4", 0, ""))
	require.NoError(t, loop.Close())
	assert.Equal(t, image, loopBackingFile(dev), "the mount must keep the device attached")
	require.NoError(t, mountutil.Unmount(mnt))
	assert.NoError(t, waitDetached(dev, image, detachTimeout))
}

const holdEnv = "UB_BACKING_HOLD"

// holdBacking runs in a helper process: it makes an ext4 backing fs in the
// directory named by holdEnv, says where, and waits to be killed.
func holdBacking() {
	f, err := Create(os.Getenv(holdEnv), Spec{Kind: Ext4, Size: imageSize})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println(f.Device, f.Image)
	select {}
}

func TestKilledProcessLeavesNoLoopDevice(t *testing.T) {
	requireRoot(t)
	work := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+work)
	// Its own private mount namespace, like the CLI's: the mount dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	var dev, image string
	_, err = fmt.Sscan(line, &dev, &image)
	require.NoError(t, err, "helper said %q", line)
	require.Equal(t, image, loopBackingFile(dev), "the helper's device must be attached while it lives")

	require.NoError(t, cmd.Process.Signal(unix.SIGKILL))
	_ = cmd.Wait()
	assert.Eventually(t, func() bool { return len(loopsBackedUnder(t, work)) == 0 }, detachTimeout, 20*time.Millisecond,
		"%s still attached to %s after its process was killed", dev, image)
	mounts, err := mountutil.MountsUnder(work)
	require.NoError(t, err)
	assert.Empty(t, mounts)
}
