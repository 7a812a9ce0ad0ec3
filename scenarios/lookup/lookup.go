// Package lookup is the lookup-depth scenario: what a path lookup costs in
// a container as its image gets deeper.
//
// An image of depth N is N layers (see Image); a container is mounted on
// it and, from the container's root, four operations are timed: stat of a
// file that lives only in the bottom layer, open+close of it, stat of a
// name no layer holds in a directory every layer adds to (ENOENT), and
// open+getdents+close of that directory. In a union each of them may
// search every layer, so their cost can grow with depth; vfs, whose
// container is a plain copy of the flattened image, is the per-depth
// baseline, and the floor case times the same operations on a plain
// single-layer tree on the backing filesystem.
//
// Cold samples drop the dentry and inode caches before every single timed
// operation (untimed, see dropDentries), so no operation finds what another
// one looked up and the union walks its layers again; this is what makes
// depth show at all, since a warm dentry cache answers a stat from the
// overlay's own dentries whatever the depth. The page cache is kept: the
// blocks a cold lookup reads come from memory, so it times the union, not
// the disk. Warm samples are the mean of a batch of repetitions (at least
// half a millisecond of them), after an untimed calibration that also
// warms the caches. Two things stay warm even "cold": on a tmpfs backing fs
// the layers' own dentries are pinned in memory, so only the overlay's
// lookups are cold; and fuse-overlayfs keeps its own node cache in user
// space, which dropping the kernel's caches does not touch.
//
// Not for comparing hosts with other workloads running: dropping caches is
// host-wide, and a sample is one syscall, so any noise shows.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/unionbench/unionbench/drivers/fuseoverlayfs"
	"github.com/unionbench/unionbench/layerspec"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// Scenario is the lookup scenario.
type Scenario struct{}

// New returns the lookup scenario.
func New() Scenario { return Scenario{} }

func init() { scenarios.Register(New()) }

// Name is "lookup".
func (Scenario) Name() string { return "lookup" }

var caches = []string{"cold", "warm"}

// Cases sweeps depth x cache; the floor does not depend on depth, so its
// cases are cache only.
func (Scenario) Cases(s scenarios.Suite) []scenarios.Case {
	var out []scenarios.Case
	for _, c := range caches {
		out = append(out, scenarios.Case{Params: []results.Param{results.P("cache", c)}, Floor: true})
	}
	for _, d := range Depths(s) {
		for _, c := range caches {
			out = append(out, scenarios.Case{Params: []results.Param{results.P("depth", fmt.Sprint(d)), results.P("cache", c)}})
		}
	}
	return out
}

// Measure takes n samples of each of stat, open, enoent and readdir (see
// Prepare).
func (sc Scenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) ([]scenarios.Measurement, error) {
	return scenarios.MeasureBySampling(ctx, sc, env, c, n)
}

// Prepare gets the case's image (built once a run, Env.Image), mounts a
// fresh container on it and opens the tree; each Sample of the sampler
// then times stat, open, enoent and readdir once each (a warm one as the
// mean of a batch), on the sampling CPU (pin.go).
func (Scenario) Prepare(ctx context.Context, env *scenarios.Env, c scenarios.Case) (_ scenarios.Sampler, err error) {
	keys := []string{"depth", "cache"}
	if c.Floor {
		keys = keys[1:] // the floor is one plain tree: no depth
	}
	if err := c.CheckParams("lookup", keys...); err != nil {
		return nil, err
	}
	cold, err := parseCache(c)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, entries, done, err := prepare(ctx, env, c)
	if err != nil {
		return nil, err
	}
	t, err := openTree(dir, entries)
	if err != nil {
		return nil, errors.Join(err, done())
	}
	t.raw = !cold // see raw.go
	closeAll := func() error { return errors.Join(t.close(), done()) }
	// The image was just written: its writeback must not run during the
	// samples.
	if err := scenarios.Settle(env.FS); err != nil {
		return nil, errors.Join(err, closeAll())
	}
	cpu, err := samplingCPU()
	if err != nil {
		return nil, errors.Join(err, closeAll())
	}
	pinned := fmt.Sprintf("sampling thread on CPU %d", cpu)
	if env.Variant.Driver == fuseoverlayfs.Name {
		if err := pinDaemon(dir, cpu); err != nil {
			return nil, errors.Join(err, closeAll())
		}
		pinned += ", and the fuse-overlayfs daemon"
	}
	s := &sampler{t: t, close: closeAll, cpu: cpu, ms: make([]scenarios.Measurement, len(ops)), reps: make([]int, len(ops))}
	if cold {
		s.drop = func() error { return dropDentries(env.FS) }
	}
	for i, o := range ops {
		s.ms[i] = scenarios.Timing(o.metric, 0)
		s.reps[i] = 1
		if !c.Floor {
			// A driver's lookups are compared with the same lookup on the
			// backing fs in the same cache state (the floor case has no
			// depth).
			s.ms[i].Floor = results.CaseKey(o.metric, results.P("cache", c.Get("cache")))
		}
		s.ms[i].Extra = map[string]any{"pinned": pinned}
		if cold {
			s.ms[i].Extra["cold-by"] = coldBy
			continue
		}
		var r int
		if err := onCPU(cpu, func() (err error) { r, err = batchSize(t, o); return err }); err != nil {
			return nil, errors.Join(err, closeAll())
		}
		s.reps[i] = r
		s.ms[i].Extra["ops-per-sample"] = r
		if why := fuseDaemonBound[o.metric]; why != "" && env.Variant.Driver == fuseoverlayfs.Name {
			s.ms[i].Extra["depends-on"] = why
		}
	}
	return s, nil
}

// fuseDaemonBound says, per warm operation, what a warm fuse-overlayfs
// sample depends on. Found on this project's 2-CPU VM under load (a
// batch of 2000 of each op, ten batches): warm stat took 2-3 µs, as on
// overlay, since the kernel answers it from its attribute cache, which
// fuse-overlayfs lets live for 10^9 s (its default entry and attribute
// timeout; unionbench passes no timeout=), so timeouts expiring inside a
// batch are not what moves; warm enoent, 1.3-1.9 µs, is answered from
// the kernel's negative entries the same way, once each batch starts
// warm (see Sample: an open and close of a file drops its cached
// attributes, so a stat right after an open batch went to the daemon).
// Warm open took 42-105 µs (overlay 6 µs) and
// readdir 0.4-1.0 ms (overlay 0.07-0.2 ms) from one batch to the next:
// each call is a round trip to the fuse-overlayfs daemon (FUSE_OPEN and
// FUSE_RELEASE; READDIR), so its time is how soon the daemon's threads
// get a CPU, which moves with whatever else the host runs. Dropping the
// dentry cache before a batch did not change its mean. The largest part
// is where the daemon runs: with the caller pinned to CPU 0, a warm open
// took 20 µs with the daemon on CPU 0 and 106 µs with it on CPU 1, readdir
// 22 and 87 µs, stat 2.1 and 2.6 µs (BenchmarkFUSEDaemonPlacement): waking
// a daemon on another, idle vCPU costs a hypervisor's wake-up, and an
// unpinned daemon stays on one side or the other for a while, so a whole
// pass can land on either. Passes (Plan.Passes), each on a fresh mount,
// show that spread to compare instead of hiding it in one burst.
var fuseDaemonBound = map[string]string{
	"stat":    "the kernel's FUSE attribute cache (fuse-overlayfs's default timeout is 1e9 s): no daemon round trip once warm",
	"enoent":  "the kernel's FUSE negative-entry cache, under the same timeout: no daemon round trip once warm",
	"open":    "a round trip to the fuse-overlayfs daemon per call (FUSE_OPEN, FUSE_RELEASE), pinned to the caller's CPU: on another CPU it costs about 5x more (20 vs 106 µs here, BenchmarkFUSEDaemonPlacement)",
	"readdir": "a round trip to the fuse-overlayfs daemon per getdents (READDIR), pinned to the caller's CPU: on another CPU it costs about 4x more (22 vs 87 µs here, BenchmarkFUSEDaemonPlacement)",
}

// sampler times the operations of one prepared case. Cold (drop set):
// caches dropped before each single op, one op a sample. Warm: the op was
// run untimed while calibrating its batch (batchSize), and each sample is
// the mean of a batch of repetitions, after one more untimed repetition.
type sampler struct {
	t     *tree
	cpu   int // every sample runs pinned to it (see pin.go)
	drop  func() error
	reps  []int
	ms    []scenarios.Measurement
	close func() error
}

func (s *sampler) Sample(ctx context.Context) error {
	return onCPU(s.cpu, func() error { return s.sample(ctx) })
}

func (s *sampler) sample(ctx context.Context) error {
	for i, o := range ops {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.drop != nil {
			if err := s.drop(); err != nil {
				return err
			}
		} else if _, err := o.run(s.t); err != nil {
			// Warm: one untimed repetition first re-warms what the
			// previous operation's batch undid. On fuse-overlayfs an
			// open and close of a file drops the kernel's cached
			// attributes of it, so the stat batch after an open batch
			// began with a round trip to the daemon that waited behind
			// the queued FUSE_RELEASEs (0.1-5.5 ms, measured), and
			// warm stat came out 2 µs in one run and 56 µs in the
			// next, depending on how fast the daemon drained them.
			return err
		}
		var total time.Duration
		for range s.reps[i] {
			took, err := o.run(s.t)
			if err != nil {
				return err
			}
			total += took
		}
		s.ms[i].Samples = append(s.ms[i].Samples, float64(total.Nanoseconds())/float64(s.reps[i]))
	}
	return nil
}

func (s *sampler) Measurements() []scenarios.Measurement { return s.ms }

func (s *sampler) Close() error { return s.close() }

func parseCache(c scenarios.Case) (cold bool, err error) {
	switch v := c.Get("cache"); v {
	case "cold", "warm":
		return v == "cold", nil
	default:
		return false, fmt.Errorf("cache %q: want cold or warm", v)
	}
}

// prepare makes the tree a case measures: a mounted container on an image
// of the case's depth, or for the floor the one-layer image applied to a
// plain directory. It returns the directory, how many entries Shared
// holds there, and how to undo it all.
func prepare(ctx context.Context, env *scenarios.Env, c scenarios.Case) (dir string, entries int, done func() error, err error) {
	if c.Floor {
		dir, err := env.TempDir()
		if err != nil {
			return "", 0, nil, err
		}
		// A plain tree with nothing mounted in it: RemoveAll is safe.
		remove := func() error { return os.RemoveAll(dir) }
		if err := layerspec.Apply(ctx, dir, Image(1)[0], layerspec.FlatFormat{}, nil); err != nil {
			return "", 0, nil, errors.Join(err, remove())
		}
		return dir, 1, remove, nil
	}
	depth, err := ParseDepth(c)
	if err != nil {
		return "", 0, nil, err
	}
	s, err := NewStack(ctx, env, depth)
	if err != nil {
		return "", 0, nil, err
	}
	dir, err = s.Driver.Mount(ctx, s.Container)
	if err != nil {
		return "", 0, nil, errors.Join(err, s.Close())
	}
	return dir, depth, s.Close, nil
}

// warmBatch is how long one warm sample runs its operation for, at least.
// A warm stat takes 1-5 µs, within reach of scheduler and timer noise, so
// one such syscall per sample made medians of three runs differ by up to
// 80%; a warm sample is instead the mean of a batch of repetitions, whose
// size is fixed per operation before sampling (see batchSize).
const warmBatch = 500 * time.Microsecond

// maxBatch bounds a batch where an operation is faster than expected.
const maxBatch = 1 << 14

// batchSize warms the cache for o and returns how many repetitions make a
// batch of at least warmBatch: doubling from one until a batch is long
// enough, so the calibration itself also warms every cache o touches.
func batchSize(t *tree, o op) (int, error) {
	for reps := 1; ; reps *= 2 {
		var total time.Duration
		for range reps {
			took, err := o.run(t)
			if err != nil {
				return 0, err
			}
			total += took
		}
		if total >= warmBatch || reps >= maxBatch {
			return reps, nil
		}
	}
}
