package treecopy

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
)

func TestMain(m *testing.M) { sandbox.RunTests(m) }

func needRoot(t testing.TB) {
	t.Helper()
	testenv.NeedRoot(t, "the test tree has other users' files, device nodes and trusted.* xattrs")
}

// node is everything a copy must preserve about one path.
type node struct {
	typ, mode    uint32
	uid, gid     uint32
	size         int64
	rdev         uint64
	atime, mtime unix.Timespec
	target       string
	xattrs       map[string]string
	sum          string
	ino          uint64
	blocks       int64
}

func (n node) String() string {
	return fmt.Sprintf("type=%o mode=%o owner=%d:%d size=%d rdev=%d atime=%v mtime=%v target=%q xattrs=%v sum=%.8s",
		n.typ, n.mode, n.uid, n.gid, n.size, n.rdev, n.atime, n.mtime, n.target, n.xattrs, n.sum)
}

// same compares what a copy must keep (not the inode number, nor st_blocks).
func (n node) same(o node) bool {
	n.ino, o.ino, n.blocks, o.blocks = 0, 0, 0, 0
	return n.String() == o.String()
}

// snapshot records every path under root without changing an atime, except
// a symlink's: readlink(2) sets it, so symlink atimes are left out.
func snapshot(t *testing.T, root string) map[string]node {
	t.Helper()
	out := map[string]node{}
	var walk func(rel string)
	walk = func(rel string) {
		p := filepath.Join(root, rel)
		var st unix.Stat_t
		require.NoError(t, unix.Lstat(p, &st))
		n := node{typ: st.Mode & unix.S_IFMT, mode: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid, rdev: st.Rdev,
			atime: st.Atim, mtime: st.Mtim, ino: st.Ino, blocks: st.Blocks, xattrs: lxattrs(t, p)}
		var err error
		switch n.typ {
		case unix.S_IFLNK:
			n.size = st.Size
			n.atime = unix.Timespec{}
			n.target, err = os.Readlink(p)
		case unix.S_IFREG:
			n.size = st.Size
			n.sum, err = sum(p)
		case unix.S_IFDIR:
			var names []string
			names, err = readdirNoatime(p)
			for _, name := range names {
				walk(filepath.Join(rel, name))
			}
		default:
			n.size = st.Size
		}
		require.NoError(t, err)
		out[rel] = n
	}
	walk(".")
	return out
}

func readdirNoatime(p string) ([]string, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOATIME|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	return f.Readdirnames(-1)
}

func lxattrs(t *testing.T, p string) map[string]string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	require.NoError(t, err)
	out := map[string]string{}
	for _, k := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if k == "" {
			continue
		}
		v := make([]byte, 4096)
		vn, err := unix.Lgetxattr(p, k, v)
		require.NoError(t, err)
		out[k] = string(v[:vn])
	}
	return out
}

func sum(p string) (string, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOATIME|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	return fmt.Sprintf("%x", h.Sum(nil)), err
}

// linkGroups lists the sets of paths that share an inode.
func linkGroups(tree map[string]node) [][]string {
	by := map[uint64][]string{}
	for p, n := range tree {
		if n.typ != unix.S_IFDIR {
			by[n.ino] = append(by[n.ino], p)
		}
	}
	var out [][]string
	for _, g := range by {
		if len(g) > 1 {
			sort.Strings(g)
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

func requireSameTree(t *testing.T, want, got map[string]node) {
	t.Helper()
	var diffs []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			diffs = append(diffs, "missing "+p)
		case !w.same(g):
			diffs = append(diffs, fmt.Sprintf("%s:\n  want %v\n  got  %v", p, w, g))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, "extra "+p)
		}
	}
	sort.Strings(diffs)
	require.Empty(t, diffs)
	require.Equal(t, linkGroups(want), linkGroups(got), "hard-link groups")
}

// dockerKept is the source snapshot as a copy must reproduce it: only
// DockerXattrs are kept, on every new inode; a hard-link copy's regular
// files are the source's inodes, so they keep all of theirs.
func dockerKept(want map[string]node, sharedFiles bool) map[string]node {
	out := map[string]node{}
	for p, n := range want {
		if !(sharedFiles && n.typ == unix.S_IFREG) {
			kept := map[string]string{}
			for _, name := range DockerXattrs {
				if v, ok := n.xattrs[name]; ok {
					kept[name] = v
				}
			}
			n.xattrs = kept
		}
		out[p] = n
	}
	return out
}

// buildSource makes a tree with one of everything a layer can hold.
func buildSource(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "src")
	mk := func(p string, mode os.FileMode, uid, gid int, data string) {
		p = filepath.Join(src, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
		require.NoError(t, os.Lchown(p, uid, gid))
		require.NoError(t, unix.Chmod(p, uint32(mode)))
	}
	mkdir := func(p string, mode uint32, uid, gid int) {
		p = filepath.Join(src, p)
		require.NoError(t, os.MkdirAll(p, 0o755))
		require.NoError(t, os.Lchown(p, uid, gid))
		require.NoError(t, unix.Chmod(p, mode))
	}
	mkdir("", 0o751, 0, 0)
	mkdir("etc", 0o755, 0, 0)
	mkdir("home/user", 0o700, 1000, 1000)
	mkdir("srv/shared", 0o2775, 0, 50)   // setgid: new entries would take gid 50
	mkdir("tmp", 0o1777, 0, 0)           // sticky
	mkdir("var/lib/opaque", 0o755, 0, 0) // overlay upper dir of a deleted-and-recreated dir
	mk("etc/passwd", 0o644, 0, 0, "root:x:0:0::/root:/bin/sh\n")
	mk("home/user/notes", 0o640, 1000, 1000, strings.Repeat("notes\n", 5000))
	mk("srv/shared/a", 0o664, 33, 0, "in a setgid dir but gid 0")
	mk("srv/shared/b", 0o660, 0, 50, "inherits")
	mk("usr/bin/su", 0o4755, 0, 0, "setuid binary")
	mk("usr/bin/wall", 0o2755, 0, 5, "setgid binary")
	mk("usr/bin/ping", 0o755, 0, 0, "has a capability")
	mk("empty", 0o400, 0, 0, "")
	mk("bin/busybox", 0o755, 0, 0, "busybox")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sbin"), 0o755))
	require.NoError(t, os.Link(filepath.Join(src, "bin/busybox"), filepath.Join(src, "bin/sh")))
	require.NoError(t, os.Link(filepath.Join(src, "bin/busybox"), filepath.Join(src, "sbin/init")))
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(src, "abs-link")))
	require.NoError(t, os.Symlink("../../outside", filepath.Join(src, "etc/escape")))
	require.NoError(t, os.Symlink("busybox", filepath.Join(src, "bin/ls")))
	require.NoError(t, unix.Lchown(filepath.Join(src, "bin/ls"), 7, 8))
	require.NoError(t, os.Link(filepath.Join(src, "bin/ls"), filepath.Join(src, "sbin/ls"))) // a hard-linked symlink
	require.NoError(t, unix.Mknod(filepath.Join(src, "var/lib/gone"), unix.S_IFCHR, 0))      // overlay whiteout
	require.NoError(t, unix.Mknod(filepath.Join(src, "var/lib/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	require.NoError(t, unix.Mknod(filepath.Join(src, "var/lib/disk"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 0))))
	require.NoError(t, unix.Mkfifo(filepath.Join(src, "var/lib/fifo"), 0o620))
	require.NoError(t, unix.Lsetxattr(filepath.Join(src, "var/lib/opaque"), "trusted.overlay.opaque", []byte("y"), 0))
	require.NoError(t, unix.Lsetxattr(filepath.Join(src, "home/user/notes"), "user.mime_type", []byte("text/plain"), 0))
	require.NoError(t, unix.Lsetxattr(filepath.Join(src, "home/user/notes"), "trusted.note", []byte{0, 1, 2}, 0))
	require.NoError(t, unix.Lsetxattr(filepath.Join(src, "home/user"), "user.quota", []byte("1G"), 0))
	require.NoError(t, unix.Lsetxattr(filepath.Join(src, "var/lib/gone"), "trusted.overlay.origin", []byte("x"), 0))
	require.NoError(t, unix.Lsetxattr(filepath.Join(src, "abs-link"), "trusted.link", []byte("on a symlink"), 0))
	// security.capability v2 for cap_net_raw, as setcap writes it.
	capNetRaw := []byte{0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	require.NoError(t, unix.Lsetxattr(filepath.Join(src, "usr/bin/ping"), "security.capability", capNetRaw, 0))

	// A sparse file: 8 MiB with 4 KiB of data in the middle.
	f, err := os.Create(filepath.Join(src, "sparse"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(8<<20))
	_, err = f.WriteAt([]byte(strings.Repeat("x", 4096)), 4<<20)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	// Fixed, distinct times on everything, children first: listing a
	// directory afterwards would move its atime again.
	var paths []string
	require.NoError(t, filepath.WalkDir(src, func(p string, _ fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	}))
	for i := len(paths) - 1; i >= 0; i-- {
		n := int64(i)
		ts := []unix.Timespec{{Sec: 1_500_000_000 + n, Nsec: 111 * n}, {Sec: 1_400_000_000 + n, Nsec: 7 * n}}
		require.NoError(t, unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], ts, unix.AT_SYMLINK_NOFOLLOW))
	}
	return src
}

// TestContentCopyKeepsWhatDockerKeeps: types, modes, owners, times, data
// and hard links are kept; of the xattrs only security.capability and
// trusted.overlay.opaque (user.*, trusted.note, trusted.overlay.origin
// are dropped, as Docker's DirCopy drops them).
func TestContentCopyKeepsWhatDockerKeeps(t *testing.T) {
	needRoot(t)
	src := buildSource(t, t.TempDir())
	want := snapshot(t, src)
	dst := filepath.Join(t.TempDir(), "dst")
	require.NoError(t, Copy(t.Context(), src, dst, Content))

	assert.Equal(t, want, snapshot(t, src), "the source is unchanged, atimes included")
	got := snapshot(t, dst)
	requireSameTree(t, dockerKept(want, false), got)
	assert.Empty(t, got["home/user/notes"].xattrs, "user.* and trusted.note dropped")
	assert.Contains(t, got["usr/bin/ping"].xattrs, "security.capability")
	assert.Contains(t, got["var/lib/opaque"].xattrs, "trusted.overlay.opaque")
	srcInodes := map[uint64]bool{}
	for _, n := range want {
		srcInodes[n.ino] = true
	}
	for p, n := range got {
		assert.False(t, srcInodes[n.ino], "%s: a content copy shares no inode with the source", p)
	}
	var sfs unix.Statfs_t
	require.NoError(t, unix.Statfs(dst, &sfs))
	if sfs.Type == unix.TMPFS_MAGIC || sfs.Type == unix.EXT4_SUPER_MAGIC {
		assert.GreaterOrEqual(t, got["sparse"].blocks*512, int64(8<<20), "holes written as zeros, as Docker's copy does here")
	}
}

// TestSocketIsRefused: Docker's DirCopy fails on a socket (its mkfifo of
// S_IFSOCK|S_IFIFO is EINVAL), and so does Copy, naming the path.
func TestSocketIsRefused(t *testing.T) {
	needRoot(t)
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "run"), 0o755))
	require.NoError(t, unix.Mknod(filepath.Join(src, "run/app.sock"), unix.S_IFSOCK|0o777, 0))
	err := Copy(t.Context(), src, filepath.Join(t.TempDir(), "dst"), Content)
	require.ErrorIs(t, err, unix.EINVAL)
	assert.ErrorContains(t, err, "run/app.sock")
	assert.ErrorContains(t, err, "socket")
}

func TestHardlinkCopySharesFilesOnly(t *testing.T) {
	needRoot(t)
	src := buildSource(t, t.TempDir())
	dst := filepath.Join(t.TempDir(), "dst")
	before := snapshot(t, src)
	require.NoError(t, Copy(t.Context(), src, dst, Hardlink))

	got := snapshot(t, dst)
	requireSameTree(t, dockerKept(before, true), got)
	for p, n := range got {
		if n.typ == unix.S_IFREG {
			assert.Equal(t, before[p].ino, n.ino, "%s: a regular file is the source's inode", p)
		} else {
			assert.NotEqual(t, before[p].ino, n.ino, "%s: only regular files are shared", p)
		}
	}
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(filepath.Join(src, "bin/busybox"), &st))
	assert.Equal(t, uint64(6), st.Nlink, "three names in each tree")
}

func TestSymlinksAreNotFollowed(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	outside := filepath.Join(dir, "outside")
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "deep"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600))
	require.NoError(t, os.Mkdir(src, 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(src, "to-dir")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(src, "to-file")))
	require.NoError(t, os.Symlink("dangling", filepath.Join(src, "dangling")))

	for _, mode := range []Mode{Content, Hardlink} {
		dst := filepath.Join(dir, "dst-"+mode.String())
		require.NoError(t, Copy(t.Context(), src, dst, mode))
		for _, name := range []string{"to-dir", "to-file", "dangling"} {
			fi, err := os.Lstat(filepath.Join(dst, name))
			require.NoError(t, err)
			assert.Equal(t, fs.ModeSymlink, fi.Mode().Type(), "%s stays a symlink", name)
		}
		// And a symlink as the source itself is refused, not resolved.
		err := Copy(t.Context(), filepath.Join(src, "to-dir"), filepath.Join(dir, "via-link-"+mode.String()), mode)
		assert.ErrorIs(t, err, unix.ENOTDIR)
	}
}

func TestRefusesANonEmptyDestination(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "d/f"), []byte("new"), 0o644))

	dst := filepath.Join(dir, "dst")
	require.NoError(t, os.MkdirAll(dst, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "keep"), []byte("old"), 0o644))
	err := Copy(t.Context(), src, dst, Content)
	assert.ErrorContains(t, err, "not empty")
	names, _ := os.ReadDir(dst)
	assert.Len(t, names, 1, "nothing was written into it")

	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.Mkdir(empty, 0o700))
	assert.NoError(t, Copy(t.Context(), src, empty, Content), "an existing empty directory is fine")
	b, err := os.ReadFile(filepath.Join(empty, "d/f"))
	require.NoError(t, err)
	assert.Equal(t, "new", string(b))

	assert.ErrorIs(t, Copy(t.Context(), src, filepath.Join(dir, "no/such/parent"), Content), unix.ENOENT, "errors unwrap to the errno")
	assert.ErrorContains(t, Copy(t.Context(), src, filepath.Join(dir, "x"), Mode(0)), "unknown mode")
}

func TestRefusesToCopyIntoItselfOrAcrossMounts(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "a"), 0o755))
	err := Copy(t.Context(), src, filepath.Join(src, "a/inside"), Content)
	assert.ErrorContains(t, err, "into itself")

	require.NoError(t, os.RemoveAll(src))
	require.NoError(t, os.MkdirAll(filepath.Join(src, "mnt"), 0o755))
	require.NoError(t, mountutil.Mount("tmpfs", filepath.Join(src, "mnt"), "tmpfs", 0, "size=1m"))
	defer func() { assert.NoError(t, mountutil.Unmount(filepath.Join(src, "mnt"))) }()
	err = Copy(t.Context(), src, filepath.Join(dir, "dst"), Hardlink)
	assert.ErrorContains(t, err, "another filesystem is mounted")
}

func TestDirentsSkipsDeletedAndStopsAtGarbage(t *testing.T) {
	rec := func(ino uint64, typ uint8, name string) []byte {
		n := (direntName + len(name) + 1 + 7) &^ 7
		b := make([]byte, n)
		binary.NativeEndian.PutUint64(b, ino)
		binary.NativeEndian.PutUint16(b[direntReclen:], uint16(n))
		b[direntType] = typ
		copy(b[direntName:], name)
		return b
	}
	buf := append(append(append(rec(5, unix.DT_REG, "a"), rec(0, unix.DT_REG, "deleted")...), rec(6, unix.DT_DIR, "longer-name")...), 1, 2, 3)
	var got []dirent
	for d := range dirents(buf) {
		got = append(got, d)
	}
	assert.Equal(t, []dirent{{"a", unix.DT_REG}, {"longer-name", unix.DT_DIR}}, got)
}
