// Package stats summarises unionbench sample sets the way benchstat does:
// the median with a distribution-free 95% confidence interval
// (golang.org/x/perf/benchmath), percentiles, the median absolute
// deviation and Tukey outliers (github.com/montanaflynn/stats), and the
// Mann-Whitney U test between two sample sets, the Benjamini-Hochberg
// false discovery rate over a family of those tests (BenjaminiHochberg),
// and the minimum detectable effect of a pair of sample sets
// (MinDetectable: the smallest scaling of a set's own samples that the U
// test at the family's level calls significant, found by bisection,
// carried to 90% power by AtPower), and the t test of the medians of a
// measurement's passes (ComparePasses, with gonum's t distribution). It is
// the only package of unionbench that imports those libraries: tests,
// benchmarks and the command take their medians and percentiles from
// here, so every figure of a measurement is computed one way.
//
// It never averages samples: latencies on a shared host are skewed and
// heavy tailed, so a mean says little and a standard deviation less. (The
// pass test averages the logarithms of a few pass medians, which are
// medians already.) It does not
// decide what counts as a regression either; package compare does, with a
// threshold on top of significance.
package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"

	mstats "github.com/montanaflynn/stats"
	"golang.org/x/perf/benchmath"
)

// Confidence is the level of every confidence interval in reports.
const Confidence = 0.95

// Summary describes one sample set.
type Summary struct {
	N      int
	Median float64
	// P5 and P95 are nearest-rank percentiles: always one of the samples,
	// so a person can find them in the raw data.
	P5, P95 float64
	// Lo and Hi bound the median at Level confidence; they are infinite
	// when there are too few samples for that (fewer than 6 at 95%).
	Lo, Hi float64
	Level  float64
	MAD    float64
	// Outliers counts samples beyond Tukey's inner fences.
	Outliers int
	// Warnings are benchmath's caveats (too few samples, ...).
	Warnings []string
}

// HasCI reports whether the confidence interval is finite.
func (s Summary) HasCI() bool { return !math.IsInf(s.Lo, 0) && !math.IsInf(s.Hi, 0) }

// Summarize summarises samples; an empty set gives the zero Summary.
func Summarize(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	s := Summary{N: len(samples)}
	// NewSample sorts in place: never hand it the caller's slice.
	sample := benchmath.NewSample(slices.Clone(samples), &benchmath.DefaultThresholds)
	sum := benchmath.AssumeNothing.Summary(sample, Confidence)
	s.Median, s.Lo, s.Hi, s.Level = sum.Center, sum.Lo, sum.Hi, sum.Confidence
	for _, w := range append(sample.Warnings, sum.Warnings...) {
		s.Warnings = append(s.Warnings, w.Error())
	}
	// The errors below only happen on empty input, excluded above.
	s.P5, _ = mstats.PercentileNearestRank(samples, 5)
	s.P95, _ = mstats.PercentileNearestRank(samples, 95)
	s.MAD, _ = mstats.MedianAbsoluteDeviation(samples)
	if len(samples) >= 4 { // quartiles need a few points to mean anything
		if o, err := mstats.QuartileOutliers(samples); err == nil {
			s.Outliers = len(o.Mild) + len(o.Extreme)
		}
	}
	return s
}

// Change is the comparison of two sample sets of the same measurement.
type Change struct {
	Old, New Summary
	// Delta is (new-old)/old of the medians; 0 when both are 0, +Inf when
	// only the old one is.
	Delta float64
	// P is the Mann-Whitney U p-value; Alpha the level it is tested at.
	P, Alpha float64
	// Exact is set when the samples are exact counts (inodes, bytes,
	// copies), as the caller says: there is no noise to test, any
	// difference of the medians is real.
	Exact       bool
	Significant bool
	Warnings    []string
}

// Compare tests whether new differs from old. exact says the samples are
// exact counts rather than noisy timings (results.Record.Exact): then the
// medians either differ or they do not, whatever the spread, as
// benchmath's exact assumption has it.
func Compare(old, new []float64, exact bool) Change {
	c := Change{Old: Summarize(old), New: Summarize(new), Alpha: benchmath.DefaultThresholds.CompareAlpha}
	switch {
	case c.Old.Median == c.New.Median:
		c.Delta = 0
	case c.Old.Median == 0:
		c.Delta = math.Inf(1)
	default:
		c.Delta = (c.New.Median - c.Old.Median) / math.Abs(c.Old.Median)
	}
	so := benchmath.NewSample(slices.Clone(old), &benchmath.DefaultThresholds)
	sn := benchmath.NewSample(slices.Clone(new), &benchmath.DefaultThresholds)
	if exact {
		c.Exact, c.P = true, 1
		if c.Old.Median != c.New.Median {
			c.P = 0
		}
		c.Significant = c.P == 0
		return c
	}
	cmp := benchmath.AssumeNothing.Compare(so, sn)
	c.P, c.Alpha = cmp.P, cmp.Alpha
	c.Significant = cmp.P < cmp.Alpha
	for _, w := range cmp.Warnings {
		c.Warnings = append(c.Warnings, w.Error())
	}
	return c
}

// String is the change as benchstat would print it: "+12.3% (p=0.008 n=5+5)".
func (c Change) String() string {
	if c.Exact {
		return fmt.Sprintf("%+.1f%% (exact)", 100*c.Delta)
	}
	return fmt.Sprintf("%+.1f%% (p=%.3f n=%d+%d)", 100*c.Delta, c.P, c.Old.N, c.New.N)
}

// ErrNoSamples is what the single-figure functions below return for an
// empty sample set: there is no figure to give, and 0 would read as one.
var ErrNoSamples = errors.New("stats: no samples")

// Median is the middle sample, or the mean of the middle two for an even
// count: what every table and test of unionbench reads as "the" figure of
// a measurement (Summarize adds its confidence interval).
func Median(samples []float64) (float64, error) {
	if len(samples) == 0 {
		return 0, ErrNoSamples
	}
	return mstats.Median(samples)
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100): always one
// of the samples, as Summary's P5 and P95 are.
func Percentile(samples []float64, p float64) (float64, error) {
	if len(samples) == 0 {
		return 0, ErrNoSamples
	}
	if p <= 0 || p > 100 || math.IsNaN(p) {
		return 0, fmt.Errorf("stats: percentile %v: want more than 0 and at most 100", p)
	}
	return mstats.PercentileNearestRank(samples, p)
}

// Spread is (max-min)/min: how far apart a few figures of the same thing
// are (the medians of repeated runs, say), relative to the smallest. 0 when
// they are all equal; +Inf when the smallest is 0 and another is not.
func Spread(values []float64) (float64, error) {
	if len(values) == 0 {
		return 0, ErrNoSamples
	}
	lo, hi := slices.Min(values), slices.Max(values)
	switch {
	case lo == hi:
		return 0, nil
	case lo == 0:
		return math.Inf(1), nil
	}
	return (hi - lo) / math.Abs(lo), nil
}
