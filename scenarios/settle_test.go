package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/testenv"
)

// Dirty data on another filesystem (as a test binary the go command just
// wrote) is written out by Settle, not left for the flusher, which takes
// it only 30 s later, during some sample, and held Settle to its timeout
// meanwhile. Judged by the file's own dirty pages (cachestat), since
// whatever else runs on the host (other test packages) dirties pages too.
func TestSettleWritesOutOtherFilesystemsDirtyData(t *testing.T) {
	testenv.NeedRoot(t, "Settle syncs filesystems")
	fs, err := backing.Create(t.TempDir(), backing.Spec{Kind: backing.Tmpfs, Size: 16 << 20})
	require.NoError(t, err)
	defer fs.Close()
	// Not on the tmpfs: beside the work directory, on a disk filesystem
	// where the pages stay dirty until written.
	f, err := os.Create(filepath.Join(os.TempDir(), "unionbench-settle-dirty"))
	require.NoError(t, err)
	defer os.Remove(f.Name())
	defer f.Close()
	_, err = f.Write(make([]byte, 4*settleDirty))
	require.NoError(t, err)
	dirty := func() uint64 {
		var cs unix.Cachestat_t
		err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{}, &cs, 0)
		if errors.Is(err, unix.ENOSYS) {
			t.Skip("no cachestat(2) on this kernel")
		}
		require.NoError(t, err)
		return cs.Dirty
	}
	if dirty() == 0 {
		t.Skipf("%s keeps no dirty pages", os.TempDir())
	}
	require.NoError(t, Settle(fs))
	require.Zero(t, dirty(), "the file's pages are still dirty after Settle")
}
