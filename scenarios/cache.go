package scenarios

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DropCaches writes dirty pages back and drops the page cache, dentries and
// inodes, so the next access is cold. It affects the whole host, which is
// why cold-cache cases are only run where unionbench is the only workload.
func DropCaches() error {
	unix.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3"), 0)
}

// HostCounters reads the named counters of a /proc file made of
// "name value" or "name: value kB" lines (/proc/vmstat, /proc/meminfo),
// kB values in bytes. A counter this kernel does not have is missing from
// the map: callers say what its absence means.
func HostCounters(path string, names ...string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name := strings.TrimSuffix(f[0], ":")
		if !slices.Contains(names, name) {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || len(f) > 3 || (len(f) == 3 && f[2] != "kB") {
			return nil, fmt.Errorf("%s: %q: want a name and a whole number (of kB)", path, line)
		}
		if len(f) == 3 {
			n <<= 10
		}
		out[name] = n
	}
	return out, nil
}
