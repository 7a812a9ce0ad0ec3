package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/unionbench/unionbench/reports/results"
)

func TestCheckParams(t *testing.T) {
	c := Case{Params: []results.Param{results.P("size", "4KiB"), results.P("cache", "cold")}}
	assert.NoError(t, c.CheckParams("copyup", "size", "cache"))
	assert.NoError(t, c.CheckParams("copyup", "cache", "size"), "order does not matter")
	assert.EqualError(t, c.CheckParams("copyup", "size"), `copyup: case size=4KiB/cache=cold: unknown parameter "cache": want parameters size`)
	assert.EqualError(t, c.CheckParams("copyup", "size", "cache", "depth"), `copyup: case size=4KiB/cache=cold: missing parameter "depth": want parameters size, cache, depth`)
	twice := Case{Params: []results.Param{results.P("size", "4KiB"), results.P("size", "8KiB")}}
	assert.ErrorContains(t, twice.CheckParams("copyup", "size"), `parameter "size" given twice`)
	empty := Case{Params: []results.Param{results.P("size", "")}}
	assert.ErrorContains(t, empty.CheckParams("copyup", "size"), `parameter "size" has no value`)
	assert.NoError(t, Case{}.CheckParams("quirks"))
	assert.EqualError(t, c.CheckParams("quirks"), `quirks: case size=4KiB/cache=cold: unknown parameter "size": want no parameters`)
}
