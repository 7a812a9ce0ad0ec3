// Package copyup is the copy-up scenario: what the first write to a file
// of the image costs in a container, by file size, against a plain copy of
// the same bytes.
//
// The image (see Image) has two files of the case's size in its bottom
// layer and a layer of unrelated small files above. Every sample gets a
// fresh container (created and mounted untimed), so every first write is a
// real copy-up, and times three operations on its merged view:
//
//   - first-write: open(O_WRONLY), write of one byte, close, on Target. In
//     a union this copies the whole file up into the container's layer
//     before the write, inside open(2). The kernel's overlayfs copies it
//     into the work directory, fsyncs it (unless mounted volatile) and
//     renames it into place. fuse-overlayfs 1.10 does the same in its
//     daemon (FICLONE, else sendfile, then rename) without an fsync, as
//     strace shows, so its copy-up can beat the floor's copy+fsync.
//   - second-write: the same again: the file is the container's own now, so
//     this is a plain small write, the cost every later write pays.
//   - chmod: chmod of ChmodTarget, the same size and untouched so far: a
//     metadata-only change. Without metacopy, overlayfs copies the data up
//     for it too; with metacopy=on it should copy only the inode, which is
//     what the overlay2+metacopy=on variant shows (measured, not assumed).
//
// On a loop-device backing fs (ext4, xfs, btrfs) first-write-device-bytes
// is what reached the device because of the first write (write
// amplification: data, journal and metadata), counted around syncfs calls
// outside the timing; it is also in the first-write measurement's Extra as
// "device-bytes". tmpfs and dir backings have no device of ours to count.
//
// cache=cold drops the page, dentry and inode caches after mounting (the
// lower file is read from the device during the copy-up); cache=warm reads
// both targets fully through the merged view first. Either way the backing
// fs is synced before the timed write, so no writeback of the setup
// competes with it. On tmpfs there is nothing to drop: cold equals warm.
// Dropping caches is host-wide; do not compare cold figures from a host
// with other workloads running. A sample during which another process
// dropped the caches (another package's tests, say) is taken again on a
// fresh container (see Undisturbed), since it measured a cache state it
// did not ask for.
//
// vfs has no copy-up (its container is a full copy made at creation), so
// its first write is the no-union baseline. The floor (driver "floor") is
// a plain copy of the same bytes on the same backing fs: open the source,
// create a new file, copy_file_range(2) to the end (which clones on a
// reflink filesystem, as overlayfs's copy-up tries first), fsync, close,
// timed as copy-fsync, with the same cold/warm preparation; then a
// one-byte write to that copy (write) and a chmod of a plain file of the
// same size (chmod). Each driver timing's floor is the floor operation
// doing the same work without the union (see floors): copy-fsync for an
// operation that copies the file up, write or chmod for one that copies
// nothing (second-write; vfs's first-write and chmod; chmod under
// metacopy=on), so its floor-relative figure divides like by like.
package copyup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/layerspec"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/units"
	"github.com/unionbench/unionbench/scenarios"
)

// Scenario is the copy-up scenario.
type Scenario struct{}

// New returns the copy-up scenario.
func New() Scenario { return Scenario{} }

func init() { scenarios.Register(New()) }

// Name is "copyup".
func (Scenario) Name() string { return "copyup" }

// The size sweeps. The quick one stops at 64 MiB (the bound) so
// that it stays within its share of the quick run's time: with both cache
// states at every size, the quick cases of overlay2, overlay, vfs and
// fuse-overlayfs and the floors took 22 s at 5 samples (2 CPUs, ext4 on
// loop), most of it vfs building a full copy of the image per container.
var (
	quickSizes = []int64{0, 4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20}
	fullSizes  = []int64{0, 4 << 10, 64 << 10, 1 << 20, 16 << 20, 256 << 20, 1 << 30}
	caches     = []string{"cold", "warm"}
)

// Cases sweeps size x cache, with a floor case for every pair.
func (Scenario) Cases(s scenarios.Suite) []scenarios.Case {
	sizes := quickSizes
	if s == scenarios.Full {
		sizes = fullSizes
	}
	var out []scenarios.Case
	for _, floor := range []bool{true, false} {
		for _, size := range sizes {
			for _, c := range caches {
				out = append(out, scenarios.Case{Params: params(size, c), Floor: floor})
			}
		}
	}
	return out
}

func params(size int64, cache string) []results.Param {
	return []results.Param{results.P("size", units.FormatSize(size)), results.P("cache", cache)}
}

// spaceFactor is how many copies of the largest size a case can hold at
// once, on vfs, the hungriest driver: the image's two targets in both of
// its layers (each vfs layer is a full copy), and again in the container's
// init and writable layers. overlay2 needs 4 (the image's two and their
// copies up); the floor 2.
const spaceFactor = 8

// spaceMargin covers metadata, the journal and the small files.
const spaceMargin = 64 << 20

// SpaceNeeded is what the largest size of cases needs on the backing fs.
func (Scenario) SpaceNeeded(_ scenarios.Suite, cases []scenarios.Case) int64 {
	largest := int64(0)
	for _, c := range cases {
		if size, err := units.ParseSize(c.Get("size")); err == nil {
			largest = max(largest, size)
		}
	}
	return spaceFactor*largest + spaceMargin
}

func parseCase(c scenarios.Case) (size int64, cold bool, err error) {
	if err := c.CheckParams("copyup", "size", "cache"); err != nil {
		return 0, false, err
	}
	if size, err = units.ParseSize(c.Get("size")); err != nil {
		return 0, false, fmt.Errorf("copyup: size: %w", err)
	}
	switch v := c.Get("cache"); v {
	case "cold", "warm":
		return size, v == "cold", nil
	default:
		return 0, false, fmt.Errorf("copyup: cache %q: want cold or warm", v)
	}
}

// Measure takes n samples of one case (see Prepare).
func (sc Scenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) ([]scenarios.Measurement, error) {
	return scenarios.MeasureBySampling(ctx, sc, env, c, n)
}

// Prepare makes what a case samples: on the floor, a plain tree holding
// Target's bytes, each Sample one plain copy of them; on a driver, one
// image built for the case, each Sample a fresh container on it.
func (Scenario) Prepare(ctx context.Context, env *scenarios.Env, c scenarios.Case) (scenarios.Sampler, error) {
	size, cold, err := parseCase(c)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Floor {
		return prepareFloor(ctx, env, size, cold)
	}
	return prepareDriver(ctx, env, c, size, cold)
}

// sampler takes one sample per call with take, into a series.
type sampler struct {
	s      *series
	take   func(ctx context.Context) (sample, error)
	params []results.Param // a driver case's, to name its floors; nil on the floor
	v      drivers.Variant // a driver case's
	close  func() error
}

func (s *sampler) Sample(ctx context.Context) error {
	x, err := s.take(ctx)
	if err != nil {
		return err
	}
	s.s.add(x)
	return nil
}

func (s *sampler) Measurements() []scenarios.Measurement {
	ms := s.s.measurements()
	for i := range ms {
		if f := floorOf(s.v, ms[i].Metric); f != "" && s.params != nil {
			ms[i].Floor = results.CaseKey(f, s.params...) // the floor case has the same size and cache
		}
	}
	return ms
}

func (s *sampler) Close() error { return s.close() }

// floors names each metric's floor, the same work without the union: for
// a write or chmod that copies the file up, the same bytes copied and
// fsynced on the backing fs (copy-fsync); for one that copies nothing (the
// second write, every vfs operation, chmod under metacopy=on) the same
// write or chmod of a plain file (write, chmod). Each ratio then divides
// like by like, so drift of the machine between two runs moves both
// sides of it: a microsecond write over a millisecond copy is not a
// figure any drift cancels.
var floors = map[string]string{
	"first-write": "copy-fsync", "chmod": "copy-fsync", "second-write": "write",
	"first-write-device-bytes": "copy-fsync-device-bytes",
}

// noCopyFloors are the floors of a variant whose operation copies no data.
var noCopyFloors = map[string]string{"first-write": "write", "chmod": "chmod"}

// floorOf is the floor metric of the variant's metric, "" for none.
func floorOf(v drivers.Variant, metric string) string {
	metacopy := slices.Contains(v.Options, "metacopy=on")
	if f := noCopyFloors[metric]; f != "" && (v.Driver == "vfs" || metacopy && metric == "chmod") {
		return f
	}
	return floors[metric]
}

// sample is what one sample measured.
type sample struct {
	times       []time.Duration // one per metric of the series
	deviceBytes int64           // -1: no device to count
}

// series collects samples into measurements: the timed metrics in order,
// then the device bytes of the first, when the backing fs has a device.
type series struct {
	metrics []string
	times   [][]float64
	device  []float64
	counted bool
	block   float64 // the backing fs's block size, the unit device bytes come in
}

func newSeries(fs *backing.FS, metrics ...string) *series {
	return &series{metrics: metrics, times: make([][]float64, len(metrics)), counted: true, block: blockSize(fs)}
}

func (s *series) add(x sample) {
	for i, t := range x.times {
		s.times[i] = append(s.times[i], float64(t.Nanoseconds()))
	}
	if x.deviceBytes < 0 {
		s.counted = false
	}
	s.device = append(s.device, float64(x.deviceBytes))
}

func (s *series) measurements() []scenarios.Measurement {
	var ms []scenarios.Measurement
	for i, m := range s.metrics {
		t := scenarios.Timing(m, 0)
		t.Samples = s.times[i]
		ms = append(ms, t)
	}
	if s.counted && len(s.device) > 0 {
		ms[0].Extra = map[string]any{"device-bytes": slices.Clone(s.device)}
		// Not an exact count: the bytes a write sends to the device
		// include journal commits and metadata blocks whose number moves
		// by a block or a few between identical samples (52 and 60 KiB
		// for the floor's 4 KiB copy in two back-to-back runs), so
		// compare tests them as it tests timings.
		dev := scenarios.Count(s.metrics[0]+"-device-bytes", "bytes", s.device...)
		dev.Exact = false
		// Those blocks come in whole blocks, and how many the journal
		// and the metadata take moves with the state of the filesystem:
		// a 4 KiB copy-up takes 116 or 124 KiB on ext4, in proportions
		// that move between runs, and a 0 B one on overlay took 100-108,
		// 116-128 and 100-112 KiB in three passes of one run, the pass
		// medians 100 to 120 KiB apart (as the containers' directories
		// land in one block group or another). Medians up to
		// journalSlack blocks apart are the journal's, not the
		// copy-up's, and compare does not call such a change.
		dev.Extra = map[string]any{results.ResolutionExtra: journalSlack * s.block}
		ms = append(ms, dev)
	}
	return ms
}

func prepareDriver(ctx context.Context, env *scenarios.Env, c scenarios.Case, size int64, cold bool) (_ scenarios.Sampler, err error) {
	// Both cache states of a size, in every pass, sample containers on
	// one image (Env.Image).
	d, top, cleanup, err := env.Image(ctx, "copyup/size="+units.FormatSize(size), func(ctx context.Context, d drivers.Driver) (string, error) {
		if env.Progress != nil {
			env.Progress("building an image with two files of %s", units.FormatSize(size))
		}
		return Build(ctx, d, Image(size))
	})
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 1<<20)
	containers := 0
	take := func(ctx context.Context) (x sample, err error) {
		err = Undisturbed(func(settled func() error) (err error) {
			containers++
			x, err = copyUpSample(ctx, env.FS, d, top, fmt.Sprintf("c%04d", containers), size, cold, buf, settled)
			return err
		})
		return x, err
	}
	return &sampler{s: newSeries(env.FS, "first-write", "second-write", "chmod"), take: take, params: c.Params, v: env.Variant, close: cleanup}, nil
}

// copyUpSample makes a fresh container on top, mounts it, prepares the
// cache, and times the three operations, removing the container after.
func copyUpSample(ctx context.Context, fs *backing.FS, d drivers.Driver, top, id string, size int64, cold bool, buf []byte, settled func() error) (x sample, err error) {
	if err := drivers.NewContainer(ctx, d, id, top); err != nil {
		return x, err
	}
	defer func() { err = errors.Join(err, drivers.RemoveContainer(d, id)) }()
	dir, err := d.Mount(ctx, id)
	if err != nil {
		return x, err
	}
	// Names are resolved from the merged root so a cold sample pays for
	// the lookups inside the union, not for re-walking the path to it.
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return x, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(root)
	if err := prepare(fs, root, cold, buf, Target, ChmodTarget); err != nil {
		return x, err
	}
	if err := settled(); err != nil {
		return x, err
	}
	count := deviceCounter(fs)
	first, err := writeByte(root, Target)
	if err != nil {
		return x, err
	}
	if x.deviceBytes, err = count(); err != nil {
		return x, err
	}
	second, err := writeByte(root, Target)
	if err != nil {
		return x, err
	}
	mode, err := chmod(root, ChmodTarget)
	if err != nil {
		return x, err
	}
	// The writes must have landed on the merged file.
	var st unix.Stat_t
	if err := unix.Fstatat(root, Target, &st, 0); err != nil {
		return x, &os.PathError{Op: "stat", Path: Target, Err: err}
	}
	if st.Size != max(size, 1) {
		return x, fmt.Errorf("%s: %s is %d bytes after the writes, want %d", d.Name(), Target, st.Size, max(size, 1))
	}
	x.times = []time.Duration{first, second, mode}
	return x, nil
}

// prepare makes the named files cold (caches dropped) or warm (read to the
// end through root), then settles the backing fs (scenarios.Settle) so no
// writeback of the setup runs during the timed operation.
func prepare(fs *backing.FS, root int, cold bool, buf []byte, names ...string) error {
	if cold {
		if err := scenarios.DropCaches(); err != nil {
			return fmt.Errorf("drop caches: %w", err)
		}
	} else {
		for _, name := range names {
			if _, err := ReadAll(root, name, buf); err != nil {
				return err
			}
		}
	}
	return scenarios.Settle(fs)
}

// deviceCounter notes the backing device's write counter and returns a
// function that syncs the backing fs and returns the bytes written to the
// device since, or -1 when the backing fs has no device of its own.
func deviceCounter(fs *backing.FS) func() (int64, error) {
	before, ok := backing.DeviceWrites(fs)
	return func() (int64, error) {
		if !ok {
			return -1, nil
		}
		if err := scenarios.Syncfs(fs); err != nil {
			return 0, err
		}
		after, ok := backing.DeviceWrites(fs)
		if !ok {
			return 0, fmt.Errorf("the write counter of %s went away", fs.Device)
		}
		return after - before, nil
	}
}

// writeByte is the timed write: open for writing, one byte at offset 0,
// close.
func writeByte(root int, name string) (time.Duration, error) {
	start := time.Now()
	fd, err := unix.Openat(root, name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open for writing", Path: name, Err: err}
	}
	_, werr := unix.Write(fd, []byte{'u'})
	cerr := unix.Close(fd)
	took := time.Since(start)
	if werr != nil {
		return 0, &os.PathError{Op: "write", Path: name, Err: werr}
	}
	if cerr != nil {
		return 0, &os.PathError{Op: "close", Path: name, Err: cerr}
	}
	return took, nil
}

func chmod(root int, name string) (time.Duration, error) {
	start := time.Now()
	err := unix.Fchmodat(root, name, 0o600, 0)
	took := time.Since(start)
	if err != nil {
		return 0, &os.PathError{Op: "chmod", Path: name, Err: err}
	}
	return took, nil
}

// prepareFloor makes the floor's plain tree: each sample times one plain
// copy of Target's bytes into a new file on the backing fs.
func prepareFloor(ctx context.Context, env *scenarios.Env, size int64, cold bool) (_ scenarios.Sampler, err error) {
	dir, err := env.TempDir()
	if err != nil {
		return nil, err
	}
	// A plain tree with nothing mounted in it: RemoveAll is safe.
	remove := func() error { return os.RemoveAll(dir) }
	// Target's and ChmodTarget's bytes, as the image's bottom layer has them.
	if err := layerspec.Apply(ctx, dir, ImageOf(size, Target, ChmodTarget)[0], layerspec.FlatFormat{}, nil); err != nil {
		return nil, errors.Join(err, remove())
	}
	root, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, errors.Join(&os.PathError{Op: "open", Path: dir, Err: err}, remove())
	}
	buf := make([]byte, 1<<20)
	take := func(context.Context) (x sample, err error) {
		err = Undisturbed(func(settled func() error) (err error) {
			x, err = floorSample(env.FS, root, cold, buf, settled)
			return err
		})
		return x, err
	}
	closeAll := func() error { return errors.Join(unix.Close(root), remove()) }
	return &sampler{s: newSeries(env.FS, "copy-fsync", "write", "chmod"), take: take, close: closeAll}, nil
}

// floorSample prepares the cache and times one copy of Target into a new
// file (copy-fsync), then one-byte write to that copy (write, as
// second-write writes to the copied-up file) and a chmod of ChmodTarget,
// a plain file of the same size (chmod), removing the copy after, so
// every sample copies to fresh blocks as every copy-up does.
func floorSample(fs *backing.FS, root int, cold bool, buf []byte, settled func() error) (x sample, err error) {
	const dst = "copy"
	if err := prepare(fs, root, cold, buf, Target, ChmodTarget); err != nil {
		return x, err
	}
	if err := settled(); err != nil {
		return x, err
	}
	count := deviceCounter(fs)
	took, err := copyFsync(root, Target, dst, buf)
	if err != nil {
		return x, err
	}
	if x.deviceBytes, err = count(); err != nil {
		return x, err
	}
	write, err := writeByte(root, dst)
	if err != nil {
		return x, err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(root, ChmodTarget, &st, 0); err != nil {
		return x, &os.PathError{Op: "stat", Path: ChmodTarget, Err: err}
	}
	mode, err := chmod(root, ChmodTarget)
	if err != nil {
		return x, err
	}
	// Back to the image's mode, so the next sample's chmod changes it
	// too, as each container's first chmod does.
	if err := unix.Fchmodat(root, ChmodTarget, st.Mode&0o7777, 0); err != nil {
		return x, &os.PathError{Op: "chmod", Path: ChmodTarget, Err: err}
	}
	if err := unix.Unlinkat(root, dst, 0); err != nil {
		return x, &os.PathError{Op: "unlink", Path: dst, Err: err}
	}
	x.times = []time.Duration{took, write, mode}
	return x, nil
}

// journalSlack is how many blocks of a copy-up's device bytes are the
// journal's and the metadata's to move (see series.measurements).
const journalSlack = 6

// blockSize is the backing fs's block size (statfs f_bsize; 4 KiB if it
// cannot say).
func blockSize(fs *backing.FS) float64 {
	if st, err := fs.Statfs(); err == nil && st.Bsize > 0 {
		return float64(st.Bsize)
	}
	return 4096
}
