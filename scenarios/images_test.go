package scenarios

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/layerspec"
	"github.com/unionbench/unionbench/reports/results"
)

// imager is a Preparer whose two cases (cold and warm) share one image
// through Env.Image; each Prepare mounts a fresh container on it, as the
// real scenarios do. leak leaves the container mounted on Close.
type imager struct {
	builds, prepares *atomic.Int64
	leak, perPass    bool
}

func (imager) Name() string { return "imager" }
func (imager) Cases(Suite) []Case {
	return []Case{{Params: []results.Param{results.P("cache", "cold")}}, {Params: []results.Param{results.P("cache", "warm")}}}
}
func (im imager) Measure(ctx context.Context, env *Env, c Case, n int) ([]Measurement, error) {
	return MeasureBySampling(ctx, im, env, c, n)
}
func (im imager) Prepare(ctx context.Context, env *Env, c Case) (Sampler, error) {
	im.prepares.Add(1)
	image := env.Image
	if im.perPass {
		image = env.PassImage
	}
	d, top, release, err := image(ctx, "imager", func(ctx context.Context, d drivers.Driver) (string, error) {
		im.builds.Add(1)
		return "base", d.Create(ctx, "base", "", &layerspec.Layer{Entries: []layerspec.Entry{{Path: "f", Kind: layerspec.File, Size: 1}}})
	})
	if err != nil {
		return nil, err
	}
	if err := drivers.NewContainer(ctx, d, "c", top); err != nil {
		return nil, errors.Join(err, release())
	}
	dir, err := d.Mount(ctx, "c")
	if err != nil {
		return nil, errors.Join(err, drivers.RemoveContainer(d, "c"), release())
	}
	s := &tickSampler{n: &atomic.Int64{}, m: []Measurement{Timing("op", 0)}}
	return &imageSampler{tickSampler: s, dir: dir, close: func() error {
		if im.leak {
			return release()
		}
		return errors.Join(drivers.RemoveContainer(d, "c"), release())
	}}, nil
}

type imageSampler struct {
	*tickSampler
	dir   string
	close func() error
}

func (s *imageSampler) Sample(ctx context.Context) error {
	if _, err := os.Stat(s.dir + "/f"); err != nil {
		return err // the image's file, through the container
	}
	return s.tickSampler.Sample(ctx)
}
func (s *imageSampler) Close() error { return s.close() }

// A run of three passes builds each variant's image once (Env.Image), or
// once a pass (Env.PassImage), shared by the two cases, each of which
// mounts a fresh container on it; nothing is left after. An image a case
// left a container on is not handed out again, and one that would eat
// into the room the largest case needs is not kept.
func TestImagesAreSharedForTheRunOrThePass(t *testing.T) {
	testenv.NeedRoot(t, "the runner mounts overlay2 on a tmpfs")
	for _, tc := range []struct {
		name          string
		leak, perPass bool
		reserve       int64
		builds        int64
		failedRecords int
	}{
		{name: "kept for the run", builds: 2},
		{name: "kept for a pass", perPass: true, builds: 3 * 2},
		{name: "no room", reserve: 1 << 40, builds: 3 * 2 * 2},
		// The container left (mounted, on overlay2) fails the case that
		// left it (its metric and the case's "all" record); the image is
		// built again for the next.
		{name: "container left", leak: true, builds: 3 * 2 * 2, failedRecords: 2 * 3 * 2 * 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			fs, err := backing.Create(work, backing.Spec{Kind: backing.Tmpfs, Size: 64 << 20})
			require.NoError(t, err)
			defer fs.Close()
			im := imager{builds: &atomic.Int64{}, prepares: &atomic.Int64{}, leak: tc.leak, perPass: tc.perPass}
			p := &Plan{RunID: "t", Scenarios: []Scenario{im}, Suite: Quick, FS: fs, Count: 3, Passes: 3,
				Variants: []drivers.Variant{{Driver: "vfs"}, {Driver: "overlay2"}}, reserve: tc.reserve}
			failed := 0
			_, err = Run(context.Background(), p, func(r *results.Record) error {
				if r.Status != results.OK {
					failed++
					assert.Regexp(t, "(mount.s. left on a kept image|layers left on a kept image)", r.Error)
				}
				return nil
			}, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.builds, im.builds.Load(), "image builds")
			assert.Equal(t, int64(3*2*2), im.prepares.Load(), "a fresh container every case, every pass")
			assert.Equal(t, tc.failedRecords, failed)
			left, err := os.ReadDir(fs.Dir)
			require.NoError(t, err)
			var names []string
			for _, e := range left {
				if e.Name() != "lost+found" {
					names = append(names, e.Name())
				}
			}
			assert.Empty(t, names, "kept images are removed at the end")
			mounts, err := mountutil.MountsUnder(fs.Dir)
			require.NoError(t, err)
			for _, m := range mounts[1:] { // [0] is the tmpfs itself
				t.Errorf("left mounted: %s", m.Mountpoint)
			}
		})
	}
}
