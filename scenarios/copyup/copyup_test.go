package copyup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/units"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/scenariotest"
)

func TestMain(m *testing.M) { scenariotest.Main(m) }

func sizeCase(size int64, cache string, floor bool) scenarios.Case {
	return scenarios.Case{Params: params(size, cache), Floor: floor}
}

// measure runs one case (a floor when driver is "") and returns the
// medians by metric, skipping a driver this host cannot run.
func measure(t *testing.T, fs *backing.FS, driver string, c scenarios.Case, n int) map[string]float64 {
	t.Helper()
	ms := scenariotest.Measure(t, New(), scenariotest.Env(t, fs, driver), c, n)
	scenariotest.RequireSamples(t, ms, n, "first-write", "second-write", "chmod", "copy-fsync")
	return scenariotest.Medians(ms)
}

func TestCases(t *testing.T) {
	quick := New().Cases(scenarios.Quick)
	var names []string
	for _, c := range quick {
		if !c.Floor {
			names = append(names, c.Name())
		}
	}
	assert.Equal(t, []string{
		"size=0B/cache=cold", "size=0B/cache=warm", "size=4KiB/cache=cold", "size=4KiB/cache=warm",
		"size=64KiB/cache=cold", "size=64KiB/cache=warm", "size=1MiB/cache=cold", "size=1MiB/cache=warm",
		"size=16MiB/cache=cold", "size=16MiB/cache=warm", "size=64MiB/cache=cold", "size=64MiB/cache=warm",
	}, names)
	assert.Len(t, quick, 2*len(names), "a floor for every case")
	full := New().Cases(scenarios.Full)
	assert.Equal(t, "size=1GiB/cache=warm", full[len(full)-1].Name())
	assert.Equal(t, int64(8<<30+64<<20), New().SpaceNeeded(scenarios.Full, full))
}

// The known story on overlay2: copy-up time grows with the file's size,
// stays within a small factor of a plain copy+fsync of the same bytes, and
// is paid once: the second write finds the file already copied.
func TestOverlay2CopyUpGrowsWithSize(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	small := measure(t, fs, "overlay2", sizeCase(4<<10, "cold", false), 3)
	empty := measure(t, fs, "overlay2", sizeCase(0, "cold", false), 3)
	big := measure(t, fs, "overlay2", sizeCase(16<<20, "cold", false), 3)
	floor := measure(t, fs, "", sizeCase(16<<20, "cold", true), 3)
	t.Logf("overlay2 on tmpfs: first-write 0B %.0f ns, 4KiB %.0f ns, 16MiB %.0f ns (second %.0f ns, chmod %.0f ns); floor copy-fsync 16MiB %.0f ns",
		empty["first-write"], small["first-write"], big["first-write"], big["second-write"], big["chmod"], floor["copy-fsync"])
	assert.Greater(t, big["first-write"], small["first-write"], "copy-up of 16MiB vs 4KiB")
	assert.Less(t, big["second-write"], big["first-write"]/10, "the second write finds the file copied up")
	assert.Less(t, big["first-write"], 5*floor["copy-fsync"], "copy-up within 5x of a plain copy+fsync")
	assert.Greater(t, big["chmod"], small["chmod"], "without metacopy chmod copies the data up too")
}

// vfs has no union: the container is a copy already, so the first write
// costs what the second does (loosely: within 10x, a sample being a few
// syscalls), and far less than overlay2's copy-up of the same file.
func TestVfsHasNoCopyUp(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	vfs := measure(t, fs, "vfs", sizeCase(16<<20, "cold", false), 3)
	ovl := measure(t, fs, "overlay2", sizeCase(16<<20, "cold", false), 3)
	t.Logf("16MiB on tmpfs: vfs first-write %.0f ns, second-write %.0f ns, chmod %.0f ns; overlay2 first-write %.0f ns",
		vfs["first-write"], vfs["second-write"], vfs["chmod"], ovl["first-write"])
	assert.Less(t, vfs["first-write"], 10*vfs["second-write"])
	assert.Less(t, vfs["first-write"], ovl["first-write"]/10)
}

// On a loop device the first write of a 16MiB lower file writes at least
// the file to the device (the copy is fsynced), as the plain copy does;
// with metacopy=on a chmod copies no data.
func TestDeviceBytesAndMetacopyOnExt4(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Ext4, 1<<30)
	const size = 16 << 20
	ovl := measure(t, fs, "overlay2", sizeCase(size, "cold", false), 3)
	floor := measure(t, fs, "", sizeCase(size, "cold", true), 3)
	t.Logf("overlay2 on ext4, 16MiB cold: first-write %.0f ns, %.0f device bytes; second-write %.0f ns; chmod %.0f ns; floor copy-fsync %.0f ns, %.0f device bytes",
		ovl["first-write"], ovl["first-write-device-bytes"], ovl["second-write"], ovl["chmod"], floor["copy-fsync"], floor["copy-fsync-device-bytes"])
	assert.GreaterOrEqual(t, ovl["first-write-device-bytes"], float64(size))
	assert.GreaterOrEqual(t, floor["copy-fsync-device-bytes"], float64(size))
	assert.Less(t, ovl["first-write"], 5*floor["copy-fsync"], "copy-up within 5x of a plain copy+fsync")

	meta := measure(t, fs, "overlay2+metacopy=on+redirect_dir=on", sizeCase(size, "cold", false), 3)
	t.Logf("overlay2+metacopy=on, 16MiB cold: first-write %.0f ns, chmod %.0f ns", meta["first-write"], meta["chmod"])
	assert.Less(t, meta["chmod"], ovl["chmod"]/4, "metacopy=on: chmod copies the inode, not the data")
}

func TestEveryDriver(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Ext4, 1<<30)
	for _, driver := range []string{"overlay", "fuse-overlayfs", "vfs"} {
		t.Run(driver, func(t *testing.T) {
			for _, cache := range caches {
				for _, size := range []int64{0, 1 << 20} {
					got := measure(t, fs, driver, sizeCase(size, cache, false), 2)
					t.Logf("%s %s %s: first-write %.0f ns (%.0f device bytes), second-write %.0f ns, chmod %.0f ns",
						driver, units.FormatSize(size), cache, got["first-write"], got["first-write-device-bytes"], got["second-write"], got["chmod"])
					if size > 0 && driver != "vfs" {
						assert.GreaterOrEqual(t, got["first-write-device-bytes"], float64(size), "the copy-up reaches the device")
					}
				}
			}
		})
	}
}

// A drop of the caches by someone else between settled and the end of a
// try makes Undisturbed take the sample again.
func TestUndisturbedRetriesAfterAForeignDrop(t *testing.T) {
	testenv.NeedRoot(t, "dropping the caches")
	tries := 0
	err := Undisturbed(func(settled func() error) error {
		tries++
		if err := settled(); err != nil {
			return err
		}
		if tries == 1 {
			return scenarios.DropCaches()
		}
		return nil
	})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, tries, 2)
}

// Each driver timing is paired with the floor operation doing the same
// work: a copy for a copying operation, a plain write or chmod for one
// that copies nothing, so the ratio divides like by like.
func TestFloorsDivideLikeByLike(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	c := sizeCase(4<<10, "warm", false)
	floors := func(variant string) map[string]string {
		out := map[string]string{}
		for _, m := range scenariotest.Measure(t, New(), scenariotest.Env(t, fs, variant), c, 2) {
			out[m.Metric] = m.Floor
		}
		return out
	}
	assert.Equal(t, map[string]string{
		"first-write": "copy-fsync/size=4KiB/cache=warm", "second-write": "write/size=4KiB/cache=warm", "chmod": "copy-fsync/size=4KiB/cache=warm",
	}, floors("overlay2"))
	assert.Equal(t, map[string]string{
		"first-write": "write/size=4KiB/cache=warm", "second-write": "write/size=4KiB/cache=warm", "chmod": "chmod/size=4KiB/cache=warm",
	}, floors("vfs"), "vfs copies nothing")
	assert.Equal(t, "chmod/size=4KiB/cache=warm", floors("overlay2+metacopy=on+redirect_dir=on")["chmod"], "metacopy: chmod copies no data")

	ms := scenariotest.Measure(t, New(), scenariotest.Env(t, fs, ""), sizeCase(4<<10, "warm", true), 3)
	scenariotest.RequireSamples(t, ms, 3, "copy-fsync", "write", "chmod")
	med := scenariotest.Medians(ms)
	assert.Less(t, med["write"], med["copy-fsync"], "a one-byte write to the copy is less than the copy")
	scenariotest.AssertNothingLeft(t, fs)
}

// Device bytes carry their resolution in whole blocks of the backing fs,
// whatever the samples happen to share: identical samples (whose common
// divisor is the sample itself) must not make every change too small to
// call.
func TestDeviceBytesResolutionIsInBlocks(t *testing.T) {
	fs := &backing.FS{Dir: t.TempDir()}
	s := newSeries(fs, "first-write", "second-write", "chmod")
	for range 3 {
		s.add(sample{times: make([]time.Duration, 3), deviceBytes: 100 << 10})
	}
	ms := s.measurements()
	require.Len(t, ms, 4)
	dev := ms[3]
	assert.Equal(t, "first-write-device-bytes", dev.Metric)
	assert.False(t, dev.Exact)
	assert.Equal(t, journalSlack*blockSize(fs), dev.Extra[results.ResolutionExtra])
	assert.Less(t, dev.Extra[results.ResolutionExtra].(float64), float64(100<<10), "a 100 KiB count still moves visibly")
}
