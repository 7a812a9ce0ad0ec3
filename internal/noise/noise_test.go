package noise

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMeasure(t *testing.T) {
	n, err := Measure(Spec{Windows: 4, Window: 20 * time.Millisecond, Path: "/dev/shm"})
	require.NoError(t, err)
	assert.Equal(t, 4, n.Windows)
	assert.Positive(t, n.MinNs)
	assert.GreaterOrEqual(t, n.MaxNs, n.MinNs)
	assert.InDelta(t, (n.MaxNs-n.MinNs)/n.MinNs, n.Spread, 1e-12)
	assert.Equal(t, "stat(2) of /dev/shm", n.Probe)

	_, err = Measure(Spec{Windows: 1, Window: time.Millisecond, Path: "/dev/shm"})
	assert.ErrorContains(t, err, "want at least 2 windows")
	_, err = Measure(Spec{Windows: 2, Window: time.Millisecond, Path: "/nonexistent-unionbench"})
	assert.ErrorContains(t, err, "stat /nonexistent-unionbench")
}
