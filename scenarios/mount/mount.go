// Package mount is the mount scenario: how long mounting and unmounting a
// container takes, by the depth of its image.
//
// Each case builds a container (not timed) on lookup.Image(depth), the
// same images the lookup scenario uses, then takes n samples of
// d.Mount(container) and of d.Unmount(container), timed separately around
// the driver calls: what a runtime pays at container start and stop. For
// overlay2 that is mount(2) with one lowerdir per layer (or fsconfig's
// lowerdir+ beyond a page of mount data); for fuse-overlayfs starting and
// stopping its daemon; for legacy overlay one mount on a single lower tree
// whatever the depth; for vfs nothing at all, so its figures are the
// harness's own cost of a driver call, reported as measured.
//
// Mounts are warm: the container was created just before, and each sample
// remounts the same directories. There is no floor: a plain directory has
// nothing to mount.
package mount

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/lookup"
)

// Scenario is the mount scenario.
type Scenario struct{}

// New returns the mount scenario.
func New() Scenario { return Scenario{} }

func init() { scenarios.Register(New()) }

// Name is "mount".
func (Scenario) Name() string { return "mount" }

// quickDepths is shorter than lookup's: mount time is a straight line in
// depth, and three points show it.
var quickDepths = []int{1, 16, 64}

// Cases sweeps depth: 1, 16, 64 quick; lookup's full sweep with --full.
func (Scenario) Cases(s scenarios.Suite) []scenarios.Case {
	depths := quickDepths
	if s == scenarios.Full {
		depths = lookup.Depths(s)
	}
	var out []scenarios.Case
	for _, d := range depths {
		out = append(out, scenarios.Case{Params: []results.Param{results.P("depth", fmt.Sprint(d))}})
	}
	return out
}

// Measure times n mounts and n unmounts of one container.
func (Scenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) (ms []scenarios.Measurement, err error) {
	if c.Floor {
		return nil, errors.New("mount: there is no floor case")
	}
	if n < 1 {
		return nil, fmt.Errorf("mount: %d samples: want at least 1", n)
	}
	if err := c.CheckParams("mount", "depth"); err != nil {
		return nil, err
	}
	depth, err := lookup.ParseDepth(c)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := lookup.NewStack(ctx, env, depth)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.Close()) }()
	mount, unmount := scenarios.Timing("mount", n), scenarios.Timing("unmount", n)
	for range n {
		if err := ctx.Err(); err != nil {
			return []scenarios.Measurement{mount, unmount}, err
		}
		start := time.Now()
		_, err := s.Driver.Mount(ctx, s.Container)
		took := time.Since(start)
		if err != nil {
			return []scenarios.Measurement{mount, unmount}, err
		}
		mount.Samples = append(mount.Samples, float64(took.Nanoseconds()))
		start = time.Now()
		err = s.Driver.Unmount(s.Container)
		took = time.Since(start)
		if err != nil {
			return []scenarios.Measurement{mount, unmount}, err
		}
		unmount.Samples = append(unmount.Samples, float64(took.Nanoseconds()))
	}
	return []scenarios.Measurement{mount, unmount}, nil
}
