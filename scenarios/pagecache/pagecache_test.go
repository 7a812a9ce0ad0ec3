package pagecache

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/reports/units"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/scenariotest"
)

func TestMain(m *testing.M) { scenariotest.Main(m) }

// newFS makes an ext4 backing fs: on tmpfs the files are the page cache
// and nothing can be dropped.
func newFS(t *testing.T) *backing.FS { return scenariotest.NewFS(t, backing.Ext4, 1<<30) }

func countCase(containers int, size int64, floor bool) scenarios.Case {
	c := scenariotest.Case(fmt.Sprintf("containers=%d/size=%s", containers, units.FormatSize(size)))
	c.Floor = floor
	return c
}

// measure runs one case (the floor when driver is "") and returns the
// medians by metric, skipping a driver this host cannot run.
func measure(t *testing.T, fs *backing.FS, driver string, c scenarios.Case, n int) map[string]float64 {
	t.Helper()
	ms := scenariotest.Measure(t, New(), scenariotest.Env(t, fs, driver), c, n)
	scenariotest.RequireSamples(t, ms, n, "read", "resident-bytes")
	out := scenariotest.Medians(ms)
	assert.Len(t, out, 5)
	t.Logf("%-14s %s: cache-copies %.2f, resident %.1f MiB, meminfo Cached +%.1f MiB (%.1f MiB per container), read %.1f ms per container",
		driver, c.Name(), out["cache-copies"], out["resident-bytes"]/(1<<20), out["cache-bytes"]/(1<<20), out["cache-bytes-per-container"]/(1<<20), out["read"]/1e6)
	return out
}

func TestCases(t *testing.T) {
	assert.Equal(t, []string{
		"containers=1/size=32MiB floor=true", "containers=2/size=32MiB floor=true",
		"containers=4/size=32MiB floor=true", "containers=8/size=32MiB floor=true",
		"containers=1/size=32MiB floor=false", "containers=2/size=32MiB floor=false",
		"containers=4/size=32MiB floor=false", "containers=8/size=32MiB floor=false",
	}, scenariotest.CaseNames(New().Cases(scenarios.Quick)))
	full := New().Cases(scenarios.Full)
	assert.Equal(t, "containers=16/size=256MiB", full[len(full)-1].Name())
	assert.Equal(t, int64(34*256<<20+spaceMargin), New().SpaceNeeded(scenarios.Full, full))
}

func TestBadCases(t *testing.T) {
	env := &scenarios.Env{}
	// The conformance suite (scenarios/all) tries malformed cases; these
	// are well-formed ones outside what pagecache measures.
	for _, c := range []scenarios.Case{countCase(0, 1<<20, false), countCase(1001, 1<<20, false), countCase(2, 0, false)} {
		_, err := New().Measure(context.Background(), env, c, 1)
		assert.Error(t, err, c.Name())
		assert.NotErrorIs(t, err, drivers.ErrNotSupported, c.Name())
	}
}

func TestTmpfsIsNotSupported(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 64<<20)
	_, err := New().Measure(context.Background(), scenariotest.Env(t, fs, "vfs"), countCase(2, 1<<20, false), 1)
	assert.ErrorIs(t, err, drivers.ErrNotSupported)
	assert.ErrorContains(t, err, "tmpfs")
}

// The known story: overlay2's containers share one copy of the lower
// file's pages; vfs's hold one each.
func TestOverlay2SharesVfsDoesNot(t *testing.T) {
	fs := newFS(t)
	const size = 16 << 20
	ovl := measure(t, fs, "overlay2", countCase(4, size, false), 3)
	vfs := measure(t, fs, "vfs", countCase(4, size, false), 3)
	floor := measure(t, fs, "", countCase(4, size, true), 3)
	assert.Less(t, ovl["cache-copies"], 1.5, "overlay2: one copy shared by 4 containers")
	assert.Greater(t, ovl["cache-copies"], 0.9, "overlay2: the file was read")
	assert.Greater(t, vfs["cache-copies"], 3.0, "vfs: a copy per container")
	assert.Less(t, vfs["cache-copies"], 4.5)
	assert.InDelta(t, 1.0, floor["cache-copies"], 0.1, "the floor: one file read 4 times")
	// meminfo is host-wide and noisy (and counts the loop image's pages
	// too), so only the order is checked.
	assert.Greater(t, vfs["cache-bytes"], 2*ovl["cache-bytes"], "meminfo's Cached tells the same story")
}

func TestEveryDriver(t *testing.T) {
	fs := newFS(t)
	for _, driver := range []string{"overlay", "fuse-overlayfs"} {
		t.Run(driver, func(t *testing.T) {
			one := measure(t, fs, driver, countCase(1, 8<<20, false), 2)
			four := measure(t, fs, driver, countCase(4, 8<<20, false), 2)
			assert.GreaterOrEqual(t, one["cache-copies"], 0.9, "the file was read")
			if driver == "overlay" {
				assert.Less(t, four["cache-copies"], 1.5, "legacy overlay shares the lower file as overlay2 does")
			}
		})
	}
}

// cachestat and the mincore fallback must agree on a file read halfway.
func TestResidentBytesMethodsAgree(t *testing.T) {
	fs := newFS(t)
	p := filepath.Join(fs.Dir, "f")
	require.NoError(t, os.WriteFile(p, make([]byte, 8<<20), 0o644))
	require.NoError(t, scenarios.DropCaches())
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.Read(make([]byte, 4<<20))
	require.NoError(t, err)
	fd := int(f.Fd())
	// The read started asynchronous readahead: wait until the resident
	// count stops moving, or the two methods read two different moments.
	settled := func() int64 {
		last := int64(-1)
		for range 100 {
			n, err := residentBytes(fd)
			require.NoError(t, err)
			if n == last {
				return n
			}
			last = n
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("the file's resident pages kept changing for 2 s")
		return 0
	}
	viaCachestat := settled()
	viaMincore, err := mincoreBytes(fd)
	require.NoError(t, err)
	assert.Equal(t, viaCachestat, viaMincore)
	assert.GreaterOrEqual(t, viaCachestat, int64(4<<20))
	assert.Less(t, viaCachestat, int64(8<<20), "readahead stops short of the whole file")
	require.NoError(t, unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED))
	assert.Zero(t, settled())
}
