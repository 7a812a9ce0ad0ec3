// Package scenariotest holds what the scenario packages' tests share: the
// conformance suite every registered scenario runs (RunSuite, run for all
// of them by scenarios/all's test), and the helpers their own tests use to
// make a backing filesystem, name a case, measure one and read its
// medians, checking on the way that a case leaves the backing fs as it
// found it. It is not imported by non-test code; settings (root, CI,
// backing kinds) come from internal/testenv.
//
// Importing it registers every driver (drivers/all), as the tests that
// name drivers need.
//
// The per-scenario tests stay in their packages: they assert what each
// scenario measures (copy-up grows with size, vfs shares no page cache),
// which no suite can say for all of them.
package scenariotest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
	"github.com/unionbench/unionbench/scenarios"
)

// Main is the TestMain of a scenario package: its tests mount, so they run
// in a private mount namespace (internal/sandbox) that is checked for
// leftovers afterwards.
func Main(m *testing.M) { sandbox.RunTests(m) }

// NewFS creates a backing filesystem of kind and size in the test's
// temporary directory, and closes it, asserting no error, when the test
// ends. It needs root (testenv.NeedRoot): every backing fs but a plain
// directory is a mount.
func NewFS(t testing.TB, kind backing.Kind, size int64) *backing.FS {
	t.Helper()
	testenv.NeedRoot(t, "a scenario test mounts its backing filesystem and drivers")
	fs, err := backing.Create(t.TempDir(), backing.Spec{Kind: kind, Size: size})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, fs.Close()) })
	return fs
}

// Case is the case a name such as "depth=16/cache=cold" names, in the form
// Case.Name renders; "" is the case without parameters. A malformed name
// is a mistake in the test and panics.
func Case(name string) scenarios.Case {
	var c scenarios.Case
	if name == "" {
		return c
	}
	for _, kv := range strings.Split(name, "/") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			panic(fmt.Sprintf("scenariotest.Case(%q): %q is not key=value", name, kv))
		}
		c.Params = append(c.Params, results.P(k, v))
	}
	return c
}

// Floor is Case(name) as a floor case.
func Floor(name string) scenarios.Case {
	c := Case(name)
	c.Floor = true
	return c
}

// Env is the environment to measure variant on fs: a floor's when variant
// is "", else the variant as `--drivers` spells it ("overlay2+metacopy=on").
func Env(t testing.TB, fs *backing.FS, variant string) *scenarios.Env {
	t.Helper()
	env := &scenarios.Env{FS: fs}
	if variant != "" {
		v, err := drivers.ParseVariant(variant)
		require.NoError(t, err)
		env.Variant = v
	}
	return env
}

// Median is the median of samples (reports/stats.Median). It panics when
// there are none: the caller measured nothing.
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

// RequireSamples requires n samples of every metric of ms, and asserts
// that those of the named metrics (every metric when none is named; names
// ms lacks are passed over) are positive: a time, or a count of something
// that must exist.
func RequireSamples(t testing.TB, ms []scenarios.Measurement, n int, positive ...string) {
	t.Helper()
	for _, m := range ms {
		require.Len(t, m.Samples, n, m.Metric)
		if len(positive) > 0 && !slices.Contains(positive, m.Metric) {
			continue
		}
		for _, s := range m.Samples {
			assert.Positive(t, s, m.Metric)
		}
	}
}

// ByMetric maps each measurement's metric to it.
func ByMetric(ms []scenarios.Measurement) map[string]scenarios.Measurement {
	out := make(map[string]scenarios.Measurement, len(ms))
	for _, m := range ms {
		out[m.Metric] = m
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
// held before, with no mount or loop device of its own left.
func Measure(t testing.TB, s scenarios.Scenario, env *scenarios.Env, c scenarios.Case, n int) []scenarios.Measurement {
	t.Helper()
	before := ListDir(t, env.FS)
	ms, err := s.Measure(context.Background(), env, c, n)
	if errors.Is(err, drivers.ErrNotSupported) {
		t.Skip(err)
	}
	what := fmt.Sprintf("%s %s", variantName(env), c.Name())
	require.NoError(t, err, what)
	assert.Equal(t, before, ListDir(t, env.FS), "%s: Measure removes what it built", what)
	assertNoMountsOrLoops(t, env.FS, what)
	return ms
}

func variantName(env *scenarios.Env) string {
	if v := env.Variant.String(); v != "" {
		return v
	}
	return "floor"
}

// AssertNothingLeft asserts that the only mount at or below fs.Dir is the
// backing fs itself, that no loop device is attached to a file below it,
// and that fs.Dir holds nothing but what mkfs put there (ext4's
// lost+found).
func AssertNothingLeft(t testing.TB, fs *backing.FS) {
	t.Helper()
	assertNoMountsOrLoops(t, fs, "")
	for _, name := range ListDir(t, fs) {
		if name != "lost+found" || fs.Spec.Kind != backing.Ext4 {
			assert.Fail(t, "left on the backing fs", "%s in %s", name, fs.Dir)
		}
	}
}

// loopDetach is how long a loop device may take to go away after the
// filesystem on it was unmounted (autoclear runs when its last reference
// is dropped, asynchronously).
const loopDetach = 5 * time.Second

func assertNoMountsOrLoops(t testing.TB, fs *backing.FS, what string) {
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
	assert.Equal(t, want, points, "%s: mounts left behind at or below the backing fs", what)
	assert.Empty(t, loopsBelow(t, fs.Dir), "%s: loop devices left attached to files below the backing fs", what)
}

// loopsBelow lists the loop devices attached to a file below dir, waiting
// up to loopDetach for them to go. Only those are a scenario's: other
// processes attach loop devices meanwhile.
func loopsBelow(t testing.TB, dir string) []string {
	t.Helper()
	deadline := time.Now().Add(loopDetach)
	for {
		st, err := sandbox.ReadHostState()
		require.NoError(t, err)
		var ours []string
		for _, l := range st.Loops {
			if strings.Contains(l, " "+dir+"/") {
				ours = append(ours, l)
			}
		}
		if len(ours) == 0 || time.Now().After(deadline) {
			return ours
		}
		time.Sleep(50 * time.Millisecond)
	}
}
