package plots

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/cmpimg"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/results"
)

// crowded is copy-up as a real run draws it: five drivers, four of them
// within a third of the floor, so on the log-log panel they lie on the
// floor line and only the ratio plot tells them apart.
func crowded() *dataset.Set {
	h := &host{kernel: "6.1.0"}
	P := results.P
	near := map[string]float64{"aufs": 1.08, "overlay": 1.15, "overlay2": 1.02, "fuse-overlayfs": 1.3, "vfs": 0.04}
	for _, cache := range []string{"cold", "warm"} {
		for i, size := range []string{"4KiB", "64KiB", "1MiB", "16MiB", "256MiB", "1GiB"} {
			ps := []results.Param{P("size", size), P("cache", cache)}
			base := 1e6 * float64(int(1)<<(2*i))
			h.add("copyup", "copy-fsync", "floor", "ns", ps, base, base*1.1, base*0.9)
			for _, d := range []string{"aufs", "overlay", "overlay2", "fuse-overlayfs", "vfs"} {
				k := near[d]
				h.add("copyup", "first-write", d, "ns", ps, k*base, k*base*1.05, k*base*0.95)
			}
		}
	}
	return dataset.New(h.recs)
}

// fullRun is lookup and inodes with a full run's sweeps and all five
// drivers: ten depths up to 499 (where a driver stops early, as aufs and
// overlay do), and three image shapes.
func fullRun() *dataset.Set {
	h := &host{kernel: "6.1.0"}
	P := results.P
	drivers := []string{"aufs", "overlay", "overlay2", "fuse-overlayfs", "vfs"}
	for _, cache := range []string{"cold", "warm"} {
		h.add("lookup", "stat", "floor", "ns", []results.Param{P("cache", cache)}, 900, 950, 850)
		for _, d := range []int{1, 2, 4, 8, 16, 32, 64, 128, 256, 499} {
			ps := []results.Param{P("depth", fmt.Sprint(d)), P("cache", cache)}
			for i, drv := range drivers {
				if d > 128 && (drv == "aufs" || drv == "overlay") {
					continue
				}
				v := 1000 * (1 + float64(i)/10) * (1 + float64(d)/float64(200*(i+1)))
				h.add("lookup", "stat", drv, "ns", ps, v, v*1.05, v*0.95)
			}
		}
	}
	for _, sh := range [][3]int{{10, 1000, 20}, {10, 20, 200}, {50, 50, 500}} {
		ps := []results.Param{P("layers", fmt.Sprint(sh[0])), P("dirs", fmt.Sprint(sh[1])), P("files", fmt.Sprint(sh[2]))}
		flat := float64(sh[1] + sh[0]*sh[2])
		h.add("inodes", "image-inodes", "floor", "inodes", ps, flat)
		for i, drv := range drivers {
			h.add("inodes", "image-inodes", drv, "inodes", ps, flat*(1+float64(i)/3))
			h.add("inodes", "container-inodes", drv, "inodes", ps, 20+float64(i)*flat/10)
		}
	}
	return dataset.New(h.recs)
}

// goldens are the figures of every kind the report draws, from fixed
// synthetic data: log-log lines with a floor and its ratio plot (one
// host, several hosts, crowded), a flat floor, no floor, a linear y axis
// with a ratio plot, and grouped bars.
var goldens = []struct {
	file string
	fig  func() (*Figure, error)
}{
	{"copyup", func() (*Figure, error) { return CopyUp(one(), "first-write") }},
	{"copyup-crowded", func() (*Figure, error) { return CopyUp(crowded(), "first-write") }},
	{"copyup-hosts", func() (*Figure, error) {
		recs := append(synthetic("5.15.0", false, 1), synthetic("6.8.0", true, 40)...)
		return CopyUp(dataset.New(recs), "first-write")
	}},
	{"lookup", func() (*Figure, error) { return Lookup(one(), "stat") }},
	{"mount", func() (*Figure, error) { return Mount(one()) }},
	{"pagecache", func() (*Figure, error) { return PageCache(one()) }},
	{"inodes", func() (*Figure, error) { return Inodes(one()) }},
	{"lookup-full", func() (*Figure, error) { return Lookup(fullRun(), "stat") }},
	{"inodes-full", func() (*Figure, error) { return Inodes(fullRun()) }},
}

// Each figure kind is drawn as its golden PNG. `go test ./reports/plots
// -regen` rewrites testdata/*_golden.png from the current code; look at
// them before committing.
func TestGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.file, func(t *testing.T) {
			f, err := g.fig()
			require.NoError(t, err)
			require.NotNil(t, f)
			path := filepath.Join("testdata", g.file+".png")
			t.Cleanup(func() { _ = os.Remove(path) }) // only the golden stays
			cmpimg.CheckPlot(func() {
				w, err := os.Create(path)
				require.NoError(t, err)
				defer w.Close()
				require.NoError(t, f.WritePNG(w))
			}, t, g.file+".png")
		})
	}
}
