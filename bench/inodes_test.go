package bench

import (
	"testing"

	"github.com/unionbench/unionbench/scenarios/inodes"
)

// BenchmarkInodes runs the inodes scenario's cases:
// BenchmarkInodes/backing=ext4/driver=overlay/layers=10/dirs=1000/files=20
// reports inodes/op (the image's inodes), image-bytes/op,
// container-inodes/op and container-bytes/op (medians over the
// containers), and floor-ratio (image inodes over the flattened tree's,
// driver=floor/layers=...); .../driver=overlay/limit=small-fs reports
// layers-until-enospc and containers-until-enospc. Counts do not depend on
// b.N: each iteration count is measured once. Mount options do not change
// what layers are made of, so only each driver's default variant runs.
func BenchmarkInodes(b *testing.B) {
	benchScenario(b, inodes.New(), "image-inodes", "image-inodes", defaultVariants())
}
