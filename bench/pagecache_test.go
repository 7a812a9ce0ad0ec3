package bench

import (
	"testing"

	"github.com/unionbench/unionbench/scenarios/pagecache"
)

// BenchmarkPageCache runs the pagecache scenario's cases:
// BenchmarkPageCache/backing=ext4/driver=overlay2/containers=4/size=32MiB.
// ns/op is the median time one container took to read the file,
// resident-bytes/op the page cache the file's real copies hold after every
// container read it, cache-copies-ratio/op that over the file size (1: one
// copy shared by all; N: one per container), cache-bytes/op and
// cache-bytes-per-container/op the growth of Cached in /proc/meminfo. The
// floor (driver=floor) reads one plain file N times. tmpfs backings skip:
// their files cannot leave the page cache. Mount options do not change
// how reads are cached, so only each driver's default variant runs.
func BenchmarkPageCache(b *testing.B) {
	benchScenario(b, pagecache.New(), "read", "read", defaultVariants())
}
