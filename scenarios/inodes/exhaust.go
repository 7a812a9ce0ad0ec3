package inodes

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// smallFS is the exhaustion case's filesystem: 8192 inodes and, for the
// small files of smallImage, blocks to spare, so that inodes run out first.
var smallFS = backing.Spec{Kind: backing.Ext4, Size: 512 << 20, Inodes: 8192}

// smallImage is the image the exhaustion case repeats: a small distro-like
// base of 200 directories, five layers of ten files each.
var smallImage = Shape{Layers: 5, Dirs: 200, Files: 10}

// Caps on the exhaustion loops, so that a driver that never runs out (or a
// filesystem bigger than asked for) ends the case anyway; a capped count
// says so in its Extra.
const (
	maxLayers     = 2000
	maxContainers = 2000
)

// exhaust counts, each on a fresh smallFS, how many layers of copies of
// smallImage (each copy its own image, as when many images are pulled) and
// how many containers on one copy (created, not started, as many stopped
// containers are) fit before creating one fails with ENOSPC. ENOSPC is the
// expected end, not a failure; any other error is.
func exhaust(ctx context.Context, env *scenarios.Env) (ms []scenarios.Measurement, err error) {
	layers, err := smallImage.Image()
	if err != nil {
		return nil, err
	}
	lm, err := fill(ctx, env, "layers-until-enospc", maxLayers, func(d drivers.Driver) (func(i int) error, error) {
		parent := ""
		return func(i int) error {
			// Image i/len(layers), layer i%len(layers): every copy starts
			// again from a base layer.
			li := i % len(layers)
			if li == 0 {
				parent = ""
			}
			id := fmt.Sprintf("image%04d-layer%d", i/len(layers), li)
			if err := d.Create(ctx, id, parent, layers[li]); err != nil {
				return err
			}
			parent = id
			return nil
		}, nil
	})
	if err != nil {
		return lm, err
	}
	cm, err := fill(ctx, env, "containers-until-enospc", maxContainers, func(d drivers.Driver) (func(i int) error, error) {
		top, err := build(ctx, d, "layer", layers)
		if err != nil {
			return nil, fmt.Errorf("the image the containers share: %w", err)
		}
		return func(i int) error { return drivers.NewContainer(ctx, d, fmt.Sprintf("container%04d", i), top) }, nil
	})
	return append(lm, cm...), err
}

// fill makes a fresh smallFS and a driver on it, lets setup prepare, then
// calls add(0), add(1), ... until it fails with ENOSPC or limit calls
// succeeded, and returns how many succeeded as metric.
func fill(ctx context.Context, env *scenarios.Env, metric string, limit int, setup func(drivers.Driver) (func(i int) error, error)) (ms []scenarios.Measurement, err error) {
	d, fs, done, err := newDriver(env, smallFS, smallImage.Layers)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, done()) }()
	x := fsExtra(fs)
	x["image"] = fmt.Sprintf("%d layers x %d dirs x %d files", smallImage.Layers, smallImage.Dirs, smallImage.Files)
	add, err := setup(d)
	if err != nil {
		return nil, err
	}
	n := 0
	for ; n < limit; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := add(n)
		if errors.Is(err, unix.ENOSPC) {
			x["stopped-by"] = err.Error()
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: after %d: %w", metric, n, err)
		}
	}
	x["capped"] = n == limit
	if st, err := fs.Statfs(); err == nil {
		x["inodes-free-at-end"], x["bytes-free-at-end"] = st.Ffree, int64(st.Bavail)*st.Bsize
	}
	// How many fit: more is better.
	m := scenarios.Count(metric, "count", float64(n))
	m.Better, m.Extra = results.Higher, x
	return []scenarios.Measurement{m}, nil
}
