package aufs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/layerspec"
)

// The tests in this file assert what the aufs manual documents, on a real
// aufs mount; each names the file and section it follows:
//
//   - aufs.5, the manual page of aufs-util (branch aufs5.x-rcN, the one
//     for aufs5 and later; aufs-util has no aufs6 branch of its own), and
//   - Documentation/filesystems/aufs/ of aufs-standalone, branch aufs6.1
//     (commit bfd38ec4, 20240701, the aufs of the test kernel).
//
// They skip where aufs does not mount (realDriver: not in
// /proc/filesystems, not root); `unionbench vm` with an aufs kernel runs
// them.

// realVariant is realDriver with a variant's options.
func realVariant(t *testing.T, options ...string) *Driver {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.MkdirAll(root, 0o700))
	d, err := New(root, drivers.Options{MountOptions: options})
	if errors.Is(err, drivers.ErrNotSupported) {
		t.Skip(err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, d.Cleanup()) })
	return d.(*Driver)
}

// container makes an image of one layer (the entries) and a container on
// it, mounted; it returns the merged directory.
func container(t *testing.T, d *Driver, entries ...layerspec.Entry) string {
	t.Helper()
	require.NoError(t, d.Create(context.Background(), "img", "", &layerspec.Layer{Entries: entries}))
	require.NoError(t, drivers.NewContainer(context.Background(), d, "c", "img"))
	dir, err := d.Mount(context.Background(), "c")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, drivers.RemoveContainer(d, "c")) })
	return dir
}

func links() []layerspec.Entry {
	return []layerspec.Entry{file("l/one", 4096),
		{Path: "l/two", Kind: layerspec.Hardlink, Target: "l/one"}}
}

func writeAt0(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte(s), 0)
	require.NoError(t, errors.Join(err, f.Close()))
}

func head(t *testing.T, p string, n int) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b[:min(n, len(b))])
}

func stat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(p, &st), p)
	return st
}

// aufs.5, "Pseudo Link (hardlink over branches)": with fileA and fileB
// hard-linked on a readonly branch, "if you write something into fileA,
// aufs copies-up fileA to a writable branch ... But aufs remembers it was
// hardlinked, and handles fileB as if it existed on the writable branch,
// by referencing fileA's inode on the writable branch as fileB's inode."
// design/02struct.txt, "Pseudo-link": aufs "creates a hardlink under the
// Pseudo-link Directory of the writable branch" (.wh..wh.plnk, "Whiteout
// Base" list: "a directory to store a pseudo-link"). "Once you unmount
// aufs, the plink info for that aufs kept in memory are totally gone"
// unless auplink flushes them first, which the driver does when aufs-tools
// is installed.
func TestManualPseudoLinkKeepsLowerHardLinksOneFile(t *testing.T) {
	d := realVariant(t)
	dir := container(t, d, links()...)
	writeAt0(t, filepath.Join(dir, "l/one"), "WRITTEN")

	assert.Equal(t, "WRITTEN", head(t, filepath.Join(dir, "l/two"), 7), "the other link sees the write")
	one, two := stat(t, filepath.Join(dir, "l/one")), stat(t, filepath.Join(dir, "l/two"))
	assert.Equal(t, one.Ino, two.Ino, "one inode for both names")
	assert.Equal(t, uint64(2), uint64(one.Nlink))
	assert.Equal(t, uint64(2), uint64(two.Nlink))

	plinks, err := os.ReadDir(filepath.Join(d.diffPath("c"), ".wh..wh.plnk"))
	require.NoError(t, err)
	assert.NotEmpty(t, plinks, "the pseudo-link is a hard link in the writable branch's .wh..wh.plnk")
	// What the writable branch holds besides, and what the names show after
	// an unmount, the manual leaves open (the in-memory list is gone, but
	// aufs may have linked the names in the branch): logged, not asserted.
	for _, p := range []string{"l/one", "l/two"} {
		var st unix.Stat_t
		err := unix.Lstat(filepath.Join(d.diffPath("c"), p), &st)
		t.Logf("writable branch %s: %v nlink %d", p, err, st.Nlink)
	}
	require.NoError(t, d.Unmount("c"))
	dir, err = d.Mount(context.Background(), "c")
	require.NoError(t, err)
	t.Logf("after unmount and mount (auplink %q): l/two reads %q", d.auplink, head(t, filepath.Join(dir, "l/two"), 7))
}

// aufs.5, "The behaviors of plink and noplink": "This sample shows that
// the `f_src_linked2' with `noplink' option cannot follow the link."
func TestManualNoplinkBreaksLowerHardLinks(t *testing.T) {
	d := realVariant(t, "noplink")
	dir := container(t, d, links()...)
	writeAt0(t, filepath.Join(dir, "l/one"), "WRITTEN")
	assert.NotEqual(t, "WRITTEN", head(t, filepath.Join(dir, "l/two"), 7), "the other link keeps the lower data")
}

// aufs.5, "Incompatible with an Ordinary Filesystem": "To rename(2)
// directory may return EXDEV even if both of src and tgt are on the same
// aufs, when `dirren' is not specified. When the rename-src dir exists on
// multiple branches and the lower dir has child/children ... returns
// EXDEV ... Also this specification is applied to the case when the src
// directory exists on the lower readonly branch and it has
// child/children." A lower directory without children is not that case:
// aufs copies the directory itself up (design/06dirren.txt, case B: "it
// is possible to copy-up dirA (only the dir itself)").
func TestManualRenameOfALowerDirWithoutDirren(t *testing.T) {
	d := realVariant(t)
	dir := container(t, d, file("full/a", 10), file("full/sub/b", 10), layerspec.Entry{Path: "empty", Kind: layerspec.Dir})

	err := unix.Rename(filepath.Join(dir, "full"), filepath.Join(dir, "full2"))
	assert.ErrorIs(t, err, unix.EXDEV, "a lower directory with children")
	assert.FileExists(t, filepath.Join(dir, "full/a"), "and nothing moved")

	require.NoError(t, unix.Rename(filepath.Join(dir, "empty"), filepath.Join(dir, "empty2")), "a lower directory without children")
	assert.DirExists(t, filepath.Join(dir, "empty2"))
	assert.NoDirExists(t, filepath.Join(dir, "empty"))
}

// aufs.5, "dirren": "Activates ... the special handling for renaming a
// directory (DIRREN) feature"; design/06dirren.txt: instead of EXDEV
// (case B), DIRREN implements case D, "construct an extra information
// which indicates that /ro/dirA should be handled as the name of dirB",
// kept in "/rw/dirB/$AUFS_WH_DR_INFO_PFX.<lower branch-id>"
// (AUFS_WH_DR_INFO_PFX is ".wh..wh..dr." in linux/aufs_type.h), "created
// in aufs rename(2), and loaded in any lookup", so the rename holds across
// an unmount.
func TestManualRenameOfALowerDirWithDirren(t *testing.T) {
	d := realVariant(t, "dirren")
	dir := container(t, d, file("full/a", 10), file("full/sub/b", 10))

	require.NoError(t, unix.Rename(filepath.Join(dir, "full"), filepath.Join(dir, "full2")))
	for _, p := range []string{"full2/a", "full2/sub/b"} {
		assert.FileExists(t, filepath.Join(dir, p))
	}
	assert.NoDirExists(t, filepath.Join(dir, "full"))

	entries, err := os.ReadDir(filepath.Join(d.diffPath("c"), "full2"))
	require.NoError(t, err)
	var info []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".wh..wh..dr.") {
			info = append(info, e.Name())
		}
	}
	assert.NotEmpty(t, info, "the rename is recorded in the writable branch (entries: %v)", entries)
	_, err = os.Lstat(filepath.Join(d.diffPath("img"), "full/a"))
	assert.NoError(t, err, "the readonly branch is untouched")

	require.NoError(t, d.Unmount("c"))
	dir, err = d.Mount(context.Background(), "c")
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "full2/sub/b"), "the renamed directory after mounting again")
	assert.NoDirExists(t, filepath.Join(dir, "full"))
}

// aufs.5, "User's Direct Branch Access (UDBA)", udba=reval (the default,
// and Docker's): "If the existed file was removed on the branch directly,
// aufs discard the cache about the file and re-lookup it", and "When the
// file is cached as positive or existed, and a user created the same
// named file directly on the upper branch ... will show you the old
// (cached) file which is on the lower branch."
func TestManualUDBARevalSeesRemovalsButNotNewUpperFiles(t *testing.T) {
	d := realVariant(t)
	dir := container(t, d, file("u/gone", 10), file("shadowed", 10))
	lowerShadowed := head(t, filepath.Join(dir, "shadowed"), 10) // both cached positive
	stat(t, filepath.Join(dir, "u/gone"))

	require.NoError(t, os.Remove(filepath.Join(d.diffPath("img"), "u/gone")))
	// The writable branch's root is in the union from the start, so the
	// new file's directory is one aufs already knows in that branch.
	require.NoError(t, os.WriteFile(filepath.Join(d.diffPath("c"), "shadowed"), []byte("UPPER"), 0o644))

	_, err := os.Lstat(filepath.Join(dir, "u/gone"))
	assert.True(t, errors.Is(err, os.ErrNotExist), "removed in the branch, gone through the union: %v", err)
	assert.Equal(t, lowerShadowed, head(t, filepath.Join(dir, "shadowed"), 10), "the cached lower file still shows")
}

// aufs.5, udba=notify: "Aufs sets either `fsnotify' or `inotify' to all
// the accessed directories on its branches ... When a user accesses the
// file which was notified UDBA before, the cached data about the file
// will be discarded and aufs re-lookup it. So the data will be updated."
// design/03lookup.txt, "Revalidate Dentry and UDBA": the event is handled
// by a function aufs queues on the kernel's events thread, so it lands
// shortly after the change, not during it.
func TestManualUDBANotifySeesNewUpperFiles(t *testing.T) {
	d := realVariant(t, "udba=notify")
	dir := container(t, d, file("shadowed", 10))
	head(t, filepath.Join(dir, "shadowed"), 10)

	require.NoError(t, os.WriteFile(filepath.Join(d.diffPath("c"), "shadowed"), []byte("UPPER"), 0o644))
	assert.Eventually(t, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "shadowed"))
		return err == nil && string(b) == "UPPER"
	}, 5*time.Second, 20*time.Millisecond, "the file made in the upper branch shows through the union")
}

// aufs.5, udba=none: "Aufs trusts the dentry and the inode cache on the
// system, and never test about UDBA ... it may show you incorrect data":
// a file removed in its branch behind aufs's back still shows while its
// dentry is cached, which reval (above) does not allow.
func TestManualUDBANoneTrustsTheCache(t *testing.T) {
	d := realVariant(t, "udba=none")
	dir := container(t, d, file("u/gone", 10))
	stat(t, filepath.Join(dir, "u/gone"))

	require.NoError(t, os.Remove(filepath.Join(d.diffPath("img"), "u/gone")))
	_, err := os.Lstat(filepath.Join(dir, "u/gone"))
	assert.NoError(t, err, "the cached dentry still stands for the removed file")
}

// aufs.5, "Branch Syntax": "The maximum number of branches is configurable
// at compile time (127 by default)"; linux/aufs_type.h has AUFS_BRANCH_MAX
// 127, 511, 1023 or 32767 (CONFIG_AUFS_BRANCH_MAX_*). The Factory measures
// it, and the driver's depth limit is that.
func TestManualBranchLimitIsOneOfTheBuildOptions(t *testing.T) {
	d := realVariant(t)
	assert.Contains(t, branchLimits, d.MaxDepth())
	assert.Contains(t, d.Details(), Version())
	assert.NotEqual(t, "unknown", Version(), "/sys/module/aufs/version is there with aufs")
	_, err := New(t.TempDir(), drivers.Options{MaxDepth: d.MaxDepth() + 1})
	var de *drivers.DepthError
	assert.ErrorAs(t, err, &de, "a stack deeper than the kernel takes is refused up front")
}

// aufs.5, "Incompatible with an Ordinary Filesystem": "The whiteout prefix
// (.wh.) is reserved on all branches. Users should not handle the
// filename begins with this prefix", and "the maximum filename length is
// limited by the longest value - AUFS_WH_PFX_LEN * 2 - 1 - AUFS_WH_TMP_LEN"
// (255 - 4*2 - 1 - 4 = 242), which statfs reports as the namelen.
func TestManualWhiteoutPrefixIsReservedAndNamesAreShorter(t *testing.T) {
	d := realVariant(t)
	dir := container(t, d, file("n/a", 10))
	err := os.WriteFile(filepath.Join(dir, "n/.wh.x"), nil, 0o644)
	assert.Error(t, err, "a name with the whiteout prefix cannot be made through aufs")
	t.Logf("creating n/.wh.x: %v", err)

	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &st))
	assert.Equal(t, int64(242), int64(st.Namelen))
	assert.NoError(t, os.WriteFile(filepath.Join(dir, "n", strings.Repeat("x", 242)), nil, 0o644))
	err = os.WriteFile(filepath.Join(dir, "n", strings.Repeat("y", 243)), nil, 0o644)
	assert.ErrorIs(t, err, unix.ENAMETOOLONG)
}
