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

// Measure times n mounts and n unmounts of one container (see Prepare).
func (sc Scenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) ([]scenarios.Measurement, error) {
	return scenarios.MeasureBySampling(ctx, sc, env, c, n)
}

// Prepare builds a container on an image of the case's depth; each
// Sample times one mount and one unmount of it. There is no floor, so
// the runner interleaves the variants of a depth with each other only.
func (Scenario) Prepare(ctx context.Context, env *scenarios.Env, c scenarios.Case) (scenarios.Sampler, error) {
	if c.Floor {
		return nil, errors.New("mount: there is no floor case")
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
	return &sampler{s: s, ms: []scenarios.Measurement{scenarios.Timing("mount", 0), scenarios.Timing("unmount", 0)}}, nil
}

type sampler struct {
	s  *lookup.Stack
	ms []scenarios.Measurement // mount, unmount
}

func (s *sampler) Sample(ctx context.Context) error {
	start := time.Now()
	_, err := s.s.Driver.Mount(ctx, s.s.Container)
	took := time.Since(start)
	if err != nil {
		return err
	}
	s.ms[0].Samples = append(s.ms[0].Samples, float64(took.Nanoseconds()))
	start = time.Now()
	err = s.s.Driver.Unmount(s.s.Container)
	took = time.Since(start)
	if err != nil {
		return err
	}
	s.ms[1].Samples = append(s.ms[1].Samples, float64(took.Nanoseconds()))
	return nil
}

func (s *sampler) Measurements() []scenarios.Measurement { return s.ms }

func (s *sampler) Close() error { return s.s.Close() }
