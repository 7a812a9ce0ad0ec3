package plots

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/png"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/results"
)

// host is one synthetic host: records built by add carry its facts.
type host struct {
	kernel   string
	emulated bool
	recs     []results.Record
}

func (h *host) add(scenario, metric, driver, unit string, params []results.Param, samples ...float64) {
	h.recs = append(h.recs, results.Record{
		Schema: results.SchemaVersion, RunID: "run-" + h.kernel,
		Host:    results.Host{Kernel: h.kernel, Distro: "Debian GNU/Linux 12", CPU: "Test CPU", Emulated: h.emulated},
		Backing: results.Backing{Kind: "ext4"},
		Driver:  driver, Variant: driver, Scenario: scenario, Metric: metric, Params: params, Unit: unit, Samples: samples,
		Status: results.OK, Better: results.Lower, Floor: h.floor(scenario, metric, driver, params),
	})
}

// floor is the Floor a scenario would give this test data's records: the
// floor added last of the same scenario (of copy-fsync for copy-up's
// first-write) whose parameters the record has.
func (h *host) floor(scenario, metric, driver string, params []results.Param) string {
	if driver == "floor" || metric == "container-inodes" {
		return ""
	}
	if metric == "first-write" {
		metric = "copy-fsync"
	}
	for i := len(h.recs) - 1; i >= 0; i-- {
		f := h.recs[i]
		if f.Driver == "floor" && f.Scenario == scenario && f.Metric == metric &&
			!slices.ContainsFunc(f.Params, func(p results.Param) bool { return !slices.Contains(params, p) }) {
			return f.CaseKey()
		}
	}
	return ""
}

// synthetic is a small but complete set: every scenario a figure draws,
// two drivers and the floor, scaled by k so hosts differ.
func synthetic(kernel string, emulated bool, k float64) []results.Record {
	h := &host{kernel: kernel, emulated: emulated}
	P := results.P
	for _, cache := range []string{"cold", "warm"} {
		for i, size := range []string{"0B", "4KiB", "1MiB", "64MiB"} {
			ps := []results.Param{P("size", size), P("cache", cache)}
			base := k * float64(1000*(i+1))
			h.add("copyup", "copy-fsync", "floor", "ns", ps, base, base*1.1, base*0.9)
			h.add("copyup", "first-write", "overlay2", "ns", ps, 2*base, 2.2*base, 1.8*base)
			h.add("copyup", "first-write", "vfs", "ns", ps, base/10, base/9, base/11)
		}
		h.add("lookup", "stat", "floor", "ns", []results.Param{P("cache", cache)}, k*500, k*510, k*490)
		for _, d := range []string{"1", "16", "64"} {
			ps := []results.Param{P("depth", d), P("cache", cache)}
			h.add("lookup", "stat", "overlay2", "ns", ps, k*600, k*700, k*650)
			h.add("lookup", "stat", "vfs", "ns", ps, k*400, k*420, k*410)
		}
	}
	for _, d := range []string{"1", "16", "64"} {
		h.add("mount", "mount", "overlay2", "ns", []results.Param{P("depth", d)}, k*3e5, k*3.1e5, k*2.9e5)
		h.add("mount", "unmount", "overlay2", "ns", []results.Param{P("depth", d)}, k*6e5, k*6.1e5, k*5.9e5)
	}
	img := []results.Param{P("layers", "10"), P("dirs", "20"), P("files", "200")}
	h.add("inodes", "image-inodes", "floor", "inodes", img, 2021)
	h.add("inodes", "image-inodes", "overlay2", "inodes", img, 2267)
	h.add("inodes", "image-inodes", "vfs", "inodes", img, 11000)
	h.add("inodes", "container-inodes", "overlay2", "inodes", img, 27, 27, 28)
	h.add("inodes", "container-inodes", "vfs", "inodes", img, 4000, 4000, 4000)
	for _, n := range []float64{1, 2, 4, 8} {
		ps := []results.Param{P("containers", fmt.Sprint(n)), P("size", "32MiB")}
		h.add("pagecache", "cache-bytes-per-container", "floor", "bytes", ps, 32<<20/n)
		h.add("pagecache", "cache-bytes-per-container", "overlay2", "bytes", ps, 33<<20/n)
		h.add("pagecache", "cache-bytes-per-container", "vfs", "bytes", ps, 32<<20)
	}
	return h.recs
}

// describe prints a figure's structure: what a reader sees besides the
// pixels (panel titles, axis scales, tick labels, the ratio plot under a
// panel and the figure's legend).
func describe(f *Figure) {
	if f == nil {
		fmt.Println("no figure")
		return
	}
	fmt.Printf("%s: %d×%d panels\n", f.Name, len(f.Panels), len(f.Panels[0]))
	for _, row := range f.Panels {
		for _, p := range row {
			_, xlog := p.Plot.X.Scale.(plot.LogScale)
			_, ylog := p.Plot.Y.Scale.(plot.LogScale)
			x := p.Plot.X
			if p.Ratio != nil {
				x = p.Ratio.X // the shared axis's labels are under the ratios
			}
			fmt.Printf("  %q xlog=%v ylog=%v x=[%s] y=[%s]\n", strings.ReplaceAll(p.Plot.Title.Text, "\n", " / "), xlog, ylog, tickLabels(x), tickLabels(p.Plot.Y))
			if p.Ratio != nil {
				fmt.Printf("    ratio %q y=[%s] %q\n", p.Ratio.Y.Label.Text, tickLabels(p.Ratio.Y), p.Ratio.Title.Text)
			}
		}
	}
	l := f.Legend()
	fmt.Printf("  legend: %s\n", strings.Join(legendLabels(&l), ", "))
}

func tickLabels(a plot.Axis) string {
	var ticks []string
	for _, t := range a.Tick.Marker.Ticks(a.Min, a.Max) {
		if t.Label != "" {
			ticks = append(ticks, strings.ReplaceAll(t.Label, "\n", " "))
		}
	}
	return strings.Join(ticks, ", ")
}

// legendLabels reads a legend's labels from its SVG in drawing order
// (gonum keeps the entries unexported).
func legendLabels(l *plot.Legend) []string {
	w, h := legendSize(l)
	c := vgsvg.New(w, h)
	l.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		panic(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`>([^<>]+)</text>`).FindAllStringSubmatch(b.String(), -1) {
		out = append(out, m[1])
	}
	return out
}

func one() *dataset.Set { return dataset.New(synthetic("6.1.0", false, 1)) }

func ExampleCopyUp() {
	f, _ := CopyUp(one(), "first-write")
	describe(f)
	// Output:
	// copyup-first-write: 1×2 panels
	//   "kernel 6.1.0 — cold cache" xlog=true ylog=true x=[4KiB, 1MiB, 64MiB] y=[200ns, 500ns, 1µs, 2µs, 5µs, 10µs]
	//     ratio "× floor" y=[1×, 1.5×, 2×] "off this scale: vfs 0.1×"
	//   "kernel 6.1.0 — warm cache" xlog=true ylog=true x=[4KiB, 1MiB, 64MiB] y=[200ns, 500ns, 1µs, 2µs, 5µs, 10µs]
	//     ratio "× floor" y=[1×, 1.5×, 2×] "off this scale: vfs 0.1×"
	//   legend: overlay2, vfs, floor (backing fs)
}

func ExampleLookup() {
	f, _ := Lookup(one(), "stat")
	describe(f)
	// Output:
	// lookup-stat: 1×2 panels
	//   "kernel 6.1.0 — cold cache" xlog=true ylog=true x=[1, 16, 64] y=[400ns, 500ns, 600ns, 800ns]
	//     ratio "× floor" y=[0.7×, 1×, 1.5×] ""
	//   "kernel 6.1.0 — warm cache" xlog=true ylog=true x=[1, 16, 64] y=[400ns, 500ns, 600ns, 800ns]
	//     ratio "× floor" y=[0.7×, 1×, 1.5×] ""
	//   legend: overlay2, vfs, floor (backing fs)
}

func ExampleMount() {
	f, _ := Mount(one())
	describe(f)
	// Output:
	// mount: 1×2 panels
	//   "kernel 6.1.0 — mount" xlog=true ylog=true x=[1, 16, 64] y=[250µs, 300µs, 350µs]
	//   "kernel 6.1.0 — unmount" xlog=true ylog=true x=[1, 16, 64] y=[500µs, 600µs, 700µs]
	//   legend: overlay2
}

func ExampleInodes() {
	f, _ := Inodes(one())
	describe(f)
	// Output:
	// inodes: 1×2 panels
	//   "kernel 6.1.0 — inodes per image" xlog=false ylog=false x=[10 layers 20 dirs × 200 files] y=[0, 5000, 10000]
	//   "kernel 6.1.0 — inodes per container" xlog=false ylog=false x=[10 layers 20 dirs × 200 files] y=[0, 2000, 4000]
	//   legend: overlay2, vfs, flattened tree (floor)
}

func ExamplePageCache() {
	f, _ := PageCache(one())
	describe(f)
	// Output:
	// pagecache: 1×1 panels
	//   "kernel 6.1.0" xlog=true ylog=false x=[1, 2, 4, 8] y=[0 B, 10 MiB, 20 MiB, 30 MiB]
	//     ratio "× floor" y=[1×, 2×, 5×, 10×] ""
	//   legend: overlay2, vfs, floor (backing fs)
}

// Several kernels stand side by side, one column each; an emulated host
// gets its own column and says so in every panel title.
func ExampleAll_kernels() {
	recs := append(synthetic("5.15.0", false, 1), synthetic("6.8.0", false, 0.8)...)
	recs = append(recs, synthetic("6.8.0", true, 40)...)
	figs, _ := All(dataset.New(recs))
	describe(figs[0])
	// Output:
	// copyup-first-write: 2×3 panels
	//   "kernel 5.15.0 — cold cache" xlog=true ylog=true x=[4KiB, 1MiB, 64MiB] y=[200ns, 500ns, 1µs, 2µs, 5µs, 10µs]
	//     ratio "× floor" y=[1×, 1.5×, 2×] "off this scale: vfs 0.1×"
	//   "kernel 6.8.0 — cold cache" xlog=true ylog=true x=[4KiB, 1MiB, 64MiB] y=[200ns, 500ns, 1µs, 2µs, 5µs]
	//     ratio "× floor" y=[1×, 1.5×, 2×] "off this scale: vfs 0.1×"
	//   "kernel 6.8.0, EMULATED CPU — cold cache / (timed under emulation: not comparable with native panels)" xlog=true ylog=true x=[4KiB, 1MiB, 64MiB] y=[10µs, 20µs, 50µs, 100µs, 200µs]
	//     ratio "× floor" y=[1×, 1.5×, 2×] "off this scale: vfs 0.1×"
	//   "kernel 5.15.0 — warm cache" xlog=true ylog=true x=[4KiB, 1MiB, 64MiB] y=[200ns, 500ns, 1µs, 2µs, 5µs, 10µs]
	//     ratio "× floor" y=[1×, 1.5×, 2×] "off this scale: vfs 0.1×"
	//   "kernel 6.8.0 — warm cache" xlog=true ylog=true x=[4KiB, 1MiB, 64MiB] y=[200ns, 500ns, 1µs, 2µs, 5µs]
	//     ratio "× floor" y=[1×, 1.5×, 2×] "off this scale: vfs 0.1×"
	//   "kernel 6.8.0, EMULATED CPU — warm cache / (timed under emulation: not comparable with native panels)" xlog=true ylog=true x=[4KiB, 1MiB, 64MiB] y=[10µs, 20µs, 50µs, 100µs, 200µs]
	//     ratio "× floor" y=[1×, 1.5×, 2×] "off this scale: vfs 0.1×"
	//   legend: overlay2, vfs, floor (backing fs)
}

func TestSeriesAndFloor(t *testing.T) {
	s := one()
	f, err := CopyUp(s, "first-write")
	require.NoError(t, err)
	assert.Equal(t, []string{"overlay2", "vfs", floorLabel}, f.Panels[0][0].Labels(), "one line per driver, the floor last")
	lk, err := Lookup(s, "stat")
	require.NoError(t, err)
	assert.Equal(t, []string{"overlay2", "vfs", floorLabel}, lk.Panels[0][1].Labels(), "the floor has no depth: drawn flat")
	in, err := Inodes(s)
	require.NoError(t, err)
	assert.Equal(t, []string{"overlay2", "vfs", "flattened tree (floor)"}, in.Panels[0][0].Labels())
	assert.Equal(t, []string{"overlay2", "vfs"}, in.Panels[0][1].Labels(), "containers have no flattened count")
	l := in.Legend()
	assert.Equal(t, []string{"overlay2", "vfs", "flattened tree (floor)"}, legendLabels(&l), "the figure's legend has every panel's labels once")
	// Data missing for a figure: no figure, not an empty one.
	f, err = CopyUp(s, "chmod")
	require.NoError(t, err)
	assert.Nil(t, f)
}

// Floor lines follow the records' Floor, whatever the metrics are called:
// a copy-up operation named w1 whose floor is named baseline gets the
// floor line, one named w2 without a Floor gets none.
func TestFloorByReference(t *testing.T) {
	P := results.P
	var recs []results.Record
	add := func(metric, driver, floor string, ps []results.Param, v float64) {
		recs = append(recs, results.Record{Schema: results.SchemaVersion, RunID: "r", Host: results.Host{Kernel: "6.1.0"},
			Backing: results.Backing{Kind: "ext4"}, Driver: driver, Variant: driver, Scenario: "copyup", Metric: metric,
			Params: ps, Unit: "ns", Samples: []float64{v, v * 1.1, v * 0.9}, Status: results.OK, Better: results.Lower, Floor: floor})
	}
	for _, size := range []string{"4KiB", "1MiB"} {
		for _, cache := range []string{"cold", "warm"} {
			ps := []results.Param{P("size", size), P("cache", cache)}
			add("baseline", "floor", "", ps, 100)
			add("w1", "overlay2", results.CaseKey("baseline", ps...), ps, 200)
			add("w2", "overlay2", "", ps, 50)
		}
	}
	s := dataset.New(recs)
	names := []string{"overlay2", floorLabel}
	w1, err := CopyUp(s, "w1")
	require.NoError(t, err)
	assert.Equal(t, names, w1.Panels[0][0].Labels())
	assert.Contains(t, w1.Caption, "floor: a plain copy")
	w2, err := CopyUp(s, "w2")
	require.NoError(t, err)
	assert.Equal(t, []string{"overlay2"}, w2.Panels[0][0].Labels())
	assert.Contains(t, w2.Caption, "there is no floor")
}

// The ratio plot holds each driver's median over the median of its
// floor's same case, and only figures with a floor have one.
func TestRatioToFloor(t *testing.T) {
	s := one()
	f, err := CopyUp(s, "first-write")
	require.NoError(t, err)
	assert.Contains(t, f.Caption, ratioCaption)
	for _, p := range f.Panels[0] {
		require.NotNil(t, p.Ratio)
		// Every size: overlay2's samples are twice the floor's, vfs's a tenth.
		assert.Equal(t, plotter.XYs{{X: 4096, Y: 2}, {X: 1 << 20, Y: 2}, {X: 64 << 20, Y: 2}}, p.ratios["overlay2"])
		require.Len(t, p.ratios["vfs"], 3)
		for _, xy := range p.ratios["vfs"] {
			assert.InDelta(t, 0.1, xy.Y, 1e-9)
		}
		assert.NotContains(t, p.ratios, floorLabel, "the floor is the line at 1, not a series")
		assert.Equal(t, "× floor", p.Ratio.Y.Label.Text)
		assert.Equal(t, p.Plot.X.Min, p.Ratio.X.Min)
		assert.Equal(t, p.Plot.X.Max, p.Ratio.X.Max)
		assert.Empty(t, p.Plot.X.Label.Text, "the x label is under the ratios")
		assert.Equal(t, "file size", p.Ratio.X.Label.Text)
	}
	// A floor without depth is the floor of every depth.
	lk, err := Lookup(s, "stat")
	require.NoError(t, err)
	assert.Equal(t, plotter.XYs{{X: 1, Y: 1.3}, {X: 16, Y: 1.3}, {X: 64, Y: 1.3}}, lk.Panels[0][0].ratios["overlay2"])
	pc, err := PageCache(s)
	require.NoError(t, err)
	require.NotNil(t, pc.Panels[0][0].Ratio)
	assert.Equal(t, plotter.XYs{{X: 1, Y: 1}, {X: 2, Y: 2}, {X: 4, Y: 4}, {X: 8, Y: 8}}, pc.Panels[0][0].ratios["vfs"])
	// A lookup run without its floor cases: no ratio plot.
	var noFloor []results.Record
	for _, r := range synthetic("6.1.0", false, 1) {
		if r.Driver != dataset.FloorDriver {
			noFloor = append(noFloor, r)
		}
	}
	lk, err = Lookup(dataset.New(noFloor), "stat")
	require.NoError(t, err)
	for _, p := range lk.Panels[0] {
		assert.Nil(t, p.Ratio)
		assert.Equal(t, []string{"overlay2", "vfs"}, p.Labels())
	}
	assert.NotContains(t, lk.Caption, ratioCaption)
	// No floor: no ratio plot, and the panel keeps its x labels.
	mnt, err := Mount(s)
	require.NoError(t, err)
	assert.NotContains(t, mnt.Caption, ratioCaption)
	for _, p := range mnt.Panels[0] {
		assert.Nil(t, p.Ratio)
		assert.Equal(t, "image depth (layers)", p.Plot.X.Label.Text)
	}
}

// Every figure renders to a PNG that decodes at its stated size and to
// well-formed SVG.
func TestFiguresRender(t *testing.T) {
	recs := append(synthetic("5.15.0", false, 1), synthetic("6.8.0", true, 30)...)
	figs, err := All(dataset.New(recs))
	require.NoError(t, err)
	var names []string
	for _, f := range figs {
		names = append(names, f.Name)
		var b bytes.Buffer
		require.NoError(t, f.WritePNG(&b), f.Name)
		img, err := png.Decode(&b)
		require.NoError(t, err, f.Name)
		w, h := f.Size()
		assert.InDelta(t, float64(w)/72*110, img.Bounds().Dx(), 2, f.Name)
		assert.InDelta(t, float64(h)/72*110, img.Bounds().Dy(), 2, f.Name)
		svg, err := f.SVG()
		require.NoError(t, err)
		d := xml.NewDecoder(bytes.NewReader(svg))
		for {
			if _, err := d.Token(); err != nil {
				assert.Equal(t, "EOF", err.Error(), "%s: SVG is well-formed", f.Name)
				break
			}
		}
		assert.Contains(t, string(svg), "EMULATED CPU")
	}
	assert.Equal(t, []string{"copyup-first-write", "lookup-stat", "mount", "inodes", "pagecache"}, names)
}
