package bench

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/unionbench/unionbench/reports/results"
)

// The repeatability gate holds a driver's copy-ups of 1 MiB and more and
// its lookups, through the absolute timing and its floor ratio alike, and
// nothing that is not one: floors, vfs's plain writes, second writes,
// device bytes, small sizes.
func TestRepeatabilityGate(t *testing.T) {
	rec := func(variant, scenario, metric, floor, overFloor, size string) *results.Record {
		driver, _, _ := strings.Cut(variant, "+")
		r := &results.Record{Driver: driver, Variant: variant, Scenario: scenario, Metric: metric, Floor: floor}
		if size != "" {
			r.Params = []results.Param{results.P("size", size), results.P("cache", "cold")}
		}
		if overFloor != "" {
			r.Extra = map[string]any{"over-floor": overFloor}
		}
		return r
	}
	for _, tc := range []struct {
		r    *results.Record
		want bool
	}{
		{rec("overlay2", "copyup", "first-write", "copy-fsync/size=1MiB/cache=cold", "", "1MiB"), true},
		{rec("overlay", "copyup", "chmod-vs-floor", "", "copy-fsync/size=64MiB/cache=cold", "64MiB"), true},
		{rec("fuse-overlayfs", "copyup", "first-write", "copy-fsync/size=64KiB/cache=cold", "", "64KiB"), false},
		{rec("overlay2", "copyup", "second-write-vs-floor", "", "write/size=16MiB/cache=cold", "16MiB"), false},
		{rec("vfs", "copyup", "first-write-vs-floor", "", "write/size=16MiB/cache=cold", "16MiB"), false},
		{rec("overlay2+metacopy=on", "copyup", "chmod", "chmod/size=16MiB/cache=cold", "", "16MiB"), false},
		{rec("overlay2", "copyup", "first-write-device-bytes-vs-floor", "", "copy-fsync-device-bytes/size=16MiB/cache=cold", "16MiB"), false},
		{rec("floor", "copyup", "copy-fsync", "", "", "16MiB"), false},
		{rec("overlay2", "lookup", "stat-vs-floor", "", "stat/cache=cold", ""), true},
		{rec("fuse-overlayfs", "lookup", "open", "open/cache=warm", "", ""), true},
		{rec("floor", "lookup", "stat", "", "", ""), false},
	} {
		assert.Equal(t, tc.want, gated(tc.r), "%s %s %s", tc.r.Variant, tc.r.Metric, tc.r.Params)
	}
}
