package realimage_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/images"
	"github.com/unionbench/unionbench/images/imagetest"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/realimage"
	"github.com/unionbench/unionbench/scenarios/scenariotest"
)

func TestMain(m *testing.M) { scenariotest.Main(m) }

func testImage(t *testing.T) *images.Image {
	t.Helper()
	im, err := images.Open(imagetest.Build(t).DockerSave, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { im.Close() })
	return im
}

func byMetric(ms []scenarios.Measurement) map[string]scenarios.Measurement {
	out := map[string]scenarios.Measurement{}
	for _, m := range ms {
		out[m.Metric] = m
	}
	return out
}

// Every image scenario measures its floor and overlay2 on the test image:
// every metric has its samples, names the image, and a driver's metric
// refers to a floor metric the floor case measured.
func TestScenariosOnTheTestImage(t *testing.T) {
	im := testImage(t)
	fs := scenariotest.NewFS(t, backing.Ext4, 8<<30)
	all, err := realimage.Scenarios(realimage.Config{Images: []*images.Image{im}})
	require.NoError(t, err)
	require.Len(t, all, len(realimage.Names))
	c := scenarios.Case{Params: []results.Param{results.P("image", realimage.ImageParam(im))}}
	floorCase := c
	floorCase.Floor = true
	got := map[string][2]map[string]scenarios.Measurement{}
	for _, s := range all {
		t.Run(s.Name(), func(t *testing.T) {
			require.Equal(t, []scenarios.Case{floorCase, c}, s.Cases(scenarios.Quick))
			floor := byMetric(scenariotest.Measure(t, s, scenariotest.Env(t, fs, ""), floorCase, 2))
			drv := byMetric(scenariotest.Measure(t, s, scenariotest.Env(t, fs, "overlay2"), c, 2))
			keys := map[string]bool{}
			for _, m := range floor {
				keys[results.CaseKey(m.Metric, floorCase.Params...)] = true
				assert.Empty(t, m.Floor)
			}
			for _, m := range drv {
				want := 2
				if m.Exact {
					want = 1 // counts are taken once
				}
				assert.Len(t, m.Samples, want, m.Metric)
				assert.Equal(t, im.Digest.String(), m.Extra["image-digest"], m.Metric)
				assert.Equal(t, imagetest.LayerCount, m.Extra["image-layers"], m.Metric)
				assert.Positive(t, m.Extra["image-bytes"], m.Metric)
				if m.Metric != "mount" {
					assert.True(t, keys[m.Floor], "%s: floor %q is measured by the floor case", m.Metric, m.Floor)
				}
			}
			got[s.Name()] = [2]map[string]scenarios.Measurement{floor, drv}
		})
	}
	if r, ok := got["image-inodes"]; ok {
		floor, drv := r[0], r[1]
		// overlay2 keeps what later layers delete: its layers hold more
		// than the flat tree.
		assert.Greater(t, drv["image-inodes"].Samples[0], floor["image-inodes"].Samples[0])
		assert.Greater(t, drv["root-inodes"].Samples[0], drv["image-inodes"].Samples[0], "a container adds its layers")
		assert.Len(t, drv["image-inodes"].Extra["per-layer"], imagetest.LayerCount)
	}
	if r, ok := got["image-copyup"]; ok {
		assert.Equal(t, imagetest.BigFile, r[1]["copyup-largest"].Extra["file"])
		assert.Contains(t, r[1]["copyup-library"].Extra["file"], ".so")
	}
	if r, ok := got["image-volume"]; ok {
		assert.Contains(t, r[1], "append-fsync-volume")
		assert.NotContains(t, r[0], "append-fsync-volume", "the floor has no volume")
	}
	if r, ok := got["image-pagecache"]; ok {
		// The largest sample: on a shared host another program's
		// drop_caches between the runs and the count empties a sample.
		floor, drv := slices.Max(r[0]["resident-per-container"].Samples), slices.Max(r[1]["resident-per-container"].Samples)
		assert.Positive(t, floor, "running the program caches its files")
		// overlay2's containers share the lower files' pages, as one
		// tree's runs do.
		assert.LessOrEqual(t, drv, 2*floor)
	}
	if r, ok := got["image-walk"]; ok {
		assert.GreaterOrEqual(t, r[1]["walk-warm"].Extra["entries"], r[0]["walk-warm"].Extra["entries"], "a container shows the image and its init files")
	}
	scenariotest.AssertNothingLeft(t, fs)
}

// A program the image does not have fails the start with an error naming
// it, and leaves nothing behind.
func TestStartOfMissingProgramFails(t *testing.T) {
	im := testImage(t)
	fs := scenariotest.NewFS(t, backing.Tmpfs, 2<<30)
	s, err := realimage.Scenarios(realimage.Config{Images: []*images.Image{im}, Exec: []string{"/no/such/program"}}, "image-start")
	require.NoError(t, err)
	c := scenarios.Case{Params: []results.Param{results.P("image", realimage.ImageParam(im))}, Floor: true}
	_, err = s[0].Measure(context.Background(), scenariotest.Env(t, fs, ""), c, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/no/such/program")
	scenariotest.AssertNothingLeft(t, fs)
}

func TestBadConfigs(t *testing.T) {
	_, err := realimage.Scenarios(realimage.Config{Exec: []string{"sh"}})
	assert.ErrorContains(t, err, `exec "sh"`)
	_, err = realimage.Scenarios(realimage.Config{}, "image-nope")
	assert.ErrorContains(t, err, `"image-nope"`)
}
