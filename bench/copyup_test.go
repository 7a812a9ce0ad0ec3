package bench

import (
	"testing"

	"github.com/unionbench/unionbench/drivers"
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
	benchScenario(b, copyup.New(), "first-write", "copy-fsync", drivers.AllVariants())
}
