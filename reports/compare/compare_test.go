package compare

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/reports/results"
)

// rec is a measured count (exact, lower is better) unless changed.
func rec(metric, unit, variant string, samples ...float64) results.Record {
	return results.Record{Schema: results.SchemaVersion, RunID: "r", Driver: variant, Variant: variant, Scenario: "inodes",
		Metric: metric, Unit: unit, Samples: samples, Status: results.OK, Better: results.Lower, Exact: true}
}

func higher(r results.Record) results.Record { r.Better = results.Higher; return r }
func noisy(r results.Record) results.Record  { r.Exact = false; return r }

func TestDirectionAndFailures(t *testing.T) {
	base := []results.Record{
		higher(rec("containers-until-enospc", "count", "vfs", 13)),
		rec("image-inodes", "inodes", "vfs", 11000),
		rec("image-inodes", "inodes", "aufs", 9000),
	}
	gone := rec("image-inodes", "inodes", "aufs")
	gone.Status, gone.Reason = results.Unsupported, "aufs is not in /proc/filesystems"
	newer := []results.Record{
		higher(rec("containers-until-enospc", "count", "vfs", 10)), // fewer fit: worse
		rec("image-inodes", "inodes", "vfs", 8000),                 // fewer used: better
		gone,
	}
	res := Compare(base, newer, DefaultThreshold)
	var verdicts []Verdict
	for _, r := range res.Rows {
		verdicts = append(verdicts, r.Verdict)
	}
	assert.Equal(t, []Verdict{Regressed, Improved, NowFails}, verdicts)
	assert.True(t, res.Failed())
	assert.Contains(t, res.Rows[2].Error, "not supported: aufs is not in /proc/filesystems")
	assert.True(t, res.Rows[0].Change.Exact, "counts have no noise to test")
}

// The verdict follows what the records say, never their names or the
// look of their values: each case below would come out the other way if
// direction were read from a -until-enospc suffix or exactness guessed
// from constant samples.
func TestVerdictFromTypedFields(t *testing.T) {
	cases := []struct {
		name      string
		base, new results.Record
		want      Verdict
		exact     bool
	}{
		{"higher is better without the suffix", higher(rec("fit", "count", "vfs", 13)), higher(rec("fit", "count", "vfs", 10)), Regressed, true},
		{"the suffix without higher is better", rec("x-until-enospc", "count", "vfs", 10), rec("x-until-enospc", "count", "vfs", 13), Regressed, true},
		// 3+3 noisy samples can never be significant; exact ones differ or not.
		{"an exact count that varies", rec("img", "inodes", "vfs", 100, 110, 105), rec("img", "inodes", "vfs", 150, 160, 155), Regressed, true},
		{"a timing that happens to be constant", noisy(rec("w1", "ns", "vfs", 5, 5)), noisy(rec("w1", "ns", "vfs", 9, 9)), Same, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Compare([]results.Record{c.base}, []results.Record{c.new}, DefaultThreshold)
			require.Len(t, res.Rows, 1)
			assert.Equal(t, c.want, res.Rows[0].Verdict)
			assert.Equal(t, c.exact, res.Rows[0].Change.Exact)
		})
	}
}
