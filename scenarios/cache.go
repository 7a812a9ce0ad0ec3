package scenarios

import (
	"os"

	"golang.org/x/sys/unix"
)

// DropCaches writes dirty pages back and drops the page cache, dentries and
// inodes, so the next access is cold. It affects the whole host, which is
// why cold-cache cases are only run where unionbench is the only workload.
func DropCaches() error {
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0)
}
