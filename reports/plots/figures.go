package plots

import (
	"slices"
	"strconv"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/units"
)

// All returns every figure the set has data for, in report order.
func All(s *dataset.Set) ([]*Figure, error) {
	var figs []*Figure
	add := func(f *Figure, err error) error {
		if f != nil {
			figs = append(figs, f)
		}
		return err
	}
	for _, op := range copyUpOps(s) {
		if err := add(CopyUp(s, op)); err != nil {
			return nil, err
		}
	}
	for _, op := range []string{"stat", "open", "enoent", "readdir"} {
		if err := add(Lookup(s, op)); err != nil {
			return nil, err
		}
	}
	if err := add(Mount(s)); err != nil {
		return nil, err
	}
	if err := add(Inodes(s)); err != nil {
		return nil, err
	}
	if err := add(PageCache(s)); err != nil {
		return nil, err
	}
	return figs, nil
}

// copyUpOps lists the timed copy-up operations present, first-write first.
func copyUpOps(s *dataset.Set) []string {
	ops := []string{"first-write", "chmod", "second-write"}
	for _, g := range s.Groups {
		for _, m := range g.Scenario("copyup") {
			if m.Unit == "ns" && m.Driver != dataset.FloorDriver && !slices.Contains(ops, m.Metric) {
				ops = append(ops, m.Metric)
			}
		}
	}
	return ops
}

func cacheViews(metric string) []view {
	return []view{
		{"cold cache", metric, []results.Param{results.P("cache", "cold")}},
		{"warm cache", metric, []results.Param{results.P("cache", "warm")}},
	}
}

func parseSize(s string) (float64, bool) {
	n, err := units.ParseSize(s)
	return float64(n), err == nil
}

func formatSize(x float64) string { return units.FormatSize(int64(x)) }

func formatInt(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// CopyUp is copy-up latency of one operation against file size, log-log,
// one line per driver and the plain copy + fsync floor.
func CopyUp(s *dataset.Set, op string) (*Figure, error) {
	noFloor := " No floor case is paired with " + op + ": there is no floor line."
	if op == "second-write" {
		noFloor = " The file was copied up by the first write, so nothing is copied and there is no floor."
	}
	return lineFigure(s, lineSpec{
		name:  "copyup-" + op,
		title: "Copy-up: " + op + " latency by file size",
		caption: "Median latency of " + op + " on a file of a lower layer, by file size (log-log). " +
			"Bars span the 5th to 95th percentile of the samples. 0 B files are in the tables only.",
		floorCaption:   " The dashed black line is the floor: a plain copy + fsync of the same bytes on the backing filesystem.",
		noFloorCaption: noFloor,
		scenario:       "copyup", views: cacheViews(op),
		x: "size", xLabel: "file size", parseX: parseSize, formatX: formatSize,
		xLog: true, yLog: true,
	})
}

// Lookup is lookup latency of one operation against layer depth, cold
// and warm dentry cache, with the backing filesystem as a flat floor.
func Lookup(s *dataset.Set, op string) (*Figure, error) {
	return lineFigure(s, lineSpec{
		name:  "lookup-" + op,
		title: "Lookup: " + op + " latency by image depth",
		caption: "Median latency of " + op + " through the merged view, by the number of image layers " +
			"(log-log), with cold and warm dentry and inode caches. Bars span the 5th to 95th percentile.",
		floorCaption:   " The dashed black line is the same operation on the backing filesystem directly.",
		noFloorCaption: " The floor (the same operation on the backing filesystem) was not measured.",
		scenario:       "lookup", views: cacheViews(op),
		x: "depth", xLabel: "image depth (layers)", parseX: parseInt, formatX: formatInt,
		xLog: true, yLog: true,
	})
}

// Mount is mount and unmount time against image depth.
func Mount(s *dataset.Set) (*Figure, error) {
	return lineFigure(s, lineSpec{
		name:  "mount",
		title: "Mount and unmount time by image depth",
		caption: "Median time to mount and to unmount a container, by the number of image layers (log-log). " +
			"Bars span the 5th to 95th percentile. vfs mounts nothing and is not timed (where older results timed it, its time is the driver's bookkeeping).",
		floorCaption:   " The dashed black line is the floor: a bind mount of a plain directory on the backing filesystem, and its unmount.",
		noFloorCaption: " The floor (a bind mount of a plain directory) was not measured.",
		scenario:       "mount",
		views:          []view{{"mount", "mount", nil}, {"unmount", "unmount", nil}},
		x:              "depth", xLabel: "image depth (layers)", parseX: parseInt, formatX: formatInt,
		xLog: true, yLog: true,
	})
}

// PageCache is page cache held per container against the number of
// containers reading the same lower file.
func PageCache(s *dataset.Set) (*Figure, error) {
	return lineFigure(s, lineSpec{
		name:  "pagecache",
		title: "Page cache per container by number of containers",
		caption: "Page cache held per container after N containers read the same file of the image " +
			"(median, bars span the 5th to 95th percentile; x is log). A driver that shares the lower " +
			"file's pages falls as 1/N; one that copies stays flat.",
		floorCaption: " The dashed black line is the floor: one copy of the file read N times.",
		scenario:     "pagecache",
		views:        []view{{"", "cache-bytes-per-container", nil}},
		x:            "containers", xLabel: "containers", parseX: parseInt, formatX: formatInt,
		xLog: true, yLog: false,
	})
}

// imageLabel names an inodes case on two lines, "10 layers" over
// "1000 dirs × 20 files", so neighbouring labels do not run together.
func imageLabel(m *dataset.Measurement) string {
	var s string
	for i, p := range m.Params {
		switch {
		case i == 1:
			s += "\n"
		case i > 1:
			s += " × "
		}
		s += p.Value + " " + p.Key
	}
	return s
}
