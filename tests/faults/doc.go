// Package faults is the fault-injection and bad-input suite: it runs the
// real unionbench binary and kills it (SIGKILL at random points, SIGINT,
// SIGTERM), fills its backing filesystem, runs out of inodes under it,
// holds its mounts busy, starts two runs at once, feeds it malformed flags
// and files, and checks after each that the host's mount table and loop
// devices are as they were, that no result written before the fault is
// lost, and that the work directory can be cleaned.
//
// It has no non-test code: everything is in the _test files. TestMain
// prints one summary line (faults injected and survived, bad inputs
// tried, mounts leaked, results lost) and fails the binary if anything
// leaked or was lost.
//
//	sudo CI=true go test -count=1 -v -run . ./tests/faults/ | grep '^faults:'
package faults
