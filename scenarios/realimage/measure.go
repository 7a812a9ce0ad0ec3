package realimage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/images"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// coldBy says in results how a cold sample was made cold.
const coldBy = "backing fs settled, then drop_caches=3 (page cache, dentries and inodes) before each sample"

func dropAll(s *setup) error {
	if err := scenarios.Settle(s.env.FS); err != nil {
		return err
	}
	return scenarios.DropCaches()
}

// run runs the image's program chrooted into dir, as a container's first
// process starts: every lookup and read of the binary and its libraries
// goes through the merged view.
func (s *setup) run(dir string) error {
	cmd := exec.Command(s.exec[0], s.exec[1:]...)
	cmd.Dir = "/"
	cmd.Env = s.image.Config.Config.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("run %q in the image (chroot %s): %w: %s", strings.Join(s.exec, " "), dir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// measureStart: start-cold mounts a fresh container and runs the program
// with every cache dropped; start-warm runs it again and again in one
// mounted container. mount times the mount alone.
func measureStart(ctx context.Context, s *setup, n int) ([]scenarios.Measurement, error) {
	cold, warm, mount := scenarios.Timing("start-cold", n), scenarios.Timing("start-warm", n), scenarios.Timing("mount", n)
	cold.Extra = map[string]any{"cold-by": coldBy, "exec": strings.Join(s.exec, " ")}
	warm.Extra = map[string]any{"exec": strings.Join(s.exec, " ")}
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := dropAll(s); err != nil {
			return nil, err
		}
		start := time.Now()
		dir, remove, err := s.container(ctx)
		if err != nil {
			return nil, err
		}
		mounted := time.Since(start)
		err = s.run(dir)
		took := time.Since(start)
		if err = errors.Join(err, remove()); err != nil {
			return nil, err
		}
		cold.Samples = append(cold.Samples, float64(took.Nanoseconds()))
		mount.Samples = append(mount.Samples, float64(mounted.Nanoseconds()))
	}
	dir, remove, err := s.container(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.run(dir); err != nil { // warms the caches
		return nil, err
	}
	for range n {
		start := time.Now()
		if err := s.run(dir); err != nil {
			return nil, err
		}
		warm.Samples = append(warm.Samples, float64(time.Since(start).Nanoseconds()))
	}
	if s.d != nil {
		return []scenarios.Measurement{cold, warm, mount}, remove()
	}
	return []scenarios.Measurement{cold, warm}, remove()
}

// walk reads every directory and lstats every entry under dir, as find
// and du do, and returns how many entries it saw.
func walk(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// measureWalk: walk-cold and walk-warm (readdir + lstat of the whole
// tree), stat-warm (lstat of every path from a list: lookups alone).
func measureWalk(ctx context.Context, s *setup, n int) ([]scenarios.Measurement, error) {
	return inContainer(ctx, s, n, walkSamples)
}

// inContainer takes a case's samples in one container (the flat tree for
// a floor), removing it whatever the samples did.
func inContainer(ctx context.Context, s *setup, n int,
	samples func(context.Context, *setup, string, int) ([]scenarios.Measurement, error)) ([]scenarios.Measurement, error) {
	dir, remove, err := s.container(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := samples(ctx, s, dir, n)
	return ms, errors.Join(err, remove())
}

func walkSamples(ctx context.Context, s *setup, dir string, n int) ([]scenarios.Measurement, error) {
	var paths []string
	if err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	}); err != nil {
		return nil, err
	}
	cold, warm, stat := scenarios.Timing("walk-cold", n), scenarios.Timing("walk-warm", n), scenarios.Timing("stat-warm", n)
	entries := map[string]any{"entries": len(paths)}
	cold.Extra = map[string]any{"entries": len(paths), "cold-by": coldBy}
	warm.Extra, stat.Extra = entries, entries
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := dropAll(s); err != nil {
			return nil, err
		}
		start := time.Now()
		seen, err := walk(dir)
		if err != nil {
			return nil, err
		}
		cold.Samples = append(cold.Samples, float64(time.Since(start).Nanoseconds()))
		if seen != len(paths) {
			return nil, fmt.Errorf("walk of %s saw %d entries, then %d", dir, len(paths), seen)
		}
	}
	for range n {
		start := time.Now()
		if _, err := walk(dir); err != nil {
			return nil, err
		}
		warm.Samples = append(warm.Samples, float64(time.Since(start).Nanoseconds()))
	}
	for range n {
		start := time.Now()
		for _, p := range paths {
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				return nil, err
			}
		}
		stat.Samples = append(stat.Samples, float64(time.Since(start).Nanoseconds()))
	}
	return []scenarios.Measurement{cold, warm, stat}, nil
}

// measureInodes counts, once (counts are exact), what the image costs:
// the driver's whole root holding the image alone and then with one
// container, as `du` of /var/lib/docker/<driver> shows operators, and each
// layer's own usage (drivers.Driver.Usage) in Extra. The root is counted
// with its inodes deduplicated, so legacy overlay's hard links into the
// parent layer count once.
func measureInodes(ctx context.Context, s *setup, _ int) ([]scenarios.Measurement, error) {
	if s.d == nil {
		u, err := drivers.DirUsage(s.floor)
		if err != nil {
			return nil, err
		}
		return usageMeasurements(u, u, nil), nil
	}
	var per []map[string]int64
	for i := range s.image.Layers {
		u, err := s.d.Usage(images.LayerID("img", i))
		if err != nil {
			return nil, err
		}
		per = append(per, map[string]int64{"inodes": u.Inodes, "bytes": u.Bytes})
	}
	image, err := drivers.DirUsage(s.d.Root())
	if err != nil {
		return nil, err
	}
	// The container is created, not mounted: du of the root must not
	// walk into a merged view.
	if err := drivers.NewContainer(ctx, s.d, "du", s.top); err != nil {
		return nil, err
	}
	root, err := drivers.DirUsage(s.d.Root())
	if err = errors.Join(err, drivers.RemoveContainer(s.d, "du")); err != nil {
		return nil, err
	}
	return usageMeasurements(image, root, per), nil
}

func usageMeasurements(image, root drivers.Usage, per []map[string]int64) []scenarios.Measurement {
	ms := []scenarios.Measurement{
		scenarios.Count("image-inodes", "inodes", float64(image.Inodes)),
		scenarios.Count("image-bytes", "bytes", float64(image.Bytes)),
		scenarios.Count("root-inodes", "inodes", float64(root.Inodes)),
		scenarios.Count("root-bytes", "bytes", float64(root.Bytes)),
	}
	if per != nil {
		ms[0].Extra = map[string]any{"per-layer": per}
		ms[1].Extra = map[string]any{"per-layer": per}
	}
	return ms
}

// targets picks the image's largest regular file and its typical shared
// library (the median-size .so file), by walking the tree once.
func targets(dir string) (largest, library string, err error) {
	type f struct {
		rel  string
		size int64
	}
	var big f
	var libs []f
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.Size() > big.size {
			big = f{rel, info.Size()}
		}
		if strings.Contains(d.Name(), ".so") {
			libs = append(libs, f{rel, info.Size()})
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	if big.rel == "" {
		return "", "", fmt.Errorf("the image has no regular file with content")
	}
	if len(libs) == 0 {
		return big.rel, "", nil
	}
	sort.Slice(libs, func(i, j int) bool {
		return libs[i].size < libs[j].size || libs[i].size == libs[j].size && libs[i].rel < libs[j].rel
	})
	return big.rel, libs[len(libs)/2].rel, nil
}

// measureCopyup times the first write into the image's own files: the
// copy-up a container pays once per file (warm cache: the file was read).
// Every sample is a fresh container.
func measureCopyup(ctx context.Context, s *setup, n int) ([]scenarios.Measurement, error) {
	dir, remove, err := s.container(ctx)
	if err != nil {
		return nil, err
	}
	largest, library, err := targets(dir)
	if err = errors.Join(err, remove()); err != nil {
		return nil, err
	}
	files := map[string]string{"copyup-largest": largest, "copyup-library": library}
	var ms []scenarios.Measurement
	for _, metric := range []string{"copyup-largest", "copyup-library"} {
		rel := files[metric]
		if rel == "" {
			continue
		}
		m := scenarios.Timing(metric, n)
		for range n {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			dir, remove, err := s.container(ctx)
			if err != nil {
				return nil, err
			}
			took, err := firstWrite(filepath.Join(dir, rel))
			if err = errors.Join(err, remove()); err != nil {
				return nil, err
			}
			m.Samples = append(m.Samples, float64(took.Nanoseconds()))
		}
		fi, err := os.Stat(filepath.Join(s.floorOr(dir), rel))
		m.Extra = map[string]any{"file": rel}
		if err == nil {
			m.Extra["file-bytes"] = fi.Size()
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func (s *setup) floorOr(dir string) string {
	if s.floor != "" {
		return s.floor
	}
	return dir
}

// firstWrite reads p (so the cache is warm), then times opening it for
// writing and overwriting its first byte with itself: a container's
// first write, which copies the whole file up.
func firstWrite(p string) (time.Duration, error) {
	b := make([]byte, 1)
	if _, err := os.ReadFile(p); err != nil {
		return 0, err
	}
	start := time.Now()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	if _, err := f.ReadAt(b, 0); err != nil {
		f.Close()
		return 0, err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// Volume workload sizes: a log or database's appends, a package install's
// files.
const (
	appends     = 256
	appendBytes = 4096
	smallFiles  = 500
	smallBytes  = 1024
)

// measureVolume runs two write-heavy workloads in the container's
// writable layer and in a directory of the backing fs bind-mounted into
// the container (a volume). The floor runs them in the plain tree.
func measureVolume(ctx context.Context, s *setup, n int) ([]scenarios.Measurement, error) {
	return inContainer(ctx, s, n, volumeSamples)
}

func volumeSamples(ctx context.Context, s *setup, dir string, n int) ([]scenarios.Measurement, error) {
	work := filepath.Join(dir, "unionbench-work")
	if err := os.Mkdir(work, 0o755); err != nil {
		return nil, err
	}
	targets := map[string]string{"": work}
	order := []string{""}
	if s.d != nil {
		vol, err := s.env.TempDir()
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(vol)
		mnt := filepath.Join(dir, "unionbench-volume")
		if err := os.Mkdir(mnt, 0o755); err != nil {
			return nil, err
		}
		if err := unix.Mount(vol, mnt, "", unix.MS_BIND, ""); err != nil {
			return nil, fmt.Errorf("bind-mount the volume %s on %s: %w", vol, mnt, err)
		}
		defer unix.Unmount(mnt, 0)
		targets["-volume"] = mnt
		order = append(order, "-volume")
	}
	var ms []scenarios.Measurement
	for _, suffix := range order {
		at := targets[suffix]
		ap, sf := scenarios.Timing("append-fsync"+suffix, n), scenarios.Timing("smallfiles-rename"+suffix, n)
		ap.Extra = map[string]any{"appends": appends, "append-bytes": appendBytes}
		sf.Extra = map[string]any{"files": smallFiles, "file-bytes": smallBytes}
		for i := range n {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			took, err := appendFsync(filepath.Join(at, fmt.Sprintf("log%d", i)))
			if err != nil {
				return nil, err
			}
			ap.Samples = append(ap.Samples, float64(took.Nanoseconds()))
			d := filepath.Join(at, fmt.Sprintf("pkg%d", i))
			if took, err = smallFilesRename(d); err != nil {
				return nil, err
			}
			sf.Samples = append(sf.Samples, float64(took.Nanoseconds()))
		}
		ms = append(ms, ap, sf)
	}
	return ms, nil
}

// appendFsync appends appendBytes at a time to a new file with fdatasync
// after each, as a log or a database's journal does.
func appendFsync(p string) (time.Duration, error) {
	buf := make([]byte, appendBytes)
	start := time.Now()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	for range appends {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return 0, err
		}
	}
	return time.Since(start), f.Close()
}

// smallFilesRename writes many small files under a temporary name and
// renames each into place, as dpkg unpacks a package (without its fsyncs).
func smallFilesRename(dir string) (time.Duration, error) {
	buf := make([]byte, smallBytes)
	start := time.Now()
	if err := os.Mkdir(dir, 0o755); err != nil {
		return 0, err
	}
	for i := range smallFiles {
		final := filepath.Join(dir, fmt.Sprintf("f%04d", i))
		if err := os.WriteFile(final+".dpkg-new", buf, 0o644); err != nil {
			return 0, err
		}
		if err := os.Rename(final+".dpkg-new", final); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// PagecacheContainers is how many containers image-pagecache runs.
const PagecacheContainers = 4

// measurePagecache mounts PagecacheContainers containers, drops the page
// cache and runs the program once in each: the page cache the image's
// files then hold on the backing fs, per container, is what running the
// image costs in memory (drivers that share the lower files' inodes pay
// once for all containers, vfs once per container); the growth of the
// host's Cached counter per container is recorded beside it.
func measurePagecache(ctx context.Context, s *setup, n int) ([]scenarios.Measurement, error) {
	var dirs []string
	var removes []func() error
	defer func() {
		for _, r := range removes {
			r()
		}
	}()
	for range PagecacheContainers {
		dir, remove, err := s.container(ctx)
		if err != nil {
			return nil, err
		}
		dirs, removes = append(dirs, dir), append(removes, remove)
	}
	m := scenarios.Measurement{Metric: "pagecache-per-container", Unit: "bytes", Better: results.Lower,
		Extra: map[string]any{"containers": PagecacheContainers, "exec": strings.Join(s.exec, " "), "counter": "/proc/meminfo Cached (host-wide: other programs' reads count too)"}}
	res := scenarios.Measurement{Metric: "resident-per-container", Unit: "bytes", Better: results.Lower,
		Extra: map[string]any{"containers": PagecacheContainers, "exec": strings.Join(s.exec, " "), "counter": "cachestat(2) of every file on the backing fs under the driver root (mounts skipped)"}}
	store := s.floor
	if s.d != nil {
		store = s.d.Root()
	}
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := dropAll(s); err != nil {
			return nil, err
		}
		before, err := cached()
		if err != nil {
			return nil, err
		}
		for _, d := range dirs {
			if err := s.run(d); err != nil {
				return nil, err
			}
		}
		after, err := cached()
		if err != nil {
			return nil, err
		}
		m.Samples = append(m.Samples, float64(after-before)/PagecacheContainers)
		r, err := residentUnder(store)
		if err != nil {
			return nil, err
		}
		res.Samples = append(res.Samples, float64(r)/PagecacheContainers)
	}
	var errs []error
	for _, r := range removes {
		errs = append(errs, r())
	}
	removes = nil
	return []scenarios.Measurement{res, m}, errors.Join(errs...)
}

// residentUnder sums the page cache held by the regular files under dir on
// dir's own filesystem, each inode once, without reading them: what the
// image's files cost in memory however many views show them. Mounted
// views (merged directories) are other filesystems and are skipped, so a
// FUSE driver's second copy in its own inodes is not counted here (the
// host-wide counter shows it).
func residentUnder(dir string) (int64, error) {
	var root unix.Stat_t
	if err := unix.Lstat(dir, &root); err != nil {
		return 0, err
	}
	seen := map[uint64]bool{}
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if st.Dev != root.Dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || seen[st.Ino] || st.Size == 0 {
			return nil
		}
		seen[st.Ino] = true
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		var cs unix.Cachestat_t
		if err := unix.Cachestat(uint(fd), &unix.CachestatRange{}, &cs, 0); err != nil {
			return fmt.Errorf("cachestat %s: %w", p, err)
		}
		total += int64(cs.Cache) * int64(os.Getpagesize())
		return nil
	})
	return total, err
}

func cached() (int64, error) {
	c, err := scenarios.HostCounters("/proc/meminfo", "Cached")
	if err != nil {
		return 0, err
	}
	v, ok := c["Cached"]
	if !ok {
		return 0, fmt.Errorf("/proc/meminfo has no Cached line")
	}
	return v, nil
}
