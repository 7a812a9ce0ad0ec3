package overlay2

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/drivertest"
)

func TestMain(m *testing.M) { drivertest.Main(m) }

func TestConformance(t *testing.T) { drivertest.Run(t, Name, New) }

// TestVariantConformance runs the suite on every registered variant the
// kernel supports here.
func TestVariantConformance(t *testing.T) {
	reg, ok := drivers.Lookup(Name)
	require.True(t, ok)
	drivertest.RunVariants(t, Name, New, reg.Variants)
}
