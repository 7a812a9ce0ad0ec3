package lookup

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/layerspec"
	"github.com/unionbench/unionbench/scenarios"
)

// Paths in the image, relative to its root.
const (
	// Target is the file that lives only in the bottom layer: reaching it
	// in a union means looking "bottom" up in every layer above.
	Target = "bottom/target"
	// Shared is the directory every layer adds one entry to, so that
	// reading it merges every layer.
	Shared = "shared"
	// Absent is a name no layer holds, in Shared: proving it absent takes
	// a negative lookup in every layer.
	Absent = "shared/absent"
	// TargetSize is Target's size.
	TargetSize = 4096
)

// quickDepths and fullDepths are the depth sweeps. 256 and 499 (the
// kernel's 500 lowers under overlay2, minus a container's init layer, plus
// the image layer the container sits on) only run where --max-depth lets a
// driver stack that deep; elsewhere they are reported as not supported.
var (
	quickDepths = []int{1, 4, 16, 64}
	fullDepths  = []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 499}
)

// Depths is the image-depth sweep of a suite, shared by the lookup and
// mount scenarios so that their figures line up.
func Depths(s scenarios.Suite) []int {
	if s == scenarios.Full {
		return fullDepths
	}
	return quickDepths
}

// ParseDepth reads a case's depth parameter: a whole number of image
// layers from 1.
func ParseDepth(c scenarios.Case) (int, error) {
	v := c.Get("depth")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("depth %q: want a whole number of image layers from 1, e.g. depth=16", v)
	}
	return n, nil
}

// Image is the image of the given depth, bottom layer first. Layer i adds
// shared/lNNN (one entry per layer in the shared directory) and three small
// files in a directory of its own, so every layer's root has entries to
// search; the bottom layer also holds Target. Deterministic: every driver
// builds the same image.
func Image(depth int) []*layerspec.Layer {
	layers := make([]*layerspec.Layer, depth)
	for i := range layers {
		own := fmt.Sprintf("layer%03d", i)
		l := &layerspec.Layer{Entries: []layerspec.Entry{
			{Path: fmt.Sprintf("%s/l%03d", Shared, i), Kind: layerspec.File, Size: 16, Seed: uint64(i)},
			{Path: own + "/a", Kind: layerspec.File, Size: 64, Seed: uint64(i)},
			{Path: own + "/b", Kind: layerspec.File, Size: 512, Seed: uint64(i)},
			{Path: own + "/c", Kind: layerspec.Symlink, Target: "a"},
		}}
		if i == 0 {
			l.Entries = append(l.Entries, layerspec.Entry{Path: Target, Kind: layerspec.File, Size: TargetSize, Seed: 1})
		}
		layers[i] = l
	}
	return layers
}

// Stack is a fresh container (init and writable layer, not mounted) on
// Image(depth), in a driver of its own.
type Stack struct {
	Driver    drivers.Driver
	Container string // the container's layer id, for Mount and Unmount
	cleanup   func() error
}

// NewStack gives a container on Image(depth), built by a driver of env's
// variant (once a run, Env.Image: both cache states, every pass and the
// mount scenario share it), and creates a fresh container on it. A depth the driver cannot
// stack under a container is an error wrapping drivers.ErrNotSupported: a
// limit of the driver (raised with --max-depth), reported as n/a rather
// than a failure.
func NewStack(ctx context.Context, env *scenarios.Env, depth int) (*Stack, error) {
	d, top, release, err := env.Image(ctx, fmt.Sprintf("lookup/depth=%d", depth), func(ctx context.Context, d drivers.Driver) (string, error) {
		// A container adds its init and writable layers to the image's.
		if depth+2 > d.MaxDepth() {
			return "", fmt.Errorf("depth %d: %s stacks at most %d layers, so images of at most %d under a container; raise it with --max-depth: %w",
				depth, d.Name(), d.MaxDepth(), d.MaxDepth()-2, drivers.ErrNotSupported)
		}
		if env.Progress != nil {
			env.Progress("building an image of %d layers", depth)
		}
		parent := ""
		for i, l := range Image(depth) {
			id := fmt.Sprintf("layer%03d", i)
			if err := d.Create(ctx, id, parent, l); err != nil {
				return "", err
			}
			parent = id
		}
		return parent, nil
	})
	if err != nil {
		return nil, err
	}
	s := &Stack{Driver: d, Container: "container"}
	if err := drivers.NewContainer(ctx, d, s.Container, top); err != nil {
		return nil, errors.Join(err, release())
	}
	s.cleanup = func() error { return errors.Join(drivers.RemoveContainer(d, s.Container), release()) }
	return s, nil
}

// Close unmounts and removes the container and gives the image back.
func (s *Stack) Close() error { return s.cleanup() }
