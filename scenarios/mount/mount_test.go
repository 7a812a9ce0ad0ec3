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
	for _, c := range New().Cases(scenarios.Quick) {
		assert.False(t, c.Floor)
		names = append(names, c.Name())
	}
	assert.Equal(t, []string{"depth=1", "depth=16", "depth=64"}, names)
	assert.Len(t, New().Cases(scenarios.Full), 10)
}

func TestMountTimeByDriver(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)

	t.Run("overlay2", func(t *testing.T) {
		shallow, _ := measure(t, fs, "overlay2", 1, 7)
		deep, _ := measure(t, fs, "overlay2", 64, 7)
		assert.Greater(t, deep, shallow, "overlay2 resolves one lowerdir per layer: 64 take longer than 1")
	})
	t.Run("vfs", func(t *testing.T) {
		mount, unmount := measure(t, fs, "vfs", 16, 7)
		assert.Less(t, mount, 1e6, "vfs mounts nothing: its Mount is a map lookup")
		assert.Less(t, unmount, 1e6)
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
