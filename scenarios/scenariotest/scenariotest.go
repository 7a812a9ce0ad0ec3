// Package scenariotest holds test helpers shared by the scenario packages'
// tests (copyup, lookup, inodes, mount, pagecache, quirks) and the
// command's: the root check, a backing filesystem per test, medians, and a
// Measure that checks a case leaves the backing fs as it found it. It is
// not imported by non-test code.
//
// Importing it registers every driver (drivers/all), as the tests that
// name drivers need.
package scenariotest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/montanaflynn/stats"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/scenarios"
)

// NeedRoot skips the test unless it runs as root. With CI=true it fails
// instead: the CI runner is root, and a skip there would hide a broken
// suite. what says what needs root, as a clause ("the copyup scenario
// mounts filesystems").
func NeedRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but not root: %s, and under CI this test must run, not skip", what)
	}
	t.Skipf("%s: needs root", what)
}

// NewFS creates a backing filesystem of kind and size in the test's
// temporary directory, and closes it, asserting no error, when the test
// ends.
func NewFS(t testing.TB, kind backing.Kind, size int64) *backing.FS {
	t.Helper()
	fs, err := backing.Create(t.TempDir(), backing.Spec{Kind: kind, Size: size})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, fs.Close()) })
	return fs
}

// Median is the median of samples: the middle one, or the mean of the
// middle two for an even count. It panics when there are none: the caller
// measured nothing.
func Median(samples []float64) float64 {
	m, err := stats.Median(samples)
	if err != nil {
		panic(fmt.Sprintf("scenariotest.Median: %v", err))
	}
	return m
}

// Medians maps each measurement's metric to the median of its samples.
func Medians(ms []scenarios.Measurement) map[string]float64 {
	out := make(map[string]float64, len(ms))
	for _, m := range ms {
		out[m.Metric] = Median(m.Samples)
	}
	return out
}

// CaseNames names each case with its floor flag, in order:
// "depth=1/cache=cold floor=false".
func CaseNames(cases []scenarios.Case) []string {
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = fmt.Sprintf("%s floor=%v", c.Name(), c.Floor)
	}
	return names
}

// ListDir names what fs.Dir holds, sorted.
func ListDir(t testing.TB, fs *backing.FS) []string {
	t.Helper()
	ents, err := os.ReadDir(fs.Dir)
	require.NoError(t, err)
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names
}

// Measure runs one case of s in env (a floor when env.Variant is the zero
// variant) and returns its measurements. It skips the test when the
// variant cannot run the case here (drivers.ErrNotSupported), fails it on
// any other error, and asserts that Measure left fs.Dir holding what it
// held before.
func Measure(t testing.TB, s scenarios.Scenario, env *scenarios.Env, c scenarios.Case, n int) []scenarios.Measurement {
	t.Helper()
	before := ListDir(t, env.FS)
	ms, err := s.Measure(context.Background(), env, c, n)
	if errors.Is(err, drivers.ErrNotSupported) {
		t.Skip(err)
	}
	variant := env.Variant.String()
	if variant == "" {
		variant = "floor"
	}
	require.NoError(t, err, "%s %s", variant, c.Name())
	assert.Equal(t, before, ListDir(t, env.FS), "%s %s: Measure removes what it built", variant, c.Name())
	return ms
}

// AssertNothingLeft asserts that the only mount at or below fs.Dir is the
// backing fs itself, and that fs.Dir holds nothing but what mkfs put there
// (ext4's lost+found).
func AssertNothingLeft(t testing.TB, fs *backing.FS) {
	t.Helper()
	mounts, err := mountutil.MountsUnder(fs.Dir)
	require.NoError(t, err)
	var points []string
	for _, m := range mounts {
		points = append(points, m.Mountpoint)
	}
	var want []string
	if fs.Spec.Kind != backing.Dir {
		want = []string{fs.Dir}
	}
	assert.Equal(t, want, points, "mounts left behind at or below the backing fs")
	for _, name := range ListDir(t, fs) {
		if name != "lost+found" || fs.Spec.Kind != backing.Ext4 {
			assert.Fail(t, "left on the backing fs", "%s in %s", name, fs.Dir)
		}
	}
}
