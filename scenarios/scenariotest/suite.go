package scenariotest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// RunSuite runs the scenario conformance suite on s, as drivertest does
// for drivers. Without mounting anything it checks both suites' cases:
// names unique and key=value shaped, the same on every call, and every
// driver case that has a floor paired with its floor case in the same
// suite. Then, as root, on each backing kind of testenv.Backings (a fresh
// backing fs each), with overlay2, or vfs where overlay2 cannot run it,
// on the quick suite's smallest case, it checks that:
//
//   - bad input is refused promptly with an error, neither a panic nor a
//     measurement nor "not supported": an unknown parameter, each
//     parameter left out or given a bad value, a floor case the suite does
//     not list, and n < 1;
//   - Measure returns n samples of every metric (one or more for counts a
//     scenario takes once whatever n, see countedOnce), for the case and
//     for its floor;
//   - an already cancelled context makes it return at once with an error
//     wrapping context.Canceled, and a context cancelled mid-case (n far
//     beyond what fits in the bound) within cancelBound, with that error
//     or, for a case whose work does not grow with n, the whole case;
//
// and that each of these left the backing fs as it found it: no entry,
// mount or loop device of its own.
func RunSuite(t *testing.T, s scenarios.Scenario) {
	t.Run("CaseNames", func(t *testing.T) {
		for _, suite := range []scenarios.Suite{scenarios.Quick, scenarios.Full} {
			checkCaseNames(t, s, suite)
		}
	})
	t.Run("FloorsPaired", func(t *testing.T) {
		all := append(s.Cases(scenarios.Quick), s.Cases(scenarios.Full)...)
		for _, suite := range []scenarios.Suite{scenarios.Quick, scenarios.Full} {
			checkFloors(t, suite, s.Cases(suite), all)
		}
	})
	c := smallest(s)
	measured := 0
	for _, kind := range testenv.Backings(t) {
		t.Run("backing="+string(kind), func(t *testing.T) {
			testenv.NeedRoot(t, "the scenario conformance suite mounts filesystems")
			fs := suiteFS(t, s, kind, c)
			env, ms := firstSupported(t, s, fs, c)
			measured++
			t.Run("MeasuresNSamples", func(t *testing.T) {
				checkSamples(t, ms, suiteSamples)
				measuredFloors := map[string]bool{}
				for _, f := range floorsOf(c, s.Cases(scenarios.Quick)) {
					fms := measureChecked(t, s, &scenarios.Env{FS: fs}, f, suiteSamples)
					checkSamples(t, fms, suiteSamples)
					for _, m := range fms {
						measuredFloors[results.CaseKey(m.Metric, f.Params...)] = true
					}
				}
				checkFloorRefs(t, ms, measuredFloors)
			})
			t.Run("RefusesBadInput", func(t *testing.T) { checkRefusals(t, s, env, c) })
			t.Run("StopsWhenCancelled", func(t *testing.T) { checkCancelled(t, s, env, c) })
			t.Run("StopsWhenCancelledMidCase", func(t *testing.T) { checkCancelledMidCase(t, s, env, c) })
		})
	}
	if testenv.CI() && measured == 0 {
		t.Errorf("CI=true, but %s measured its smallest case on no backing filesystem", s.Name())
	}
}

// suiteSamples is how many samples the suite asks for: more than one, so
// that a scenario returning one sample whatever n shows.
const suiteSamples = 3

// promptBound is how long refusing bad input or an already cancelled
// context may take: no more than checking the input, nothing built.
const promptBound = 2 * time.Second

// cancelBound is how long a scenario may take to return after its context
// is cancelled mid-case: the longest step it cannot interrupt (building
// one image, one sample, one quirk probe) and its cleanup, on a loaded
// 2-CPU machine.
const cancelBound = 20 * time.Second

// smallest is the quick suite's cheapest driver case: the one needing the
// least room on the backing fs (scenarios.Sizer), else the first.
func smallest(s scenarios.Scenario) scenarios.Case {
	var best scenarios.Case
	need := int64(math.MaxInt64)
	for _, c := range s.Cases(scenarios.Quick) {
		if c.Floor {
			continue
		}
		n := int64(0)
		if sz, ok := s.(scenarios.Sizer); ok {
			n = sz.SpaceNeeded(scenarios.Quick, []scenarios.Case{c})
		}
		if n < need {
			best, need = c, n
		}
	}
	return best
}

// suiteFS makes the backing fs of one kind, big enough for c; a kind this
// host cannot make skips (fails under CI=true, which provisions every
// kind).
func suiteFS(t *testing.T, s scenarios.Scenario, kind backing.Kind, c scenarios.Case) *backing.FS {
	t.Helper()
	size := int64(2 << 30)
	if sz, ok := s.(scenarios.Sizer); ok {
		size = max(size, 2*sz.SpaceNeeded(scenarios.Quick, []scenarios.Case{c}))
	}
	fs, err := backing.Create(t.TempDir(), backing.Spec{Kind: kind, Size: size})
	if errors.Is(err, backing.ErrUnsupported) {
		testenv.Skip(t, "backing %s: %v", kind, err)
	}
	require.NoError(t, err, "backing %s", kind)
	t.Cleanup(func() { assert.NoError(t, fs.Close()) })
	return fs
}

// suiteDrivers are the drivers the suite measures with, the first that
// can run the case: both run on every stock kernel.
var suiteDrivers = []string{"overlay2", "vfs"}

// firstSupported measures c with the first of suiteDrivers that can run it
// on fs and returns its env and measurements. When none can (pagecache on
// tmpfs: the files are page cache), the backing is skipped: that is the
// scenario's data, not a broken host.
func firstSupported(t *testing.T, s scenarios.Scenario, fs *backing.FS, c scenarios.Case) (*scenarios.Env, []scenarios.Measurement) {
	t.Helper()
	var why []string
	for _, d := range suiteDrivers {
		env := Env(t, fs, d)
		ms, err := measure(context.Background(), s, env, c, suiteSamples)
		AssertNothingLeft(t, fs)
		if errors.Is(err, drivers.ErrNotSupported) {
			why = append(why, fmt.Sprintf("%s: %v", d, err))
			continue
		}
		require.NoError(t, err, "%s %s on %s", d, c.Name(), fs.Spec.Kind)
		return env, ms
	}
	t.Skipf("%s %s cannot run on %s: %v", s.Name(), c.Name(), fs.Spec.Kind, why)
	return nil, nil
}

// measure calls Measure, turning a panic into an error so that a check
// can say which input made it.
func measure(ctx context.Context, s scenarios.Scenario, env *scenarios.Env, c scenarios.Case, n int) (ms []scenarios.Measurement, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanicked, p)
		}
	}()
	return s.Measure(ctx, env, c, n)
}

var errPanicked = errors.New("Measure panicked")

// measureChecked is Measure that must succeed and leave nothing behind.
func measureChecked(t *testing.T, s scenarios.Scenario, env *scenarios.Env, c scenarios.Case, n int) []scenarios.Measurement {
	t.Helper()
	ms, err := measure(context.Background(), s, env, c, n)
	require.NoError(t, err, "%s %s", variantName(env), c.Name())
	AssertNothingLeft(t, env.FS)
	return ms
}

// checkSamples checks every metric of one case: named once, with a unit,
// and n finite samples (one or more if countedOnce); a metric the
// scenario says cannot be made here (Unsupported) has none.
func checkSamples(t *testing.T, ms []scenarios.Measurement, n int) {
	t.Helper()
	require.NotEmpty(t, ms, "a case measures at least one metric")
	seen := map[string]bool{}
	for _, m := range ms {
		assert.NotEmpty(t, m.Metric)
		assert.False(t, seen[m.Metric], "metric %q twice", m.Metric)
		seen[m.Metric] = true
		assert.NotEmpty(t, m.Unit, m.Metric)
		if m.Err == nil {
			assert.Contains(t, []results.Better{results.Lower, results.Higher}, m.Better, "%s: a measured metric says which direction is better", m.Metric)
		}
		switch {
		case m.Err != nil && unsupported(m):
			assert.Empty(t, m.Samples, "%s: not supported, yet measured", m.Metric)
			continue
		case m.Err != nil:
			assert.NoError(t, m.Err, "%s failed", m.Metric)
			continue
		case countedOnce(m):
			assert.NotEmpty(t, m.Samples, "%s (%s, counted once)", m.Metric, m.Unit)
		default:
			assert.Len(t, m.Samples, n, "%s (%s): n samples", m.Metric, m.Unit)
		}
		for _, v := range m.Samples {
			assert.False(t, math.IsNaN(v) || math.IsInf(v, 0), "%s: sample %v", m.Metric, v)
		}
	}
}

// badInputs are the refusals RunSuite asks for, built from a good case.
func badInputs(s scenarios.Scenario, c scenarios.Case) map[string]struct {
	c scenarios.Case
	n int
} {
	type input = struct {
		c scenarios.Case
		n int
	}
	with := func(params []results.Param, floor bool) scenarios.Case {
		return scenarios.Case{Params: params, Floor: floor}
	}
	out := map[string]input{
		"no samples":       {c, 0},
		"negative samples": {c, -1},
		"unknown parameter": {with(append(slices.Clone(c.Params), results.P("no-such-parameter", "1")), c.Floor),
			suiteSamples},
	}
	for i, p := range c.Params {
		out["without "+p.Key] = input{with(slices.Delete(slices.Clone(c.Params), i, i+1), c.Floor), suiteSamples}
		bad := slices.Clone(c.Params)
		bad[i].Value = "not-a-value"
		out["bad "+p.Key] = input{with(bad, c.Floor), suiteSamples}
	}
	floor := with(c.Params, true)
	if !slices.ContainsFunc(s.Cases(scenarios.Quick), func(f scenarios.Case) bool { return f.Floor && f.Name() == floor.Name() }) {
		out["floor the suite does not list"] = input{floor, suiteSamples}
	}
	return out
}

func checkRefusals(t *testing.T, s scenarios.Scenario, env *scenarios.Env, c scenarios.Case) {
	for name, in := range badInputs(s, c) {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			ms, err := measure(context.Background(), s, env, in.c, in.n)
			took := time.Since(start)
			what := fmt.Sprintf("case %q floor=%v n=%d", in.c.Name(), in.c.Floor, in.n)
			require.Error(t, err, "%s: measured instead of refused", what)
			assert.NotErrorIs(t, err, errPanicked, what)
			assert.NotErrorIs(t, err, drivers.ErrNotSupported, "%s: bad input, not a driver limit", what)
			assert.Less(t, took, promptBound, "%s: refused only after %v: check the input before building", what, took)
			assertNoSamples(t, ms, what)
			AssertNothingLeft(t, env.FS)
			t.Logf("%s: %v", what, err)
		})
	}
}

func assertNoSamples(t *testing.T, ms []scenarios.Measurement, what string) {
	t.Helper()
	for _, m := range ms {
		assert.Empty(t, m.Samples, "%s: %s measured", what, m.Metric)
	}
}

func checkCancelled(t *testing.T, s scenarios.Scenario, env *scenarios.Env, c scenarios.Case) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	ms, err := measure(ctx, s, env, c, suiteSamples)
	took := time.Since(start)
	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, took, promptBound, "a cancelled context stops Measure before it builds anything")
	assertNoSamples(t, ms, "cancelled before Measure")
	AssertNothingLeft(t, env.FS)
}

// midCaseSamples is far more samples than any case takes within
// cancelBound, so that only the cancellation can end Measure in time.
const midCaseSamples = 1 << 16

func checkCancelledMidCase(t *testing.T, s scenarios.Scenario, env *scenarios.Env, c scenarios.Case) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		ms  []scenarios.Measurement
		err error
	}
	done := make(chan result, 1)
	before := ListDir(t, env.FS)
	go func() {
		ms, err := measure(ctx, s, env, c, midCaseSamples)
		done <- result{ms, err}
	}()
	// Mid-case: once the scenario has started building on the backing fs,
	// and a little after, so that the cancel lands in its work.
	started := time.Now()
	for len(ListDir(t, env.FS)) == len(before) && time.Since(started) < promptBound {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	cancelled := time.Now()
	var r result
	select {
	case r = <-done:
	case <-time.After(cancelBound):
		t.Errorf("Measure(n=%d) went on for %v after its context was cancelled", midCaseSamples, cancelBound)
		r = <-done // it must end before the backing fs can be checked and closed
	}
	took := time.Since(cancelled)
	t.Logf("returned %v after the cancel (%v after the start): %v", took.Round(time.Millisecond), time.Since(started).Round(time.Millisecond), r.err)
	if r.err == nil {
		// Only a case whose work does not grow with n (counts taken once)
		// can have finished before it looked at its context again; then
		// it must have measured the whole case.
		t.Log("finished the case before it saw the cancel")
		checkSamples(t, r.ms, midCaseSamples)
	} else {
		require.ErrorIs(t, r.err, context.Canceled, "Measure(n=%d) with its context cancelled mid-case", midCaseSamples)
	}
	AssertNothingLeft(t, env.FS)
}

// keyValue is the shape of a case parameter: results and benchmark names
// (backing=ext4/driver=overlay2/size=4KiB) split on "/" and "=".
var (
	keyShape   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	valueShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]*$`)
)

func checkCaseNames(t *testing.T, s scenarios.Scenario, suite scenarios.Suite) {
	t.Helper()
	cases := s.Cases(suite)
	require.NotEmpty(t, cases, "%s suite", suite)
	assert.Equal(t, cases, s.Cases(suite), "%s suite: Cases gives the same cases on every call", suite)
	seen := map[string]bool{}
	for _, c := range cases {
		key := fmt.Sprintf("%s floor=%v", c.Name(), c.Floor)
		assert.False(t, seen[key], "%s suite: case %s twice", suite, key)
		seen[key] = true
		for _, p := range c.Params {
			assert.Regexp(t, keyShape, p.Key, "%s suite, case %s: parameter key", suite, key)
			assert.Regexp(t, valueShape, p.Value, "%s suite, case %s: value of %s", suite, key, p.Key)
		}
		assert.Equal(t, c.Params, Case(c.Name()).Params, "%s suite, case %s: the name reads back as the case", suite, key)
	}
	if _, ok := seen[" floor=false"]; ok {
		assert.Len(t, cases, 1, "%s suite: a case without parameters must be the only one", suite)
	}
}

// checkFloors checks one suite's pairing: a driver case that has a floor
// pairs with exactly one floor case of the suite, and every floor case is
// some driver case's floor. all is both suites' cases, for wantsFloor.
func checkFloors(t *testing.T, suite scenarios.Suite, cases, all []scenarios.Case) {
	t.Helper()
	used := map[string]bool{}
	for _, c := range cases {
		if c.Floor {
			continue
		}
		floors := floorsOf(c, cases)
		if wantsFloor(c, all) {
			assert.Len(t, floors, 1, "%s suite: driver case %s has a floor, and exactly one floor case of the suite must pair with it", suite, c.Name())
		} else {
			assert.Empty(t, floors, "%s suite: driver case %s", suite, c.Name())
		}
		for _, f := range floors {
			used[f.Name()] = true
		}
	}
	for _, f := range cases {
		if f.Floor {
			assert.True(t, used[f.Name()], "%s suite: floor case %s is the floor of no driver case", suite, f.Name())
		}
	}
}
