package bench

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/images"
	"github.com/unionbench/unionbench/images/imagetest"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/scenarios"
)

// BenchmarkImportImage times importing the test image (a Debian bookworm
// minbase and three layers on it, images/imagetest) from its `docker save`
// archive with each driver, as `docker load` does, and in the same
// iteration extracting it flat into one directory on the same backing fs:
// flat-ratio is the flat extraction's time over the driver's (1.0: as fast
// as unpacking the layers once).
func BenchmarkImportImage(b *testing.B) {
	needRoot(b)
	im, err := images.Open(imagetest.Build(b).DockerSave, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer im.Close()
	onEachBacking(b, func(b *testing.B, fs *backing.FS) {
		for _, v := range defaultVariants() {
			b.Run("driver="+v.String(), func(b *testing.B) { benchImport(b, fs, v, im) })
		}
	})
}

func benchImport(b *testing.B, fs *backing.FS, v drivers.Variant, im *images.Image) {
	ctx := context.Background()
	var driverTime, flatTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env := &scenarios.Env{FS: fs, Variant: v}
		d, cleanup, err := env.NewDriver()
		if errors.Is(err, drivers.ErrNotSupported) {
			b.Skip(err)
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := scenarios.Settle(fs); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		_, err = im.Import(ctx, d, "img")
		driverTime += time.Since(start)
		b.StopTimer()
		if err = errors.Join(err, cleanup()); err != nil {
			b.Fatal(err)
		}
		dir, err := env.TempDir()
		if err != nil {
			b.Fatal(err)
		}
		if err := scenarios.Settle(fs); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		err = im.ExtractFlat(ctx, dir)
		flatTime += time.Since(start)
		if err = errors.Join(err, os.RemoveAll(dir)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(im.UncompressedSize())*float64(b.N)/driverTime.Seconds()/1e6, "MB/s")
	b.ReportMetric(flatTime.Seconds()/driverTime.Seconds(), "flat-ratio")
}
