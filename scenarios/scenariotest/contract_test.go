package scenariotest

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/unionbench/unionbench/scenarios"
)

func TestFloorPairing(t *testing.T) {
	cases := []scenarios.Case{
		Floor("cache=cold"), Floor("cache=warm"),
		Case("depth=1/cache=cold"), Case("depth=1/cache=warm"), Case("limit=small-fs"),
	}
	assert.Equal(t, []scenarios.Case{Floor("cache=cold")}, floorsOf(Case("depth=1/cache=cold"), cases))
	assert.True(t, wantsFloor(Case("depth=1/cache=tepid"), cases), "has the floors' keys")
	assert.Empty(t, floorsOf(Case("depth=1/cache=tepid"), cases), "but no floor of its values: checkFloors fails it")
	assert.False(t, wantsFloor(Case("limit=small-fs"), cases), "no floor has only keys it has")
	assert.Len(t, floorsOf(Case("depth=1/cache=cold"), append(cases, Floor("depth=1"))), 2, "ambiguous: checkFloors fails it")
}

func TestCaseReadsNames(t *testing.T) {
	c := Case("size=4KiB/cache=cold")
	assert.Equal(t, "size=4KiB/cache=cold", c.Name())
	assert.False(t, c.Floor)
	assert.True(t, Floor("cache=cold").Floor)
	assert.Empty(t, Case("").Params)
	assert.Panics(t, func() { Case("size") })
	assert.Panics(t, func() { Case("size=1/=2") })
}

func TestBadInputsCoverEveryParameter(t *testing.T) {
	in := badInputs(fakeScenario{}, Case("depth=1/cache=cold"))
	var names []string
	for name := range in {
		names = append(names, name)
	}
	assert.ElementsMatch(t, []string{
		"no samples", "negative samples", "unknown parameter",
		"without depth", "bad depth", "without cache", "bad cache",
		"floor the suite does not list",
	}, names)
	assert.Equal(t, "cache=cold", in["without depth"].c.Name())
	assert.Equal(t, "depth=not-a-value/cache=cold", in["bad depth"].c.Name())
	assert.Equal(t, 0, in["no samples"].n)
}

// fakeScenario lists lookup's shape of cases and measures nothing.
type fakeScenario struct{ scenarios.Scenario }

func (fakeScenario) Cases(scenarios.Suite) []scenarios.Case {
	return []scenarios.Case{Floor("cache=cold"), Case("depth=1/cache=cold")}
}
