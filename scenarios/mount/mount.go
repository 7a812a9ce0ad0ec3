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
// remounts the same directories.
//
// The floor (driver "floor") is the cheapest mount(2) there is: a bind
// mount of a plain directory on the same backing fs, and its umount(2).
// It is what every union mount pays for the syscall, the mount tree and
// the namespace bookkeeping before the filesystem does anything, so a
// driver's mount-vs-floor figure is what the union costs on top, and it
// is taken in the same rounds, so drift of the machine moves both alike.
// vfs is not measured: it mounts nothing (a container is a plain
// directory and its Mount returns the path), so its figure would time the
// harness, not a driver.
package mount

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
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

// Cases sweeps depth: 1, 16, 64 quick; lookup's full sweep with --full;
// and the floor, one bind mount whatever the depth.
func (Scenario) Cases(s scenarios.Suite) []scenarios.Case {
	depths := quickDepths
	if s == scenarios.Full {
		depths = lookup.Depths(s)
	}
	out := []scenarios.Case{{Floor: true}}
	for _, d := range depths {
		out = append(out, scenarios.Case{Params: []results.Param{results.P("depth", fmt.Sprint(d))}})
	}
	return out
}

// Measure times n mounts and n unmounts of one container (see Prepare).
func (sc Scenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) ([]scenarios.Measurement, error) {
	return scenarios.MeasureBySampling(ctx, sc, env, c, n)
}

// Prepare builds a container on an image of the case's depth, each Sample
// timing one mount and one unmount of it; or, for the floor, a plain
// directory and a mount point, each Sample one bind mount and unmount.
func (Scenario) Prepare(ctx context.Context, env *scenarios.Env, c scenarios.Case) (scenarios.Sampler, error) {
	if c.Floor {
		if err := c.CheckParams("mount floor"); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return prepareFloor(env)
	}
	if err := c.CheckParams("mount", "depth"); err != nil {
		return nil, err
	}
	depth, err := lookup.ParseDepth(c)
	if err != nil {
		return nil, err
	}
	if env.Variant.Driver == "vfs" {
		return nil, drivers.NotSupported("vfs", "vfs mounts nothing: a container is a plain directory, so there is no mount to time")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := lookup.NewStack(ctx, env, depth)
	if err != nil {
		return nil, err
	}
	ms := []scenarios.Measurement{scenarios.Timing("mount", 0), scenarios.Timing("unmount", 0)}
	for i := range ms {
		ms[i].Floor = results.CaseKey(ms[i].Metric)
	}
	return &sampler{
		ms:      ms,
		mount:   func(ctx context.Context) error { _, err := s.Driver.Mount(ctx, s.Container); return err },
		unmount: func() error { return s.Driver.Unmount(s.Container) },
		close:   s.Close,
	}, nil
}

// prepareFloor makes a directory holding one file and a mount point
// beside it on the backing fs.
func prepareFloor(env *scenarios.Env) (scenarios.Sampler, error) {
	dir, err := env.TempDir()
	if err != nil {
		return nil, err
	}
	src, target := filepath.Join(dir, "src"), filepath.Join(dir, "target")
	remove := func() error { return os.RemoveAll(dir) }
	for _, d := range []string{src, target} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, errors.Join(err, remove())
		}
	}
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("floor\n"), 0o644); err != nil {
		return nil, errors.Join(err, remove())
	}
	mounted := false
	return &sampler{
		ms: []scenarios.Measurement{scenarios.Timing("mount", 0), scenarios.Timing("unmount", 0)},
		mount: func(context.Context) error {
			if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
				return &os.PathError{Op: "bind mount on", Path: target, Err: err}
			}
			mounted = true
			return nil
		},
		unmount: func() error {
			if err := unix.Unmount(target, 0); err != nil {
				return &os.PathError{Op: "unmount", Path: target, Err: err}
			}
			mounted = false
			return nil
		},
		close: func() error {
			if mounted {
				if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
					return errors.Join(&os.PathError{Op: "unmount", Path: target, Err: err}, remove())
				}
			}
			return remove()
		},
	}, nil
}

// sampler times mount and unmount, one of each per Sample.
type sampler struct {
	ms             []scenarios.Measurement // mount, unmount
	mount          func(context.Context) error
	unmount, close func() error
}

func (s *sampler) Sample(ctx context.Context) error {
	start := time.Now()
	err := s.mount(ctx)
	took := time.Since(start)
	if err != nil {
		return err
	}
	s.ms[0].Samples = append(s.ms[0].Samples, float64(took.Nanoseconds()))
	start = time.Now()
	err = s.unmount()
	took = time.Since(start)
	if err != nil {
		return err
	}
	s.ms[1].Samples = append(s.ms[1].Samples, float64(took.Nanoseconds()))
	return nil
}

func (s *sampler) Measurements() []scenarios.Measurement { return s.ms }

func (s *sampler) Close() error { return s.close() }
