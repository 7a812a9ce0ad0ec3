// Package inodes is the inode scenario: how many inodes (and bytes) a
// driver spends on an image and on each container, against the flattened
// tree's own count, and how many layers and containers fit on a filesystem
// with few inodes before it runs out.
//
// Every measurement happens on a fresh ext4 of its own, made on a loop
// image inside the run's backing filesystem, so counts start from a known,
// empty state and the inode count is known (it is in each result's Extra).
// What is counted is what statfs(2) says the filesystem lost, after
// syncfs: the driver's bookkeeping (link files, l/ symlinks, work
// directories) counts along with the layers' content, as it does on a real
// host; the driver's own root and probe leftovers, made before the first
// count, do not.
//
// Counts are deterministic: the images are generated from a seed, and ext4
// allocates the same on every run. So each case is measured once, whatever
// n is: a count metric carries one sample (container-inodes one per
// container), not n copies of the same number.
//
// The image cases are additive (no deletions), so the flattened tree is a
// fair floor. Legacy overlay's cost is one directory tree per layer (files
// are hard links into the layer below, which cost no inode), so it shows
// with images that have many directories; overlay2's is the parents of
// whatever a layer adds, so it stays near the flattened tree when layers
// add files to few directories. The sweep has one image of each kind.
package inodes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/layerspec"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// Scenario is the inodes scenario.
type Scenario struct{}

// New returns the inodes scenario.
func New() Scenario { return Scenario{} }

func init() { scenarios.Register(New()) }

// Name is "inodes".
func (Scenario) Name() string { return "inodes" }

// Shape is a synthetic image: Layers layers sharing Dirs directories, each
// layer adding Files files.
type Shape struct{ Layers, Dirs, Files int }

// Image generates the shape's layers: purely additive (churn 0), small
// files of 0, 512 and 4096 bytes.
func (s Shape) Image() ([]*layerspec.Layer, error) {
	return layerspec.Synthetic{Seed: 1303, Layers: s.Layers, Dirs: s.Dirs, Files: s.Files, Sizes: []int64{0, 512, 4096}}.Generate()
}

func (s Shape) params() []results.Param {
	return []results.Param{
		results.P("layers", strconv.Itoa(s.Layers)),
		results.P("dirs", strconv.Itoa(s.Dirs)),
		results.P("files", strconv.Itoa(s.Files)),
	}
}

var (
	// quickShapes: many directories and few files per layer (a distro base
	// with small layers on top: legacy overlay's bad case), and few
	// directories with many files (where its hard links do well).
	quickShapes = []Shape{{Layers: 10, Dirs: 1000, Files: 20}, {Layers: 10, Dirs: 20, Files: 200}}
	// fullShapes add a deep, large image.
	fullShapes = append(quickShapes[:len(quickShapes):len(quickShapes)], Shape{Layers: 50, Dirs: 50, Files: 500})
)

// Containers is how many containers each image case creates and mounts;
// container-inodes has one sample per container.
const Containers = 4

// Cases lists the image shapes (each with its flattened floor) and the
// small-filesystem exhaustion case (limit=small-fs, no floor).
func (Scenario) Cases(s scenarios.Suite) []scenarios.Case {
	shapes := quickShapes
	if s == scenarios.Full {
		shapes = fullShapes
	}
	var out []scenarios.Case
	for _, sh := range shapes {
		out = append(out, scenarios.Case{Params: sh.params(), Floor: true}, scenarios.Case{Params: sh.params()})
	}
	return append(out, scenarios.Case{Params: []results.Param{results.P("limit", "small-fs")}})
}

// SpaceNeeded is the largest loop image a case makes (sparse: an upper
// bound of what it writes to the backing fs).
func (Scenario) SpaceNeeded(_ scenarios.Suite, cases []scenarios.Case) int64 {
	need := smallFS.Size
	for _, c := range cases {
		if sh, err := parseShape(c); err == nil {
			need = max(need, sh.fsSpec().Size)
		}
	}
	return need
}

// Measure counts one case once (see the package doc); n only has to be at
// least 1.
func (Scenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) ([]scenarios.Measurement, error) {
	if n < 1 {
		return nil, fmt.Errorf("inodes: %d samples: want at least 1", n)
	}
	if c.Get("limit") != "" {
		if err := c.CheckParams("inodes", "limit"); err != nil {
			return nil, err
		}
		if c.Floor || c.Get("limit") != "small-fs" {
			return nil, fmt.Errorf("inodes: limit %q: the only limit case is limit=small-fs, without a floor", c.Get("limit"))
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return exhaust(ctx, env)
	}
	sh, err := parseShape(c)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	layers, err := sh.Image()
	if err != nil {
		return nil, err
	}
	if c.Floor {
		return countFlat(ctx, env, sh, layers)
	}
	ms, err := countDriver(ctx, env, sh, layers)
	for i := range ms {
		// An image is compared with its flattened tree (the floor case of
		// the same shape); a container's own inodes have no flat
		// counterpart.
		if strings.HasPrefix(ms[i].Metric, "image-") {
			ms[i].Floor = results.CaseKey(ms[i].Metric, c.Params...)
		}
	}
	return ms, err
}

func parseShape(c scenarios.Case) (Shape, error) {
	var sh Shape
	if err := c.CheckParams("inodes", "layers", "dirs", "files"); err != nil {
		return sh, err
	}
	for _, f := range []struct {
		key string
		dst *int
	}{{"layers", &sh.Layers}, {"dirs", &sh.Dirs}, {"files", &sh.Files}} {
		v, err := strconv.Atoi(c.Get(f.key))
		if err != nil || v < 1 || v > 100000 {
			return sh, fmt.Errorf("inodes: %s=%q: want a whole number from 1 to 100000", f.key, c.Get(f.key))
		}
		*f.dst = v
	}
	return sh, nil
}

// fsSpec sizes a fresh ext4 for the shape: room for its costliest driver,
// vfs, where every layer and both layers of every container are full
// copies, with a quarter to spare. At least 512 MiB, so that mke2fs uses
// its default 4 KiB blocks and 256-byte inodes rather than the "small"
// filesystem type's 1 KiB blocks, whatever the shape.
func (s Shape) fsSpec() backing.Spec {
	dirs := int64(s.Dirs + 1)
	l, f := int64(s.Layers), int64(s.Files)
	image := l*dirs + f*l*(l+1)/2
	containers := int64(Containers) * 2 * (dirs + l*f + int64(len(layerspec.DockerInit().Entries)))
	inodes := (image+containers)*5/4 + 4096
	// Every directory and non-empty file takes a 4 KiB block; the journal
	// and metadata want some more.
	size := inodes*4096*3/2 + 128<<20
	const unit = 256 << 20
	size = max(512<<20, (size+unit-1)/unit*unit)
	return backing.Spec{Kind: backing.Ext4, Size: size, Inodes: inodes}
}

// newFS makes a fresh ext4 inside the run's backing fs. The returned close
// unmounts it, detaches its loop device and removes its directory.
func newFS(env *scenarios.Env, spec backing.Spec) (*backing.FS, func() error, error) {
	dir, err := os.MkdirTemp(env.FS.Dir, "inodes-")
	if err != nil {
		return nil, nil, err
	}
	fs, err := backing.Create(dir, spec)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("inodes: make a fresh ext4 of %d inodes: %w", spec.Inodes, err), os.Remove(dir))
	}
	return fs, func() error {
		if err := fs.Close(); err != nil {
			return err // Close removed nothing that may still be mounted
		}
		return os.Remove(dir)
	}, nil
}

// newDriver makes a fresh ext4 of spec and a driver of env's variant on
// it, checking that the driver stacks images of layers layers under a
// container. done removes the driver, then the filesystem.
func newDriver(env *scenarios.Env, spec backing.Spec, layers int) (d drivers.Driver, fs *backing.FS, done func() error, err error) {
	fs, closeFS, err := newFS(env, spec)
	if err != nil {
		return nil, nil, nil, err
	}
	d, cleanup, err := (&scenarios.Env{FS: fs, Variant: env.Variant, MaxDepth: env.MaxDepth}).NewDriver()
	if err != nil {
		return nil, nil, nil, errors.Join(err, closeFS())
	}
	done = func() error { return errors.Join(cleanup(), closeFS()) }
	if layers+2 > d.MaxDepth() {
		return nil, nil, nil, errors.Join(fmt.Errorf("%d layers: %s stacks at most %d layers, so images of at most %d under a container: %w",
			layers, d.Name(), d.MaxDepth(), d.MaxDepth()-2, drivers.ErrNotSupported), done())
	}
	return d, fs, done, nil
}

// usage is what a filesystem has in use: inodes and bytes, after syncfs so
// that delayed allocation has happened.
type usage struct{ inodes, bytes int64 }

func used(fs *backing.FS) (usage, error) {
	if err := scenarios.Syncfs(fs); err != nil {
		return usage{}, err
	}
	st, err := fs.Statfs()
	if err != nil {
		return usage{}, err
	}
	return usage{inodes: int64(st.Files - st.Ffree), bytes: int64(st.Blocks-st.Bfree) * st.Bsize}, nil
}

func (u usage) minus(v usage) usage { return usage{u.inodes - v.inodes, u.bytes - v.bytes} }

// fsExtra describes the fresh filesystem for a result's Extra.
func fsExtra(fs *backing.FS) map[string]any {
	x := map[string]any{"fs": string(fs.Spec.Kind)}
	if st, err := fs.Statfs(); err == nil {
		x["fs-inodes"], x["fs-bytes"] = st.Files, int64(st.Blocks)*st.Bsize
	}
	return x
}

func one(metric, unit string, v int64, extra map[string]any) scenarios.Measurement {
	m := scenarios.Count(metric, unit, float64(v))
	m.Extra = extra
	return m
}

// countFlat is the floor: the image applied layer after layer to one plain
// directory, deletions done for real, as if it had been flattened.
func countFlat(ctx context.Context, env *scenarios.Env, sh Shape, layers []*layerspec.Layer) (ms []scenarios.Measurement, err error) {
	fs, closeFS, err := newFS(env, sh.fsSpec())
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, closeFS()) }()
	before, err := used(fs)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(fs.Dir, "flat-")
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		if err := layerspec.Apply(ctx, dir, l, layerspec.FlatFormat{}, nil); err != nil {
			return nil, err
		}
	}
	after, err := used(fs)
	if err != nil {
		return nil, err
	}
	d, x := after.minus(before), fsExtra(fs)
	return []scenarios.Measurement{one("image-inodes", "inodes", d.inodes, x), one("image-bytes", "bytes", d.bytes, x)}, nil
}

// countDriver builds the image with the driver under test, then creates
// and mounts Containers containers on it, counting each.
func countDriver(ctx context.Context, env *scenarios.Env, sh Shape, layers []*layerspec.Layer) (ms []scenarios.Measurement, err error) {
	d, fs, done, err := newDriver(env, sh.fsSpec(), sh.Layers)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, done()) }()
	x := fsExtra(fs)
	before, err := used(fs)
	if err != nil {
		return nil, err
	}
	top, err := build(ctx, d, "layer", layers)
	if err != nil {
		return nil, err
	}
	after, err := used(fs)
	if err != nil {
		return nil, err
	}
	img := after.minus(before)
	ms = []scenarios.Measurement{one("image-inodes", "inodes", img.inodes, x), one("image-bytes", "bytes", img.bytes, x)}

	cx := map[string]any{"mounted": true, "containers": Containers}
	for k, v := range x {
		cx[k] = v
	}
	ci, cb := scenarios.Count("container-inodes", "inodes"), scenarios.Count("container-bytes", "bytes")
	ci.Extra, cb.Extra = cx, cx
	for i := range Containers {
		if err := ctx.Err(); err != nil {
			return append(ms, ci, cb), err
		}
		before, err := used(fs)
		if err != nil {
			return nil, err
		}
		id := fmt.Sprintf("container%d", i)
		if err := drivers.NewContainer(ctx, d, id, top); err != nil {
			return append(ms, ci, cb), err
		}
		if _, err := d.Mount(ctx, id); err != nil {
			return append(ms, ci, cb), err
		}
		after, err := used(fs)
		if err != nil {
			return nil, err
		}
		u := after.minus(before)
		ci.Samples = append(ci.Samples, float64(u.inodes))
		cb.Samples = append(cb.Samples, float64(u.bytes))
	}
	return append(ms, ci, cb), nil
}

// build creates the layers as one image, ids prefix000, prefix001, ...,
// and returns the top layer's id.
func build(ctx context.Context, d drivers.Driver, prefix string, layers []*layerspec.Layer) (string, error) {
	parent := ""
	for i, l := range layers {
		id := fmt.Sprintf("%s%03d", prefix, i)
		if err := d.Create(ctx, id, parent, l); err != nil {
			return "", err
		}
		parent = id
	}
	return parent, nil
}
