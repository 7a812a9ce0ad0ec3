// Package pagecache is the page-cache sharing scenario: how much page
// cache N containers hold after each reads the same file of their image.
//
// A union shares its lower layers, so N containers reading a file of the
// image should cost the page cache one copy of it, where vfs, whose every
// container is a full copy, should cost N. Each case builds one image
// (copyup.ImageOf: File in the bottom layer, unrelated files above) and
// N containers on it, all mounted; each sample then drops the caches
// (untimed), reads the file to the end through every container's merged
// view in turn, and counts what the page cache holds:
//
//   - resident-bytes: the cached pages of every real file that holds the
//     data, by cachestat(2) (mincore(2) before Linux 6.5), which counts
//     without reading: every distinct inode under the driver's root on the
//     backing fs with the file's name and size (the bottom layer's file on
//     overlay2 and overlay, every layer's own copy on vfs), plus, where the
//     merged view is FUSE, each container's FUSE file, which has a page
//     cache of its own besides the real file the daemon reads (see
//     ownsPageCache). The precise figure.
//   - cache-copies: resident-bytes over the file size, the sharing
//     factor: 1.0 = one copy shared by every container, N = one copy per
//     container.
//   - cache-bytes and cache-bytes-per-container: how much Cached: in
//     /proc/meminfo grew across the reads (and that over N). Host-wide and
//     so noisier, and on a loop-device backing fs it also counts the loop
//     image's own pages in the host's page cache (the loop device does
//     buffered I/O, and the host reads ahead on the image), so there it
//     is a little over twice resident-bytes; its Extra
//     "loop-image-cache-bytes" says how much of it was the image's.
//   - read: the mean time one container took to read the file (open, reads
//     of 1 MiB, close). The first read of a sample comes from the device;
//     on a union the rest find the shared pages, on vfs they do not.
//
// The floor reads one plain file on the backing fs N times: one copy.
// Measured here (Linux 6.18, ext4 on loop): overlay2 and overlay hold one
// copy whatever N, vfs N, and fuse-overlayfs N+1 (each container's FUSE
// file plus the lower file the daemon read).
//
// Not on tmpfs: a tmpfs file is page cache itself and cannot be dropped,
// so every copy is always resident whether read or not; Measure returns
// drivers.ErrNotSupported there. A dir backing fs (the host's own) works,
// with more noise in cache-bytes. Dropping caches is host-wide: the
// figures assume unionbench is the host's only workload, and a sample
// during which another process dropped the caches is taken again
// (copyup.Undisturbed).
package pagecache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/layerspec"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/units"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/copyup"
)

// Scenario is the pagecache scenario.
type Scenario struct{}

// New returns the pagecache scenario.
func New() Scenario { return Scenario{} }

func init() { scenarios.Register(New()) }

// Name is "pagecache".
func (Scenario) Name() string { return "pagecache" }

// File is the file every container reads, in the image's bottom layer.
const File = "data/shared"

var (
	quickCounts = []int{1, 2, 4, 8}
	fullCounts  = []int{1, 2, 4, 8, 16}
	quickSizes  = []int64{32 << 20}
	fullSizes   = []int64{32 << 20, 256 << 20}
)

// Cases sweeps containers x size, with a floor case for every pair.
func (Scenario) Cases(s scenarios.Suite) []scenarios.Case {
	counts, sizes := quickCounts, quickSizes
	if s == scenarios.Full {
		counts, sizes = fullCounts, fullSizes
	}
	var out []scenarios.Case
	for _, floor := range []bool{true, false} {
		for _, n := range counts {
			for _, size := range sizes {
				out = append(out, scenarios.Case{Floor: floor, Params: []results.Param{
					results.P("containers", strconv.Itoa(n)), results.P("size", units.FormatSize(size)),
				}})
			}
		}
	}
	return out
}

// spaceMargin covers metadata, the journal and the small files.
const spaceMargin = 64 << 20

// SpaceNeeded is what the largest case needs on vfs, the hungriest
// driver: every image layer (two) and every container's init and writable
// layer hold a full copy of the image, whose other files are small.
func (Scenario) SpaceNeeded(_ scenarios.Suite, cases []scenarios.Case) int64 {
	need := int64(0)
	for _, c := range cases {
		count, size, err := parseCase(c)
		if err == nil {
			need = max(need, int64(2+2*count)*size)
		}
	}
	return need + spaceMargin
}

func parseCase(c scenarios.Case) (count int, size int64, err error) {
	if err := c.CheckParams("pagecache", "containers", "size"); err != nil {
		return 0, 0, err
	}
	v := c.Get("containers")
	count, err = strconv.Atoi(v)
	if err != nil || count < 1 || count > 1000 {
		return 0, 0, fmt.Errorf("pagecache: containers %q: want a whole number from 1 to 1000", v)
	}
	if size, err = units.ParseSize(c.Get("size")); err != nil {
		return 0, 0, fmt.Errorf("pagecache: size: %w", err)
	}
	if size == 0 {
		return 0, 0, errors.New("pagecache: size 0B: want a file of at least one page, e.g. 32MiB")
	}
	return count, size, nil
}

// Measure takes n samples of one case (see Prepare).
func (sc Scenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) ([]scenarios.Measurement, error) {
	if n < 1 {
		return nil, fmt.Errorf("pagecache: %d samples: want at least 1", n)
	}
	return scenarios.MeasureBySampling(ctx, sc, env, c, n)
}

// Prepare builds the case's image and mounted containers (or the floor's
// plain file); each Sample drops the caches, reads through every reader
// and counts. The runner takes the floor's and every variant's samples in
// rounds, so drift of the machine, and whatever else the host caches,
// moves them alike.
func (Scenario) Prepare(ctx context.Context, env *scenarios.Env, c scenarios.Case) (scenarios.Sampler, error) {
	count, size, err := parseCase(c)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkDroppable(env.FS.Dir); err != nil {
		return nil, err
	}
	var s *setup
	if c.Floor {
		s, err = floorSetup(ctx, env, count, size)
	} else {
		s, err = driverSetup(ctx, env, count, size)
	}
	if err != nil {
		return nil, err
	}
	smp := newSampler(s, env.FS)
	if !c.Floor { // the floor reads one plain file as often, with the same parameters
		for _, m := range smp.ms() {
			m.Floor = results.CaseKey(m.Metric, c.Params...)
		}
	}
	return smp, nil
}

// setup is what a case reads and counts: one directory descriptor per
// reader (a container's merged root, or the floor's directory N times),
// and open descriptors of every file whose page cache counts. They are
// opened before any sample: opening a FUSE file drops its cache unless
// the daemon asks to keep it (fuse-overlayfs does).
type setup struct {
	size    int64
	readers []int // O_PATH descriptors File is read beneath
	owners  []int // O_RDONLY descriptors of the files that hold its pages
	done    func() error
}

func (s *setup) close() error {
	for _, fd := range append(s.readers, s.owners...) {
		unix.Close(fd)
	}
	if s.done != nil {
		return s.done()
	}
	return nil
}

func openDir(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return fd, nil
}

func (s *setup) addOwner(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	s.owners = append(s.owners, fd)
	return nil
}

// floorSetup writes the file into a plain directory, read count times.
func floorSetup(ctx context.Context, env *scenarios.Env, count int, size int64) (_ *setup, err error) {
	dir, err := env.TempDir()
	if err != nil {
		return nil, err
	}
	// A plain tree with nothing mounted in it: RemoveAll is safe.
	s := &setup{size: size, done: func() error { return os.RemoveAll(dir) }}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close())
		}
	}()
	if err := layerspec.Apply(ctx, dir, copyup.ImageOf(size, File)[0], layerspec.FlatFormat{}, nil); err != nil {
		return nil, err
	}
	for range count {
		fd, err := openDir(dir)
		if err != nil {
			return nil, err
		}
		s.readers = append(s.readers, fd)
	}
	return s, s.addOwner(dir + "/" + File)
}

// driverSetup builds the image and count mounted containers on it.
func driverSetup(ctx context.Context, env *scenarios.Env, count int, size int64) (_ *setup, err error) {
	// Every container count of a size reads one image a pass: what a
	// cold read leaves in the page cache depends on where its blocks
	// landed, which each pass must draw anew (Env.PassImage).
	d, top, release, err := env.PassImage(ctx, "pagecache/size="+units.FormatSize(size), func(ctx context.Context, d drivers.Driver) (string, error) {
		if env.Progress != nil {
			env.Progress("building an image with a file of %s", units.FormatSize(size))
		}
		return copyup.Build(ctx, d, copyup.ImageOf(size, File))
	})
	if err != nil {
		return nil, err
	}
	var made []string // containers, removed before the image is given back
	s := &setup{size: size, done: func() error {
		var errs []error
		for _, id := range made {
			errs = append(errs, drivers.RemoveContainer(d, id))
		}
		return errors.Join(errors.Join(errs...), release())
	}}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close())
		}
	}()
	var views []string
	for i := range count {
		id := fmt.Sprintf("c%04d", i)
		if err := drivers.NewContainer(ctx, d, id, top); err != nil {
			return nil, err
		}
		made = append(made, id)
		dir, err := d.Mount(ctx, id)
		if err != nil {
			return nil, err
		}
		fd, err := openDir(dir)
		if err != nil {
			return nil, err
		}
		s.readers = append(s.readers, fd)
		own, err := ownsPageCache(dir)
		if err != nil {
			return nil, err
		}
		if own {
			views = append(views, dir+"/"+File)
		}
	}
	copies, err := copiesOf(d.Root(), File, size)
	if err != nil {
		return nil, err
	}
	if len(copies) == 0 {
		return nil, fmt.Errorf("%s: no file %s of %d bytes under %s", d.Name(), File, size, d.Root())
	}
	for _, p := range append(copies, views...) {
		if err := s.addOwner(p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// sampler takes one sample per Sample: drop caches, note Cached, read
// through every reader, note Cached again, count the owners' resident
// pages.
type sampler struct {
	s                                           *setup
	fs                                          *backing.FS
	buf                                         []byte
	read, cache, perContainer, resident, copies scenarios.Measurement
	imageCache                                  []float64
}

func newSampler(s *setup, fs *backing.FS) *sampler {
	// The backing files' resident pages (cachestat) are exact counts of
	// what is cached. Cached: in /proc/meminfo is host-wide: whatever else
	// the host caches or drops in between moves it, so it is sampled as a
	// noisy figure, not an exact one.
	smp := &sampler{s: s, fs: fs, buf: make([]byte, 1<<20),
		read:         scenarios.Timing("read", 0),
		cache:        scenarios.Count("cache-bytes", "bytes"),
		perContainer: scenarios.Count("cache-bytes-per-container", "bytes"),
		resident:     scenarios.Count("resident-bytes", "bytes"),
		copies:       scenarios.Count("cache-copies", "ratio"),
	}
	smp.cache.Exact, smp.perContainer.Exact = false, false
	return smp
}

func (p *sampler) ms() []*scenarios.Measurement {
	return []*scenarios.Measurement{&p.read, &p.cache, &p.perContainer, &p.resident, &p.copies}
}

func (p *sampler) Sample(context.Context) error {
	var x result
	err := copyup.Undisturbed(func(settled func() error) (err error) {
		x, err = p.s.once(p.fs, p.buf, settled)
		return err
	})
	if err != nil {
		return err
	}
	count := float64(len(p.s.readers))
	p.read.Samples = append(p.read.Samples, float64(x.read.Nanoseconds())/count)
	p.cache.Samples = append(p.cache.Samples, float64(x.cached))
	p.perContainer.Samples = append(p.perContainer.Samples, float64(x.cached)/count)
	p.resident.Samples = append(p.resident.Samples, float64(x.resident))
	p.copies.Samples = append(p.copies.Samples, float64(x.resident)/float64(p.s.size))
	p.imageCache = append(p.imageCache, float64(x.imageCached))
	return nil
}

func (p *sampler) Measurements() []scenarios.Measurement {
	if p.fs.Image != "" && len(p.imageCache) > 0 {
		p.cache.Extra = map[string]any{"loop-image-cache-bytes": slices.Clone(p.imageCache)}
	}
	var out []scenarios.Measurement
	for _, m := range p.ms() {
		out = append(out, *m)
	}
	return out
}

func (p *sampler) Close() error { return p.s.close() }

// result is one sample's figures.
type result struct {
	read        time.Duration // all readers together
	cached      int64         // growth of meminfo's Cached
	imageCached int64         // growth of the loop image's cached pages
	resident    int64         // the owners' resident pages, in bytes
}

func (s *setup) once(fs *backing.FS, buf []byte, settled func() error) (x result, err error) {
	if err := scenarios.DropCaches(); err != nil {
		return x, fmt.Errorf("drop caches: %w", err)
	}
	if err := settled(); err != nil {
		return x, err
	}
	imageBefore, err := loopImageCache(fs)
	if err != nil {
		return x, err
	}
	before, err := meminfoCached()
	if err != nil {
		return x, err
	}
	for _, r := range s.readers {
		start := time.Now()
		got, err := copyup.ReadAll(r, File, buf)
		x.read += time.Since(start)
		if err != nil {
			return x, err
		}
		if got != s.size {
			return x, fmt.Errorf("read %d bytes of %s, want %d", got, File, s.size)
		}
	}
	after, err := meminfoCached()
	if err != nil {
		return x, err
	}
	imageAfter, err := loopImageCache(fs)
	if err != nil {
		return x, err
	}
	for _, fd := range s.owners {
		b, err := residentBytes(fd)
		if err != nil {
			return x, err
		}
		x.resident += b
	}
	x.cached, x.imageCached = after-before, imageAfter-imageBefore
	return x, nil
}

// checkDroppable refuses a backing fs whose files live in memory (tmpfs,
// or a dir backing on a tmpfs or ramfs): their pages are the files
// themselves, so every copy stays resident whether read or not.
func checkDroppable(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	if st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC {
		return fmt.Errorf("pagecache on a tmpfs backing fs: its files are page cache that cannot be dropped, so every copy stays resident, read or not: %w", drivers.ErrNotSupported)
	}
	return nil
}

// loopImageCache is how much of the backing fs's loop image the host's
// page cache holds (0 without an image).
func loopImageCache(fs *backing.FS) (int64, error) {
	if fs.Image == "" {
		return 0, nil
	}
	fd, err := unix.Open(fs.Image, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: fs.Image, Err: err}
	}
	defer unix.Close(fd)
	return residentBytes(fd)
}
