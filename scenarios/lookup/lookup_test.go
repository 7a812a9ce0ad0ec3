package lookup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/fuseoverlayfs"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/scenariotest"
)

func TestMain(m *testing.M) { scenariotest.Main(m) }

func depthCase(depth int, cache string) scenarios.Case {
	return scenariotest.Case(fmt.Sprintf("depth=%d/cache=%s", depth, cache))
}

// measure runs one case and returns the samples by metric, skipping a
// driver this host cannot run.
func measure(t *testing.T, fs *backing.FS, driver string, c scenarios.Case, n int) map[string][]float64 {
	t.Helper()
	ms := scenariotest.Measure(t, New(), scenariotest.Env(t, fs, driver), c, n)
	scenariotest.RequireSamples(t, ms, n)
	out := map[string][]float64{}
	for _, m := range ms {
		assert.Equal(t, "ns", m.Unit)
		out[m.Metric] = m.Samples
	}
	assert.Len(t, out, 4, "stat, open, enoent and readdir")
	return out
}

func TestCases(t *testing.T) {
	assert.Equal(t, []string{
		"cache=cold floor=true", "cache=warm floor=true",
		"depth=1/cache=cold floor=false", "depth=1/cache=warm floor=false",
		"depth=4/cache=cold floor=false", "depth=4/cache=warm floor=false",
		"depth=16/cache=cold floor=false", "depth=16/cache=warm floor=false",
		"depth=64/cache=cold floor=false", "depth=64/cache=warm floor=false",
	}, scenariotest.CaseNames(New().Cases(scenarios.Quick)))
	full := New().Cases(scenarios.Full)
	assert.Equal(t, "depth=499", full[len(full)-1].Params[0].Key+"="+full[len(full)-1].Params[0].Value)
}

// On overlay2 a cold stat of a bottom-layer file looks "bottom" up in
// every layer, so depth 64 must cost more than depth 1.
func TestColdStatGrowsWithDepthOnOverlay2(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	shallow := measure(t, fs, "overlay2", depthCase(1, "cold"), 9)
	deep := measure(t, fs, "overlay2", depthCase(64, "cold"), 9)
	for _, m := range []string{"stat", "open", "enoent", "readdir"} {
		t.Logf("overlay2 cold %-7s depth 1: %8.0f ns  depth 64: %8.0f ns", m, scenariotest.Median(shallow[m]), scenariotest.Median(deep[m]))
	}
	assert.Greater(t, scenariotest.Median(deep["stat"]), scenariotest.Median(shallow["stat"]), "cold stat at depth 64 vs depth 1")
	assert.Greater(t, scenariotest.Median(deep["readdir"]), scenariotest.Median(shallow["readdir"]), "cold readdir merges 64 layers")
}

func TestWarmStatIsFast(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	warm := measure(t, fs, "overlay2", depthCase(16, "warm"), 9)
	assert.Less(t, scenariotest.Median(warm["stat"]), 50e3, "a warm stat is a dentry-cache hit: well under 50µs")
}

// vfs has no union: its container is a plain tree whatever the depth, so
// the stat of one file must not grow with it (loosely: within 3x, a
// sample being one syscall).
func TestVfsStatDoesNotDependOnDepth(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Ext4, 1<<30)
	shallow := measure(t, fs, "vfs", depthCase(1, "cold"), 9)
	deep := measure(t, fs, "vfs", depthCase(64, "cold"), 9)
	t.Logf("vfs cold stat depth 1: %.0f ns, depth 64: %.0f ns", scenariotest.Median(shallow["stat"]), scenariotest.Median(deep["stat"]))
	assert.Less(t, scenariotest.Median(deep["stat"]), 3*scenariotest.Median(shallow["stat"]))
}

func TestEveryDriverAndTheFloor(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Ext4, 1<<30)
	for _, driver := range []string{"overlay", "fuse-overlayfs", "vfs"} {
		t.Run(driver, func(t *testing.T) {
			for _, cache := range caches {
				got := measure(t, fs, driver, depthCase(8, cache), 3)
				t.Logf("%s depth 8 %s: stat %.0f open %.0f enoent %.0f readdir %.0f ns", driver, cache,
					scenariotest.Median(got["stat"]), scenariotest.Median(got["open"]), scenariotest.Median(got["enoent"]), scenariotest.Median(got["readdir"]))
			}
		})
	}
	for _, cache := range caches {
		ms := scenariotest.Measure(t, New(), scenariotest.Env(t, fs, ""), scenariotest.Floor("cache="+cache), 3)
		require.Len(t, ms, 4)
		for _, m := range ms {
			require.Len(t, m.Samples, 3)
			assert.Positive(t, scenariotest.Median(m.Samples), "floor %s %s", cache, m.Metric)
		}
	}
}

func TestDepthBeyondTheDriversLimitIsNotSupported(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	env := scenariotest.Env(t, fs, "vfs")
	_, err := New().Measure(context.Background(), env, depthCase(127, "warm"), 1)
	require.ErrorIs(t, err, drivers.ErrNotSupported, "vfs stacks 128 layers: 127 image layers and a container do not fit")
	assert.Contains(t, err.Error(), "depth 127")
	scenariotest.AssertNothingLeft(t, fs) // what was built before the depth check is removed

	_, err = New().Measure(context.Background(), env, depthCase(0, "warm"), 1)
	require.Error(t, err)
	assert.NotErrorIs(t, err, drivers.ErrNotSupported, "depth 0 is bad input, not a driver limit")
	_, err = New().Measure(context.Background(), env, scenariotest.Case("depth=4/cache=tepid"), 1)
	assert.ErrorContains(t, err, `cache "tepid"`)
}

// fuse-overlayfs's daemon runs on the CPU the samples run on, and the
// records say so: a warm open is a round trip to it, whose cost is where
// the daemon runs (see pin.go).
func TestFuseDaemonIsPinnedToTheSamplingCPU(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Ext4, 1<<30)
	env := scenariotest.Env(t, fs, fuseoverlayfs.Name)
	s, err := New().Prepare(context.Background(), env, depthCase(4, "warm"))
	if errors.Is(err, drivers.ErrNotSupported) {
		t.Skip(err)
	}
	require.NoError(t, err)
	defer func() { assert.NoError(t, s.Close()) }()
	require.NoError(t, s.Sample(context.Background()))
	cpu := s.(*sampler).cpu
	mounts, err := mountutil.MountsUnder(fs.Dir)
	require.NoError(t, err)
	var daemons []int
	for _, m := range mounts {
		if strings.HasPrefix(m.FSType, "fuse") {
			pids, err := fuseoverlayfs.Daemons(m.Mountpoint)
			require.NoError(t, err)
			daemons = append(daemons, pids...)
		}
	}
	require.NotEmpty(t, daemons, "a fuse-overlayfs daemon serves the container")
	for _, pid := range daemons {
		tid, err := innermostID(fmt.Sprintf("/proc/%d/status", pid))
		require.NoError(t, err)
		var set unix.CPUSet
		require.NoError(t, unix.SchedGetaffinity(tid, &set))
		assert.Equal(t, 1, set.Count(), "daemon %d runs on one CPU", pid)
		assert.True(t, set.IsSet(cpu), "daemon %d on the sampling CPU %d", pid, cpu)
	}
	for _, m := range s.Measurements() {
		assert.Contains(t, m.Extra["pinned"], fmt.Sprintf("CPU %d, and the fuse-overlayfs daemon", cpu), m.Metric)
	}
}
