package plots

import (
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
