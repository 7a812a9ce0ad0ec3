package overlay

import (
	"testing"

	"github.com/unionbench/unionbench/drivers/drivertest"
)

func TestMain(m *testing.M) { drivertest.Main(m) }

func TestConformance(t *testing.T) { drivertest.Run(t, Name, New) }
