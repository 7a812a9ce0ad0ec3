package all

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/scenariotest"
)

func TestMain(m *testing.M) { scenariotest.Main(m) }

// TestConformance runs the scenario conformance suite on every registered
// scenario: a new scenario package imported here is checked without a
// line of its own.
func TestConformance(t *testing.T) {
	all := scenarios.All()
	assert.Equal(t, []string{"copyup", "lookup", "mount", "inodes", "pagecache", "quirks"}, scenarios.Names(),
		"every scenario package registers itself once")
	for _, s := range all {
		t.Run(s.Name(), func(t *testing.T) { scenariotest.RunSuite(t, s) })
	}
}
