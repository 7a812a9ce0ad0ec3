package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/layerspec"
)

// buildImage is the synthetic image the layer-building benchmark builds:
// 10 layers of 10,000 files each, small files as real images mostly hold.
var buildImage = layerspec.Synthetic{Seed: 2024, Layers: 10, Dirs: 200, Files: 10000, Sizes: []int64{0, 512, 4096}, Churn: 0.02}

// minTarRatio is the floor the issue sets for overlay2 and vfs: building
// layers must be at least half as fast as tar -x of the same layers.
const minTarRatio = 0.5

// BenchmarkBuildImage times building buildImage with each driver, and in the
// same iteration times `tar -x` writing the same trees the driver writes, on
// the same backing filesystem: for the union drivers each layer's own
// tarball (Docker's layer format) into a fresh directory; for vfs, whose
// layers are full copies, the full tree of each layer (a tarball of the
// flattened image up to that layer). tar-ratio is tar's time over the
// driver's (1.0: as fast as tar; 0.5: half as fast).
func BenchmarkBuildImage(b *testing.B) {
	needRoot(b)
	layers, err := buildImage.Generate()
	if err != nil {
		b.Fatal(err)
	}
	diffTars := writeTarballs(b, layers)
	fullTars := writeFullTarballs(b, layers)
	files := 0
	for _, l := range layers {
		files += len(l.Entries)
	}
	onEachBacking(b, func(b *testing.B, fs *backing.FS) {
		for _, v := range defaultVariants() {
			floor := diffTars
			if v.Driver == "vfs" {
				floor = fullTars
			}
			b.Run("driver="+v.String(), func(b *testing.B) { benchBuild(b, fs, v, layers, floor, files) })
		}
	})
}

func benchBuild(b *testing.B, fs *backing.FS, v drivers.Variant, layers []*layerspec.Layer, tarballs []string, files int) {
	var driverTime, tarTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		root, err := os.MkdirTemp(fs.Dir, "root-")
		if err != nil {
			b.Fatal(err)
		}
		d, err := drivers.New(v, root, drivers.Options{})
		if errors.Is(err, drivers.ErrNotSupported) {
			os.Remove(root)
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		unix.Sync()
		b.StartTimer()
		start := time.Now()
		parent := ""
		for li, l := range layers {
			id := fmt.Sprintf("layer%03d", li)
			if err := d.Create(b.Context(), id, parent, l); err != nil {
				b.Fatal(err)
			}
			parent = id
		}
		driverTime += time.Since(start)
		b.StopTimer()

		tarTime += untar(b, fs.Dir, tarballs)

		for li := len(layers) - 1; li >= 0; li-- {
			if err := d.Remove(fmt.Sprintf("layer%03d", li)); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Cleanup(); err != nil {
			b.Fatal(err)
		}
		if err := os.RemoveAll(root); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	ratio := tarTime.Seconds() / driverTime.Seconds()
	b.ReportMetric(float64(files*b.N)/driverTime.Seconds(), "files/s")
	b.ReportMetric(float64(tarTime.Nanoseconds())/float64(b.N), "tar-ns/op")
	b.ReportMetric(ratio, "tar-ratio")
	if (v.Driver == "overlay2" || v.Driver == "vfs") && ratio < minTarRatio {
		b.Errorf("%s builds layers at %.2f of tar -x speed: below the %.1f floor", v, ratio, minTarRatio)
	}
}

// untar extracts every tarball into its own fresh directory with GNU tar,
// as root (owners and modes restored), and returns the time it took.
func untar(b *testing.B, parent string, tarballs []string) time.Duration {
	dir, err := os.MkdirTemp(parent, "tar-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	unix.Sync()
	var total time.Duration
	for i, t := range tarballs {
		dst := filepath.Join(dir, fmt.Sprint(i))
		if err := os.Mkdir(dst, 0o755); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		out, err := exec.Command("tar", "-x", "--xattrs", "--xattrs-include=user.*", "-f", t, "-C", dst).CombinedOutput()
		total += time.Since(start)
		if err != nil {
			b.Fatalf("tar -x %s: %v: %s", t, err, out)
		}
	}
	return total
}

func writeTarballs(b *testing.B, layers []*layerspec.Layer) []string {
	dir := b.TempDir()
	var out []string
	for i, l := range layers {
		p := filepath.Join(dir, fmt.Sprintf("layer%03d.tar", i))
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := layerspec.WriteTar(f, l); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// writeFullTarballs writes, for each layer, a tarball of the whole image up
// to and including it: what a vfs layer holds.
func writeFullTarballs(b *testing.B, layers []*layerspec.Layer) []string {
	tree := b.TempDir()
	dir := b.TempDir()
	var out []string
	for i, l := range layers {
		if err := layerspec.Apply(b.Context(), tree, l, layerspec.FlatFormat{}, nil); err != nil {
			b.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("full%03d.tar", i))
		if out, err := exec.Command("tar", "-c", "--xattrs", "-f", p, "-C", tree, ".").CombinedOutput(); err != nil {
			b.Fatalf("tar -c: %v: %s", err, out)
		}
		out = append(out, p)
	}
	return out
}
