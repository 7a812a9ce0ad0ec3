package scenariotest

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// The suite reads what a measurement is (a count taken once, a metric that
// cannot be made here, which floor a case is measured against) only
// through the functions of this file, each reading the typed field the
// scenario fills: never from metric names or units.

// unsupported says the measurement's error is "cannot run here", not a
// failure.
func unsupported(m scenarios.Measurement) bool { return m.Status == results.Unsupported }

// countedOnce says whether a measurement is an exact count (the inodes an
// image costs, a quirk's behaviour), which a scenario may take once
// whatever n: it carries one or more samples rather than n.
func countedOnce(m scenarios.Measurement) bool { return m.Exact }

// checkFloorRefs checks that every measured metric of a driver case that
// names a floor (Measurement.Floor, a results.CaseKey) names one the
// scenario's floor cases measured: the pairing reports and compare follow.
func checkFloorRefs(t *testing.T, ms []scenarios.Measurement, floors map[string]bool) {
	t.Helper()
	for _, m := range ms {
		if m.Err != nil || m.Floor == "" {
			continue
		}
		assert.True(t, floors[m.Floor], "%s names floor %q, which no floor case measured (floors: %v)", m.Metric, m.Floor, floors)
	}
}

// floorsOf are the floor cases among cases that c is measured against,
// paired by parameters as the reports pair records (dataset.Group.Floor):
// the floors whose parameters all appear, with the same values, in c's. A
// well-formed suite has exactly one for a case that wantsFloor. Until a
// measurement names its floor itself (issue 11's typed floor reference),
// this is the one function to switch.
func floorsOf(c scenarios.Case, cases []scenarios.Case) []scenarios.Case {
	var out []scenarios.Case
	for _, f := range cases {
		if f.Floor && subset(f.Params, c.Params, true) {
			out = append(out, f)
		}
	}
	return out
}

// wantsFloor says whether a driver case has a floor at all: whether some
// floor case of the scenario (in either suite) has only parameter keys the
// case has too. inodes' limit=small-fs has none; lookup's
// depth=16/cache=cold pairs with cache=cold.
func wantsFloor(c scenarios.Case, all []scenarios.Case) bool {
	return slices.ContainsFunc(all, func(f scenarios.Case) bool { return f.Floor && subset(f.Params, c.Params, false) })
}

// subset says whether every parameter of a is in b (with the same value
// when values is set).
func subset(a, b []results.Param, values bool) bool {
	for _, p := range a {
		if !slices.ContainsFunc(b, func(q results.Param) bool { return q.Key == p.Key && (!values || q.Value == p.Value) }) {
			return false
		}
	}
	return true
}
