package compare

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/unionbench/unionbench/reports/results"
)

func rec(metric, unit, variant string, samples ...float64) results.Record {
	return results.Record{Schema: 1, RunID: "r", Driver: variant, Variant: variant, Scenario: "inodes",
		Metric: metric, Unit: unit, Samples: samples}
}

func TestDirectionAndFailures(t *testing.T) {
	base := []results.Record{
		rec("containers-until-enospc", "count", "vfs", 13),
		rec("image-inodes", "inodes", "vfs", 11000),
		rec("image-inodes", "inodes", "aufs", 9000),
	}
	gone := rec("image-inodes", "inodes", "aufs")
	gone.Error, gone.Extra = "aufs is not in /proc/filesystems", map[string]any{"unsupported": true}
	newer := []results.Record{
		rec("containers-until-enospc", "count", "vfs", 10), // fewer fit: worse
		rec("image-inodes", "inodes", "vfs", 8000),         // fewer used: better
		gone,
	}
	res := Compare(base, newer, DefaultThreshold)
	var verdicts []Verdict
	for _, r := range res.Rows {
		verdicts = append(verdicts, r.Verdict)
	}
	assert.Equal(t, []Verdict{Regressed, Improved, NowFails}, verdicts)
	assert.True(t, res.Failed())
	assert.Contains(t, res.Rows[2].Error, "not supported")
	assert.True(t, res.Rows[0].Change.Exact, "counts have no noise to test")
}
