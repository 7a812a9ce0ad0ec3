// Package realimage holds the scenarios that run on real images given with
// `unionbench run --image PATH`: each driver imports the image from its
// layer tars (images.Import), and the floor of every case is the same work
// on a flat copy of the image (its layers extracted into one plain
// directory tree) on the same backing filesystem.
//
//	image-start     mount a container and run a program of the image in it
//	                (chroot; /bin/sh -c true unless --exec), cold and warm
//	image-walk      readdir and lstat every entry of the merged view, cold
//	                and warm; lstat of every path from a list, warm
//	image-inodes    inodes and bytes of the driver root holding the image
//	                (each layer's own in Extra), and with one container
//	image-copyup    first write to the image's largest file and to a
//	                typical shared library (median-size .so)
//	image-volume    appends with fdatasync and many small files written
//	                and renamed, in the container's writable layer and in a
//	                directory bind-mounted into it from the backing fs
//	image-pagecache page cache the image's files hold per container when N
//	                containers run its program (cachestat of the backing
//	                files), and the host's Cached growth per container
//
// Records name the image by its parameters (image=<first 12 hex digits of
// the digest>) and carry the digest, layer count and uncompressed size in
// Extra.
package realimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/images"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// DefaultExec is the program image-start and image-pagecache run.
var DefaultExec = []string{"/bin/sh", "-c", "true"}

// Config is what the image scenarios run on.
type Config struct {
	Images []*images.Image
	Exec   []string // absolute path of the program in the image, and its arguments
}

// Names are the scenarios' names, in the order they run.
var Names = []string{"image-start", "image-walk", "image-inodes", "image-copyup", "image-volume", "image-pagecache"}

// Scenarios returns the named scenarios (all of them for no names) on cfg.
func Scenarios(cfg Config, names ...string) ([]scenarios.Scenario, error) {
	if len(cfg.Exec) == 0 {
		cfg.Exec = DefaultExec
	}
	if !filepath.IsAbs(cfg.Exec[0]) {
		return nil, fmt.Errorf("exec %q: want the absolute path of a program in the image, e.g. /bin/sh", cfg.Exec[0])
	}
	if len(names) == 0 {
		names = Names
	}
	var out []scenarios.Scenario
	for _, n := range names {
		m, ok := measures[n]
		if !ok {
			return nil, fmt.Errorf("image scenario %q: want one of %s", n, strings.Join(Names, ", "))
		}
		out = append(out, &scenario{name: n, cfg: cfg, measure: m})
	}
	return out, nil
}

// measureFunc measures one case on a prepared image.
type measureFunc func(ctx context.Context, s *setup, n int) ([]scenarios.Measurement, error)

var measures = map[string]measureFunc{
	"image-start":     measureStart,
	"image-walk":      measureWalk,
	"image-inodes":    measureInodes,
	"image-copyup":    measureCopyup,
	"image-volume":    measureVolume,
	"image-pagecache": measurePagecache,
}

type scenario struct {
	name    string
	cfg     Config
	measure measureFunc
}

func (s *scenario) Name() string { return s.name }

// ImageParam is how a record names its image: the digest's first 12 hex
// digits, as `docker images` shows an id.
func ImageParam(im *images.Image) string { return im.Digest.Hex[:12] }

// Cases are one case per image, with its floor.
func (s *scenario) Cases(scenarios.Suite) []scenarios.Case {
	var out []scenarios.Case
	for _, floor := range []bool{true, false} {
		for _, im := range s.cfg.Images {
			out = append(out, scenarios.Case{Params: []results.Param{results.P("image", ImageParam(im))}, Floor: floor})
		}
	}
	return out
}

func (s *scenario) image(c scenarios.Case) (*images.Image, error) {
	if err := c.CheckParams(s.name, "image"); err != nil {
		return nil, err
	}
	for _, im := range s.cfg.Images {
		if ImageParam(im) == c.Get("image") {
			return im, nil
		}
	}
	return nil, fmt.Errorf("%s: image %q is not one of this run's", s.name, c.Get("image"))
}

func (s *scenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) (ms []scenarios.Measurement, err error) {
	im, err := s.image(c)
	if err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fmt.Errorf("%s: %d samples: want at least 1", s.name, n)
	}
	st, err := prepare(ctx, env, im, c.Floor)
	if err != nil {
		return nil, err
	}
	st.exec = s.cfg.Exec
	defer func() { err = errors.Join(err, st.close()) }()
	ms, err = s.measure(ctx, st, n)
	for i := range ms {
		if ms[i].Extra == nil {
			ms[i].Extra = map[string]any{}
		}
		ms[i].Extra["image-digest"] = im.Digest.String()
		ms[i].Extra["image-layers"] = len(im.Layers)
		ms[i].Extra["image-bytes"] = im.UncompressedSize()
		if !c.Floor && ms[i].Metric != "mount" { // a flat tree mounts nothing
			ms[i].Floor = results.CaseKey(floorMetric(ms[i].Metric), c.Params...)
		}
	}
	return ms, err
}

// floorMetric is the floor metric a driver's metric is compared with: a
// volume is compared with the same work on the plain tree.
func floorMetric(m string) string { return strings.TrimSuffix(m, "-volume") }

// setup is one image ready to measure: imported into a fresh driver, or
// extracted flat into a plain directory for the floor.
type setup struct {
	env   *scenarios.Env
	image *images.Image
	exec  []string
	floor string         // the flat tree (floor cases)
	d     drivers.Driver // the driver (driver cases)
	top   string         // the image's top layer in d
	n     int            // containers made so far, for their ids
	undo  []func() error
}

func prepare(ctx context.Context, env *scenarios.Env, im *images.Image, floor bool) (*setup, error) {
	s := &setup{env: env, image: im}
	if floor {
		dir, err := env.TempDir()
		if err != nil {
			return nil, err
		}
		s.floor = dir
		s.undo = append(s.undo, func() error { return os.RemoveAll(dir) })
		if err := im.ExtractFlat(ctx, dir); err != nil {
			return nil, errors.Join(err, s.close())
		}
		return s, nil
	}
	d, cleanup, err := env.NewDriver()
	if err != nil {
		return nil, err
	}
	s.d = d
	s.undo = append(s.undo, cleanup)
	if s.top, err = im.Import(ctx, d, "img"); err != nil {
		return nil, errors.Join(err, s.close())
	}
	return s, nil
}

func (s *setup) close() error {
	var errs []error
	for i := len(s.undo) - 1; i >= 0; i-- {
		errs = append(errs, s.undo[i]())
	}
	s.undo = nil
	return errors.Join(errs...)
}

// container returns the directory a new container of the image shows and
// how to remove it again; for the floor, the flat tree itself (removing
// it is left to close).
func (s *setup) container(ctx context.Context) (string, func() error, error) {
	if s.d == nil {
		return s.floor, func() error { return nil }, nil
	}
	id := fmt.Sprintf("c%d", s.n)
	s.n++
	if err := drivers.NewContainer(ctx, s.d, id, s.top); err != nil {
		return "", nil, err
	}
	dir, err := s.d.Mount(ctx, id)
	if err != nil {
		return "", nil, errors.Join(err, drivers.RemoveContainer(s.d, id))
	}
	return dir, func() error { return drivers.RemoveContainer(s.d, id) }, nil
}
