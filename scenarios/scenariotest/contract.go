package scenariotest

import (
	"slices"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// The suite reads what a measurement is (a count taken once, a metric that
// cannot be made here, which floor a case is measured against) only
// through the functions of this file. They follow today's conventions;
// when Measurement and Case carry those meanings as typed fields (issue
// 11), each becomes one line that reads its field.

// unsupported says the measurement's error is "cannot run here", not a
// failure: today Measurement.Unsupported.
func unsupported(m scenarios.Measurement) bool { return m.Unsupported }

// countedOnce says whether a measurement is an exact count a scenario
// takes once whatever n (the inodes an image costs, a quirk's behaviour),
// so that it carries one or more samples rather than n. Until Measurement
// says so itself (issue 11's typed exactness), its unit does: switch here
// when it lands.
func countedOnce(m scenarios.Measurement) bool {
	switch m.Unit {
	case "inodes", "bytes", "count", "behaviour":
		return true
	}
	return false
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
