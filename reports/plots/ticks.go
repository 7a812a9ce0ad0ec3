package plots

import (
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"

	"github.com/unionbench/unionbench/reports/units"
)

// unitTicks labels the ticks of another ticker in a unit (1ms, 10ms;
// 4 KiB, 1 MiB) instead of gonum's plain numbers.
type unitTicks struct {
	base plot.Ticker
	unit string
}

func (t unitTicks) Ticks(min, max float64) []plot.Tick {
	ticks := t.base.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = units.Format(ticks[i].Value, t.unit)
		}
	}
	return ticks
}

// atValues puts one labelled tick at each x that was measured (sizes,
// depths, container counts), so a reader never interpolates a label.
func atValues(xs []float64, label func(float64) string) measuredTicks {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	xs = slices.Compact(xs)
	var t measuredTicks
	for _, x := range xs {
		t = append(t, plot.Tick{Value: x, Label: label(x)})
	}
	return t
}

// measuredTicks are the ticks of atValues: labels a figure may thin out
// where they would touch (fitXLabels), unlike the names of categories.
type measuredTicks []plot.Tick

func (t measuredTicks) Ticks(min, max float64) []plot.Tick { return slices.Clone(t) }

// axisTicker picks the y ticker for a unit and scale: times and sizes get
// their unit on every tick, other counts are plain numbers under an axis
// label that names them.
func axisTicker(unit string, log bool) plot.Ticker {
	var base plot.Ticker = plot.DefaultTicks{}
	if log {
		base = logTicks{}
	}
	if unit == "bytes" && !log {
		return binaryTicks{}
	}
	if unit != "ns" && unit != "bytes" {
		return base
	}
	return unitTicks{base, unit}
}

// padLog widens a log axis a little at both ends, so points on the edge
// are not cut by the frame.
func padLog(min, max float64) (float64, float64) {
	return min / math.Pow(10, 0.1), max * math.Pow(10, 0.1)
}

// unlabelled is another ticker's ticks without their labels: the x axis
// of a panel whose ratio plot below shows the labels.
type unlabelled struct{ plot.Ticker }

func (u unlabelled) Ticks(min, max float64) []plot.Tick {
	// A copy: ConstantTicks returns itself, shared with the ratio plot.
	ticks := slices.Clone(u.Ticker.Ticks(min, max))
	for i := range ticks {
		ticks[i].Label = ""
	}
	return ticks
}

// logTicks labels a log axis at round values: the coarsest of a few
// series of steps per decade that puts at least three labels on the axis,
// so a panel spanning six decades is labelled at decades and one of warm
// lookups spanning a factor of two still gets three labels. Unlabelled
// ticks mark each 1 to 9 of every decade, as gonum's LogTicks do.
type logTicks struct{}

// logSteps are the mantissas labelled per decade, coarsest first.
var logSteps = [][]float64{
	{1},
	{1, 2, 5},
	{1, 1.5, 2, 3, 5, 7},
	{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8},
	{1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9},
}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for _, steps := range logSteps {
		ticks = ticks[:0]
		for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
			for _, m := range steps {
				// Rounded to 6 digits: 3 × 0.1 is 0.30000000000000004.
				v, _ := strconv.ParseFloat(strconv.FormatFloat(m*math.Pow(10, e), 'g', 6, 64), 64)
				if v >= min && v <= max {
					ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
				}
			}
		}
		if len(ticks) >= 3 {
			break
		}
	}
	for _, t := range (plot.LogTicks{}).Ticks(min, max) {
		if !slices.ContainsFunc(ticks, func(l plot.Tick) bool { return math.Abs(l.Value-t.Value) < 1e-9*t.Value }) {
			ticks = append(ticks, plot.Tick{Value: t.Value})
		}
	}
	return ticks
}

// ratioTicks labels a ratio axis "0.5×", "1×", "2×", log scaled.
var ratioTicks = unitTicks{logTicks{}, "ratio"}

// binaryTicks puts linear byte ticks at round numbers of KiB, MiB or GiB
// (gonum's round decimal numbers of bytes read as 47.68 MiB).
type binaryTicks struct{}

func (binaryTicks) Ticks(min, max float64) []plot.Tick {
	scale := 1.0
	for _, s := range []float64{1 << 30, 1 << 20, 1 << 10} {
		if max >= 2*s {
			scale = s
			break
		}
	}
	ticks := plot.DefaultTicks{}.Ticks(min/scale, max/scale)
	for i := range ticks {
		ticks[i].Value *= scale
		if ticks[i].Label != "" {
			ticks[i].Label = units.Bytes(ticks[i].Value)
		}
	}
	return ticks
}
