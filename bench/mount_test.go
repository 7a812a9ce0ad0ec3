package bench

import (
	"testing"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/scenarios/mount"
)

// BenchmarkMount runs the mount scenario's cases:
// BenchmarkMount/backing=ext4/driver=overlay2/depth=16. ns/op is the
// median mount time, unmount-ns/op the median unmount time.
func BenchmarkMount(b *testing.B) {
	benchScenario(b, mount.New(), "mount", "", drivers.AllVariants())
}
