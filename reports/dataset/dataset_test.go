package dataset

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/reports/results"
)

// Floor pairs a measurement with the floor record its Floor names, and
// with nothing else: not a floor of the same metric name, not one whose
// parameters merely fit.
func TestFloorByReference(t *testing.T) {
	cold := []results.Param{results.P("cache", "cold")}
	deep := []results.Param{results.P("depth", "16"), results.P("cache", "cold")}
	rec := func(metric, driver, unit, floor string, ps []results.Param) results.Record {
		return results.Record{Schema: results.SchemaVersion, RunID: "r", Backing: results.Backing{Kind: "ext4"},
			Scenario: "lookup", Metric: metric, Driver: driver, Variant: driver, Unit: unit, Params: ps, Floor: floor,
			Samples: []float64{1}, Status: results.OK, Better: results.Lower}
	}
	s := New([]results.Record{
		rec("stat", "floor", "ns", "", cold),          // same name, not named as the floor below
		rec("plain-stat", "floor", "ns", "", cold),    // the named floor
		rec("plain-stat", "floor", "bytes", "", cold), // the same key in another unit
		rec("stat", "overlay2", "ns", "plain-stat/cache=cold", deep),
		rec("open", "overlay2", "ns", "", deep), // no floor named
		rec("enoent", "overlay2", "ns", "missing/cache=cold", deep),
	})
	require.Len(t, s.Groups, 1)
	g := s.Groups[0]
	byMetric := map[string]*Measurement{}
	for _, m := range g.Measurements {
		if m.Driver != FloorDriver {
			byMetric[m.Metric] = m
		}
	}
	f := g.Floor(byMetric["stat"])
	require.NotNil(t, f)
	assert.Equal(t, "plain-stat", f.Metric)
	assert.Equal(t, "ns", f.Unit)
	assert.Nil(t, g.Floor(byMetric["open"]), "no Floor named: no floor")
	assert.Nil(t, g.Floor(byMetric["enoent"]), "a Floor the run did not measure")
	assert.Nil(t, g.Floor(f), "a floor has no floor")
}
