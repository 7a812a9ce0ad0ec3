// Package scenarios defines what a scenario is and runs scenarios against
// driver variants; each scenario lives in its own package below
// (copyup, lookup, mount, inodes, pagecache).
//
// A scenario is a list of cases (one point of its sweep: a file size, a
// depth, a container count) and a Measure function that takes n samples of
// one case on one driver, returning one Measurement per metric it times or
// counts. The same Measure serves `unionbench run` (n = --count) and
// `go test -bench` (n = b.N), so both measure exactly the same thing.
//
// A scenario's floor (the same operation with no union: a plain copy, a
// lookup on the backing fs) is a case with Floor set; the runner measures it
// once per backing filesystem, in the same run, and records it with driver
// "floor".
//
// The contract every scenario keeps, which scenariotest.RunSuite checks for
// each registered one (scenarios/all's test): case parameters are key=value
// and refused when unknown, missing or bad (Case.CheckParams), as is n < 1,
// before anything is built; Measure returns n samples of every metric (or
// one for counts taken once whatever n); it stops soon after its context
// is cancelled, with an error wrapping the context's; and it leaves the
// backing fs as it found it.
package scenarios
