package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHostCounters(t *testing.T) {
	mem, err := HostCounters("/proc/meminfo", "MemTotal", "Cached", "NoSuchCounter")
	assert.NoError(t, err)
	assert.Greater(t, mem["MemTotal"], int64(1<<20), "kB read as bytes")
	assert.Contains(t, mem, "Cached")
	assert.NotContains(t, mem, "NoSuchCounter")
	vm, err := HostCounters("/proc/vmstat", "nr_free_pages")
	assert.NoError(t, err)
	assert.Positive(t, vm["nr_free_pages"], "a plain count")
	_, err = HostCounters("/proc/no-such-file", "x")
	assert.Error(t, err)
}
