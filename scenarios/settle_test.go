package scenarios

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/testenv"
)

// Dirty data on another filesystem (as a test binary the go command just
// wrote) is written out by Settle instead of holding it to its timeout:
// the flusher would only take it 30 s later, during some sample.
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
	if dirty, err := dirtyBytes(); err != nil || dirty < settleDirty {
		t.Skipf("%s does not keep dirty pages (dirty %d bytes, %v)", os.TempDir(), dirty, err)
	}
	start := time.Now()
	require.NoError(t, Settle(fs))
	took := time.Since(start)
	require.Less(t, took, settleTimeout/2, "Settle waited for the flusher")
	dirty, err := dirtyBytes()
	require.NoError(t, err)
	require.Less(t, dirty, int64(settleDirty))
}
