package mount

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/scenariotest"
)

func TestMain(m *testing.M) { scenariotest.Main(m) }

func depthCase(depth int) scenarios.Case { return scenariotest.Case(fmt.Sprintf("depth=%d", depth)) }

// measure returns the median mount and unmount times of one case.
func measure(t *testing.T, fs *backing.FS, driver string, depth, n int) (mount, unmount float64) {
	t.Helper()
	ms := scenariotest.Measure(t, New(), scenariotest.Env(t, fs, driver), depthCase(depth), n)
	require.Len(t, ms, 2)
	assert.Equal(t, "mount", ms[0].Metric)
	assert.Equal(t, "unmount", ms[1].Metric)
	scenariotest.RequireSamples(t, ms, n)
	assert.Equal(t, "ns", ms[0].Unit)
	assert.Equal(t, "ns", ms[1].Unit)
	scenariotest.AssertNothingLeft(t, fs)
	mount, unmount = scenariotest.Median(ms[0].Samples), scenariotest.Median(ms[1].Samples)
	t.Logf("%s depth %d: mount %.0f ns, unmount %.0f ns", driver, depth, mount, unmount)
	return mount, unmount
}

func TestCases(t *testing.T) {
	var names []string
	floors := 0
	for _, c := range New().Cases(scenarios.Quick) {
		if c.Floor {
			floors++
			assert.Empty(t, c.Params, "one bind mount, whatever the depth")
			continue
		}
		names = append(names, c.Name())
	}
	assert.Equal(t, 1, floors)
	assert.Equal(t, []string{"depth=1", "depth=16", "depth=64"}, names)
	assert.Len(t, New().Cases(scenarios.Full), 11)
}

func TestMountTimeByDriver(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)

	t.Run("overlay2", func(t *testing.T) {
		shallow, _ := measure(t, fs, "overlay2", 1, 7)
		deep, _ := measure(t, fs, "overlay2", 64, 7)
		assert.Greater(t, deep, shallow, "overlay2 resolves one lowerdir per layer: 64 take longer than 1")
	})
	t.Run("vfs", func(t *testing.T) {
		_, err := New().Measure(context.Background(), scenariotest.Env(t, fs, "vfs"), depthCase(16), 1)
		require.ErrorIs(t, err, drivers.ErrNotSupported, "vfs mounts nothing: there is no mount to time")
	})
	t.Run("floor", func(t *testing.T) {
		ms := scenariotest.Measure(t, New(), scenariotest.Env(t, fs, ""), scenarios.Case{Floor: true}, 7)
		require.Len(t, ms, 2)
		scenariotest.RequireSamples(t, ms, 7)
		scenariotest.AssertNothingLeft(t, fs)
		bind := scenariotest.Median(ms[0].Samples)
		ovl, _ := measure(t, fs, "overlay2", 16, 7)
		t.Logf("floor: bind mount %.0f ns, unmount %.0f ns", bind, scenariotest.Median(ms[1].Samples))
		assert.Less(t, bind, ovl, "a bind mount is less work than an overlay of 16 lowers")
	})
	for _, driver := range []string{"overlay", "fuse-overlayfs"} {
		t.Run(driver, func(t *testing.T) { measure(t, fs, driver, 16, 3) })
	}
}

func TestDepthBeyondTheLimitIsNotSupported(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	env := scenariotest.Env(t, fs, "overlay2")
	_, err := New().Measure(context.Background(), env, depthCase(128), 1)
	require.ErrorIs(t, err, drivers.ErrNotSupported, "overlay2 stacks 129 layers by default: 128 + a container do not fit")
	env.MaxDepth = 130
	ms, err := New().Measure(context.Background(), env, depthCase(128), 1)
	require.NoError(t, err, "--max-depth raises the limit")
	assert.Len(t, ms[0].Samples, 1)
}
