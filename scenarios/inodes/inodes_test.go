package inodes

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/scenariotest"
)

func TestMain(m *testing.M) { scenariotest.Main(m) }

// measure runs one case for a driver ("" for the floor) and returns the
// measurements by metric.
func measure(t *testing.T, fs *backing.FS, driver string, c scenarios.Case) map[string]scenarios.Measurement {
	t.Helper()
	c.Floor = driver == ""
	ms := scenariotest.Measure(t, New(), scenariotest.Env(t, fs, driver), c, 5)
	for _, m := range ms {
		t.Logf("%-14s %s %-24s %v", driver, c.Name(), m.Metric, m.Samples)
	}
	return scenariotest.ByMetric(ms)
}

func count(t *testing.T, m scenarios.Measurement) float64 {
	t.Helper()
	require.Len(t, m.Samples, 1, "%s is counted once, whatever n", m.Metric)
	return m.Samples[0]
}

func TestCases(t *testing.T) {
	var names []string
	for _, c := range New().Cases(scenarios.Quick) {
		if c.Floor {
			names = append(names, "floor "+c.Name())
		} else {
			names = append(names, c.Name())
		}
	}
	assert.Equal(t, []string{
		"floor layers=10/dirs=1000/files=20", "layers=10/dirs=1000/files=20",
		"floor layers=10/dirs=20/files=200", "layers=10/dirs=20/files=200",
		"limit=small-fs",
	}, names)
	assert.Len(t, New().Cases(scenarios.Full), 7)
	assert.Len(t, quickShapes, 2, "the full sweep must not have grown the quick one")
}

func TestBadCases(t *testing.T) {
	env := &scenarios.Env{}
	// The conformance suite (scenarios/all) tries malformed cases; these
	// are well-formed ones outside what inodes measures.
	for _, c := range []scenarios.Case{
		scenariotest.Case("layers=0/dirs=1/files=1"),
		scenariotest.Case("layers=2/dirs=1/files=100001"),
		scenariotest.Case("limit=huge-fs"),
		scenariotest.Floor("limit=small-fs"),
	} {
		_, err := New().Measure(context.Background(), env, c, 1)
		assert.Error(t, err, c.Name())
		assert.NotErrorIs(t, err, drivers.ErrNotSupported, c.Name())
	}
}

// The known story: legacy overlay re-creates every directory in every
// layer, so on an image with many directories it uses several times the
// inodes overlay2 does, while overlay2 stays near the flattened tree.
func TestLegacyOverlayUsesFarMoreInodesThanOverlay2(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 4<<30)
	c := scenarios.Case{Params: quickShapes[0].params()}
	flat := count(t, measure(t, fs, "", c)["image-inodes"])
	o2 := measure(t, fs, "overlay2", c)
	o1 := measure(t, fs, "overlay", c)
	vfs := measure(t, fs, "vfs", c)

	assert.Greater(t, count(t, o1["image-inodes"]), 2*count(t, o2["image-inodes"]), "legacy overlay vs overlay2")
	assert.LessOrEqual(t, count(t, o2["image-inodes"]), 1.5*flat, "overlay2 vs the flattened tree")
	assert.GreaterOrEqual(t, count(t, o2["image-inodes"]), flat, "a union never holds fewer inodes than the tree it shows")
	assert.Greater(t, count(t, vfs["image-inodes"]), count(t, o2["image-inodes"]), "vfs copies every layer")
	assert.Positive(t, count(t, o2["image-bytes"]))

	for _, drv := range []map[string]scenarios.Measurement{o1, o2, vfs} {
		ci := drv["container-inodes"]
		require.Len(t, ci.Samples, Containers, "one sample per container")
		for _, s := range ci.Samples {
			assert.Positive(t, s)
		}
		assert.Equal(t, true, ci.Extra["mounted"])
	}
	// A vfs container is two full copies of the image's top layer.
	assert.Greater(t, vfs["container-inodes"].Samples[0], 2*flat*0.9)
	assert.Less(t, o2["container-inodes"].Samples[0], 100.0, "an overlay2 container is its init files and a few directories")
}

// On a filesystem with few inodes, legacy overlay runs out after fewer
// layers than overlay2; the counts end at ENOSPC, not at the cap.
func TestSmallFilesystemRunsOutOfInodesSoonerWithLegacyOverlay(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Ext4, 4<<30) // the default backing of `unionbench run`: loop in loop
	c := scenariotest.Case("limit=small-fs")
	o1 := measure(t, fs, "overlay", c)
	o2 := measure(t, fs, "overlay2", c)
	for _, m := range []scenarios.Measurement{o1["layers-until-enospc"], o2["layers-until-enospc"], o1["containers-until-enospc"], o2["containers-until-enospc"]} {
		assert.Equal(t, "count", m.Unit)
		assert.Equal(t, false, m.Extra["capped"], "%s ended at ENOSPC", m.Metric)
		assert.Contains(t, m.Extra["stopped-by"], "no space left on device")
		assert.EqualValues(t, smallFS.Inodes, m.Extra["fs-inodes"])
		assert.Less(t, m.Extra["inodes-free-at-end"], uint64(smallFS.Inodes/16), "inodes ran out, not blocks")
	}
	assert.Less(t, count(t, o1["layers-until-enospc"]), count(t, o2["layers-until-enospc"]))
	assert.Less(t, count(t, o1["containers-until-enospc"]), count(t, o2["containers-until-enospc"]))
}

func TestSpaceNeededCoversTheLargestCase(t *testing.T) {
	full := New().Cases(scenarios.Full)
	need := New().SpaceNeeded(scenarios.Full, full)
	assert.Equal(t, fullShapes[len(fullShapes)-1].fsSpec().Size, need)
	assert.Equal(t, int64(512<<20), New().SpaceNeeded(scenarios.Quick, New().Cases(scenarios.Quick)))
}
