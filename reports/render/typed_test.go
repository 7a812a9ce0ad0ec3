package render

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/results"
)

// The measurement table reads what a record is from its typed fields:
// the ratio to floor follows Floor even when floor and metric share no
// name (and not when names match but Floor is empty), and an unsupported
// record says n/a with its reason whatever its Extra holds.
func TestTableFromTypedFields(t *testing.T) {
	ps := []results.Param{results.P("size", "4KiB")}
	base := results.Record{Schema: results.SchemaVersion, RunID: "r", Host: results.Host{Kernel: "6.1.0"},
		Backing: results.Backing{Kind: "ext4"}, Scenario: "copyup", Unit: "ns", Params: ps, Status: results.OK, Better: results.Lower}
	rec := func(metric, driver, floor string, samples ...float64) results.Record {
		r := base
		r.Metric, r.Driver, r.Variant, r.Floor, r.Samples = metric, driver, driver, floor, samples
		return r
	}
	na := rec("w1", "aufs", "")
	na.Status, na.Reason = results.Unsupported, "aufs is not in /proc/filesystems"
	failed := rec("w1", "fuse-overlayfs", "")
	failed.Status, failed.Error = results.Failed, "EIO"
	failed.Extra = map[string]any{"unsupported": true} // schema 1's marker means nothing now
	recs := []results.Record{
		rec("plain-copy", "floor", "", 100, 100, 100),
		rec("w1", "floor", "", 1, 1, 1), // same name, not its floor
		rec("w1", "overlay2", results.CaseKey("plain-copy", ps...), 300, 300, 300),
		rec("w2", "overlay2", "", 50, 50, 50),
		na, failed,
	}
	r, err := Build(dataset.New(recs))
	require.NoError(t, err)
	require.Len(t, r.Groups, 1)
	rows := map[string][]Cell{}
	for _, row := range r.Groups[0].Tables[0].Rows {
		rows[row[0].Text+" "+row[1].Text] = row
	}
	ratio := slices.Index(MetricColumns, "ratio to floor")
	assert.Equal(t, "3×", rows["w1 overlay2"][ratio].Text, "w1 over plain-copy, its Floor")
	assert.Equal(t, "—", rows["w2 overlay2"][ratio].Text, "no Floor, no ratio")
	assert.Equal(t, "n/a: aufs is not in /proc/filesystems", rows["w1 aufs"][3].Text)
	assert.Equal(t, "na", rows["w1 aufs"][3].Class)
	assert.True(t, strings.HasPrefix(rows["w1 fuse-overlayfs"][3].Text, "failed: EIO"), rows["w1 fuse-overlayfs"][3].Text)
}

// The MDE column: exact counts show every change, three timings none, and
// many tight timings a small one that shrinks as samples are added.
func TestTableMDE(t *testing.T) {
	base := results.Record{Schema: results.SchemaVersion, RunID: "r", Backing: results.Backing{Kind: "ext4"},
		Scenario: "lookup", Driver: "vfs", Variant: "vfs", Unit: "ns", Status: results.OK, Better: results.Lower}
	rec := func(metric string, exact bool, n int) results.Record {
		r := base
		r.Metric, r.Exact = metric, exact
		for i := range n {
			r.Samples = append(r.Samples, 1000+float64(i%10)) // a 1% spread
		}
		return r
	}
	r, err := Build(dataset.New([]results.Record{rec("count", true, 3), rec("few", false, 3), rec("some", false, 30), rec("many", false, 300)}))
	require.NoError(t, err)
	col := slices.Index(MetricColumns, "MDE")
	mde := map[string]string{}
	for _, row := range r.Groups[0].Tables[0].Rows {
		mde[row[0].Text] = row[col].Text
	}
	assert.Equal(t, "exact", mde["count"])
	assert.Equal(t, "none", mde["few"])
	some, err1 := strconv.ParseFloat(strings.TrimSuffix(mde["some"], "%"), 64)
	many, err2 := strconv.ParseFloat(strings.TrimSuffix(mde["many"], "%"), 64)
	require.NoError(t, errors.Join(err1, err2), "%v", mde)
	assert.Less(t, many, some)
	assert.Less(t, some, 2.0, "30 samples of a 1%% spread see under 2%%")

	// The same 300 samples taken in three passes whose medians sit 10%
	// apart: another run could differ by that much, and the MDE says so.
	var passed []results.Record
	for pass := 1; pass <= 3; pass++ {
		p := rec("many", false, 100)
		p.Pass = pass
		for i := range p.Samples {
			p.Samples[i] *= 1 + 0.1*float64(pass-2)
		}
		passed = append(passed, p)
	}
	r, err = Build(dataset.New(passed))
	require.NoError(t, err)
	row := r.Groups[0].Tables[0].Rows[0]
	spread, err := strconv.ParseFloat(strings.TrimSuffix(row[col].Text, "%"), 64)
	require.NoError(t, err, row[col].Text)
	assert.Greater(t, spread, 20.0, "passes 10%% apart: %s", row[col].Note)
	assert.Contains(t, row[col].Note, "300 samples in 3 passes")
}
