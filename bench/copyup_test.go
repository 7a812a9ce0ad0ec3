package bench

import (
	"context"
	"testing"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/copyup"
)

// BenchmarkCopyUp runs the copyup scenario's cases:
// BenchmarkCopyUp/backing=ext4/driver=overlay2/size=1MiB/cache=cold. ns/op
// is the median first write (the copy-up), second-write-ns/op and
// chmod-ns/op the others, first-write-device-bytes/op what reached the
// loop device (ext4, xfs, btrfs backings), and floor-ratio the first
// write over a plain copy+fsync of the same bytes
// (driver=floor/size=1MiB/cache=cold, whose ns/op is that copy). Every
// variant runs: metacopy=on and volatile change what a copy-up does.
func BenchmarkCopyUp(b *testing.B) {
	benchScenario(b, floorAs{copyup.New(), "copy-fsync", "first-write"}, "first-write", drivers.AllVariants())
}

// floorAs renames a scenario's floor metric to its drivers' headline, so
// that benchScenario reports the floor's figure as ns/op and divides the
// drivers' headline by it for floor-ratio.
type floorAs struct {
	scenarios.Scenario
	floor, headline string
}

func (s floorAs) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) ([]scenarios.Measurement, error) {
	ms, err := s.Scenario.Measure(ctx, env, c, n)
	for i := range ms {
		if c.Floor && ms[i].Metric == s.floor {
			ms[i].Metric = s.headline
		}
	}
	return ms, err
}
