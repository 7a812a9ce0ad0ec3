package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/images"
	"github.com/unionbench/unionbench/images/imagetest"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/dockerd"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/scenarios"
)

// BenchmarkImportImage times importing the test image (a Debian bookworm
// minbase and three layers on it, images/imagetest) from its `docker save`
// archive with each driver, and in the same iteration, on the same backing
// fs, two references: extracting it flat into one directory, and `docker
// load --input save.tar` into a real dockerd (docker.io 20.10) whose
// --data-root is on that backing fs, with the Docker storage driver of the
// same name (overlay2, overlay, vfs, fuse-overlayfs; Docker has no aufs
// here, so aufs has no Docker half). The three take turns going first, so
// that drift of a busy machine hits them alike.
//
// What each side does, timed:
//   - ours (ns/op, MB/s): images.Open (manifest and config parsed, the
//     archive's entries listed) and images.Import: every layer's tar read
//     straight out of the archive, its sha256 checked against the config's
//     diff id as it streams, and applied into a new driver layer in the
//     driver's format (whiteouts and opaque directories converted, the
//     driver's link/lower files written). Nothing is fsynced, and nothing
//     is recorded beyond the driver's own layer directories.
//   - flat (flat-ratio = flat time / ours): the same Open and layer
//     reading, applied into one plain directory, deletions done for real.
//   - docker (docker-MB/s, docker-ratio = docker time / ours): the whole
//     `docker load --quiet --input` command, client start included. The
//     client streams the archive over the API socket; the daemon first
//     unpacks the whole archive into <data-root>/tmp (a second copy of its
//     bytes on the backing fs, which ours does not make), parses
//     manifest.json and the config, then per layer hashes the stream
//     (sha256, checked against the diff id), writes its tar-split
//     metadata (gzip) and applies it with the graph driver in a chrooted
//     child process (moby v20.10 layer/layer_store.go applyTar,
//     daemon/graphdriver/overlay2 ApplyDiff), walks the applied diff for
//     its size, and writes layerdb/ (size, diff, parent, cache-id,
//     tar-split.json.gz) and the image config and tag store. Docker
//     fsyncs those small metadata files (pkg/ioutils AtomicWriteSet and
//     AtomicWriteFile), never the layer contents. docker-cli-ms is the
//     median of a trivial client call (`docker image ls`) in the same
//     iterations: the part of docker's time that is the client's start
//     and one API round trip.
//
// Untimed: making a fresh driver root, settling the backing fs
// (scenarios.Settle) before each timed step, and on the Docker side
// checking the image is gone (no image, empty layerdb) before each load,
// checking the load made the image of the archive's id, and `docker rmi`
// after it. The daemon starts once per backing fs and driver, untimed.
//
// Ratios are medians of the iterations' own ratios (-benchtime Nx for N
// of them); the benchmark fails when overlay2's docker-ratio is below 1,
// that is when our overlay2 import is slower than docker load.
func BenchmarkImportImage(b *testing.B) {
	needRoot(b)
	archive := imagetest.Build(b).DockerSave
	onEachBacking(b, func(b *testing.B, fs *backing.FS) {
		daemons := &dockerDaemons{fs: fs, running: map[string]*dockerd.Daemon{}}
		defer daemons.stop(b)
		for _, v := range defaultVariants() {
			b.Run("driver="+v.String(), func(b *testing.B) { benchImport(b, fs, v, archive, daemons) })
		}
	})
}

// importSamples are one sub-benchmark's per-iteration times, in seconds.
type importSamples struct {
	ours, flat, docker, cli []float64
	size                    int64 // the image's uncompressed bytes
}

func benchImport(b *testing.B, fs *backing.FS, v drivers.Variant, archive string, daemons *dockerDaemons) {
	b.StopTimer() // the timer runs for our import only
	d := daemons.get(b, v.Driver)
	var s importSamples
	steps := []func(){
		func() { s.ours = append(s.ours, importOurs(b, fs, v, archive, &s.size)) },
		func() { s.flat = append(s.flat, importFlat(b, fs, archive)) },
	}
	if d != nil {
		steps = append(steps, func() {
			load, cli := importDocker(b, fs, d, archive)
			s.docker, s.cli = append(s.docker, load), append(s.cli, cli)
		})
	}
	for i := 0; i < b.N; i++ {
		// Each step in turn goes first, so that none always meets a page
		// cache or a device the one before it just filled.
		for j := range steps {
			steps[(i+j)%len(steps)]()
		}
	}
	mb := float64(s.size) / 1e6
	ours := median(s.ours)
	b.ReportMetric(mb/ours, "MB/s")
	b.ReportMetric(median(ratios(s.flat, s.ours)), "flat-ratio")
	if d == nil {
		return
	}
	docker := median(s.docker)
	ratio := median(ratios(s.docker, s.ours))
	b.ReportMetric(mb/docker, "docker-MB/s")
	b.ReportMetric(ratio, "docker-ratio")
	b.ReportMetric(median(s.cli)*1e3, "docker-cli-ms")
	b.Logf("%s: median import %v, docker load %v, docker-ratio %.2f over %d iterations (import %v, docker load %v)",
		v, seconds(ours), seconds(docker), ratio, b.N, durations(s.ours), durations(s.docker))
	if v.Driver == "overlay2" && ratio < 1 {
		b.Errorf("overlay2 import is slower than docker load: median %v against docker's %v (docker-ratio %.2f < 1)",
			seconds(ours), seconds(docker), ratio)
	}
}

// importOurs imports the archive into a fresh driver root under the
// benchmark's timer and returns the seconds it took; size gets the
// image's uncompressed bytes.
func importOurs(b *testing.B, fs *backing.FS, v drivers.Variant, archive string, size *int64) float64 {
	env := &scenarios.Env{FS: fs, Variant: v}
	d, cleanup, err := env.NewDriver()
	if errors.Is(err, drivers.ErrNotSupported) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := scenarios.Settle(fs); err != nil {
		b.Fatal(errors.Join(err, cleanup()))
	}
	b.StartTimer()
	start := time.Now()
	im, err := images.Open(archive, fs.Dir)
	if err == nil {
		_, err = im.Import(context.Background(), d, "img")
	}
	took := time.Since(start)
	b.StopTimer()
	if im != nil {
		*size = im.UncompressedSize()
		err = errors.Join(err, im.Close())
	}
	if err = errors.Join(err, cleanup()); err != nil {
		b.Fatal(err)
	}
	return took.Seconds()
}

// importFlat extracts the archive into one new directory on the backing
// fs and returns the seconds it took.
func importFlat(b *testing.B, fs *backing.FS, archive string) float64 {
	dir, err := (&scenarios.Env{FS: fs}).TempDir()
	if err != nil {
		b.Fatal(err)
	}
	if err := scenarios.Settle(fs); err != nil {
		b.Fatal(errors.Join(err, os.RemoveAll(dir)))
	}
	start := time.Now()
	im, err := images.Open(archive, fs.Dir)
	if err == nil {
		err = errors.Join(im.ExtractFlat(context.Background(), dir), im.Close())
	}
	took := time.Since(start)
	if err = errors.Join(err, os.RemoveAll(dir)); err != nil {
		b.Fatal(err)
	}
	return took.Seconds()
}

// importDocker runs `docker load` of the archive, the image absent and the
// backing fs settled first, checks it made the archive's image and removes
// it again. It returns the load's seconds and those of a trivial client
// call (`docker image ls`, which also checks the image is absent).
func importDocker(b *testing.B, fs *backing.FS, d *dockerd.Daemon, archive string) (load, cli float64) {
	ctx := context.Background()
	start := time.Now()
	out, err := d.Docker(ctx, "image", "ls", "--all", "--quiet")
	cli = time.Since(start).Seconds()
	if err != nil {
		b.Fatal(err)
	}
	if left := strings.Fields(string(out)); len(left) > 0 {
		b.Fatalf("docker load into %s: images %v are still there before the load", d.DataRoot, left)
	}
	layerdb := filepath.Join(d.DataRoot, "image", d.Driver, "layerdb", "sha256")
	if left, err := os.ReadDir(layerdb); err != nil && !errors.Is(err, os.ErrNotExist) || len(left) > 0 {
		b.Fatalf("docker load into %s: layers are still in %s before the load (%d entries, %v)", d.DataRoot, layerdb, len(left), err)
	}
	if err := scenarios.Settle(fs); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	err = d.Load(ctx, archive)
	load = time.Since(start).Seconds()
	if err != nil {
		b.Fatalf("%v: %s", err, d.LogTail(10))
	}
	want, err := imageID(archive)
	if err != nil {
		b.Fatal(err)
	}
	out, err = d.Docker(ctx, "image", "inspect", "--format", "{{.Id}}", dockerTestImage)
	if err != nil {
		b.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		b.Fatalf("docker load of %s made %s %s: want %s", archive, dockerTestImage, got, want)
	}
	if _, err := d.Docker(ctx, "rmi", dockerTestImage); err != nil {
		b.Fatal(err)
	}
	return load, cli
}

// dockerTestImage is the tag the test image's archive carries.
const dockerTestImage = "unionbench/test:latest"

// imageID is the id Docker gives the archive's image: its config digest.
func imageID(archive string) (string, error) {
	im, err := images.Open(archive, os.TempDir())
	if err != nil {
		return "", err
	}
	return im.ID.String(), im.Close()
}

// dockerDaemons starts one dockerd per Docker storage driver, with its
// data root on fs, on first use, and keeps it for the sub-benchmark's
// later runs (the testing package calls it once with b.N = 1 first).
type dockerDaemons struct {
	fs      *backing.FS
	running map[string]*dockerd.Daemon
	missing error // docker.io is not installed
}

// get is the daemon for driver, or nil when Docker has no such driver
// here or docker.io is missing (which fails the benchmark under CI=true).
func (dd *dockerDaemons) get(b *testing.B, driver string) *dockerd.Daemon {
	if !slices.Contains(dockerd.Drivers, driver) || dd.missing != nil {
		return nil
	}
	if d := dd.running[driver]; d != nil {
		return d
	}
	d, err := dockerd.Start(context.Background(), os.TempDir(), driver, dockerd.DataRootIn(dd.fs.Dir))
	if errors.Is(err, dockerd.ErrNotInstalled) {
		if testenv.CI() {
			b.Fatalf("CI=true, so docker load must be timed, but: %v", err)
		}
		dd.missing = err
		b.Logf("no docker load figures: %v", err)
		return nil
	}
	if err != nil {
		b.Fatal(err)
	}
	dd.running[driver] = d
	return d
}

func (dd *dockerDaemons) stop(b *testing.B) {
	for _, d := range dd.running {
		if err := d.Stop(); err != nil {
			b.Error(err)
		}
	}
}

// ratios is num[i]/den[i] for each iteration.
func ratios(num, den []float64) []float64 {
	out := make([]float64, 0, len(num))
	for i := range min(len(num), len(den)) {
		out = append(out, num[i]/den[i])
	}
	return out
}

// durations is samples in seconds as durations, for logs.
func durations(samples []float64) []time.Duration {
	out := make([]time.Duration, len(samples))
	for i, s := range samples {
		out[i] = seconds(s)
	}
	return out
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}
