package stats

import (
	"math"

	mstats "github.com/montanaflynn/stats"
	"gonum.org/v1/gonum/stat/distuv"
)

// PassChange is the test of a measurement's pass medians: each run took
// its samples in several passes (results.Record.Pass), each on fresh
// mounts minutes apart, so the medians of the passes scatter by what
// moves a figure between two runs (the state of one mount, the machine
// of one stretch of time), which the samples of one burst do not show.
//
// Method: the two-sample t test with pooled variance on the logarithms
// of the pass medians (the pass is the unit of replication; the log
// makes a change a ratio and a spread relative), df = Pb+Pn-2. The U
// test on the pooled samples would call every such scatter a change:
// with hundreds of samples its p-value is tiny whatever the passes say.
type PassChange struct {
	// Passes are how many passes each side has (BASE, NEW).
	Passes [2]int
	// P is the t test's two-sided p-value.
	P float64
	// SE is the standard error of the difference of the mean log pass
	// medians: the spread of the passes, carried into the pair.
	SE float64
	DF int
	// Diff is the difference of the mean log pass medians (NEW - BASE),
	// Var the pooled variance of the log pass medians it was tested with.
	Diff, Var float64
	// Prior, when above 0, is the degrees of freedom Moderate lent Var
	// from its family's typical pass variance.
	Prior int
}

// PassMedians are the medians of each pass's samples (empty passes left
// out).
func PassMedians(passes [][]float64) []float64 {
	var out []float64
	for _, s := range passes {
		if len(s) > 0 {
			m, _ := mstats.Median(s)
			out = append(out, m)
		}
	}
	return out
}

// ComparePasses tests the pass medians of base and new; ok is false when
// either side has fewer than two passes or a median that is not
// positive (no logarithm), and the pair is then judged on its samples
// alone.
func ComparePasses(base, new [][]float64) (c PassChange, ok bool) {
	b, n := logs(PassMedians(base)), logs(PassMedians(new))
	if len(b) < 2 || len(n) < 2 {
		return c, false
	}
	c.Passes, c.DF = [2]int{len(b), len(n)}, len(b)+len(n)-2
	vb, _ := mstats.SampleVariance(b)
	vn, _ := mstats.SampleVariance(n)
	pooled := ((float64(len(b))-1)*vb + (float64(len(n))-1)*vn) / float64(c.DF)
	c.SE = math.Sqrt(pooled * (1/float64(len(b)) + 1/float64(len(n))))
	mb, _ := mstats.Mean(b)
	mn, _ := mstats.Mean(n)
	c.Diff, c.Var = mn-mb, pooled
	c.test()
	return c, true
}

// test sets P from Diff, SE and DF.
func (c *PassChange) test() {
	switch {
	case c.Diff == 0:
		c.P = 1
	case c.SE == 0:
		c.P = 0 // every pass agrees within its side, and the sides differ
	default:
		t := math.Abs(c.Diff) / c.SE
		c.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(c.DF)}.Survival(t)
	}
}

// Moderate shrinks the pass variance of each change of a family toward
// the family's typical one (the median of their variances), lending each
// prior degrees of freedom, and tests them again: the moderated t test of
// Smyth (2004, limma). Three passes a side give a variance of 4 degrees
// of freedom, which is often far too small by luck (a measurement whose
// passes happened to agree), and then a change of mount or moment
// between two runs tests significant; a family of measurements of one
// kind (one driver, scenario and cache state) moves between passes by
// about as much, and borrowing from it steadies each estimate. Changes
// with Var 0 in a family whose median is 0 are left as they are.
func Moderate(family []*PassChange, prior int) {
	var vars []float64
	for _, c := range family {
		vars = append(vars, c.Var)
	}
	if len(vars) < 3 || prior <= 0 {
		return // too few to say what is typical
	}
	typical, _ := mstats.Median(vars)
	for _, c := range family {
		if c.DF < 1 {
			continue
		}
		n := 1/float64(c.Passes[0]) + 1/float64(c.Passes[1])
		v := (float64(prior)*typical + float64(c.DF)*c.Var) / float64(prior+c.DF)
		c.Var, c.SE, c.DF, c.Prior = v, math.Sqrt(v*n), c.DF+prior, prior
		c.test()
	}
}

// Detectable is the smallest change of the median the pass test calls
// significant at level (the critical effect): exp(t*SE)-1 up and
// 1-exp(-t*SE) down, t the two-sided critical value of Student's t with
// DF degrees of freedom.
func (c PassChange) Detectable(level float64) Detectable { return c.detectable(level, 0.5) }

// DetectableAt is the change the pass test finds with probability power
// at level: t grows by the power's quantile of the same t distribution
// (the textbook MDE, (t_level + t_power)*SE).
func (c PassChange) DetectableAt(level, power float64) Detectable { return c.detectable(level, power) }

func (c PassChange) detectable(level, power float64) Detectable {
	if c.DF < 1 || !(level > 0 && level < 1) {
		return Detectable{math.Inf(1), math.Inf(1)}
	}
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(c.DF)}
	t := dist.Quantile(1-level/2) + dist.Quantile(power)
	return Detectable{Up: math.Expm1(t * c.SE), Down: -math.Expm1(-t * c.SE)}
}

func logs(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !(x > 0) {
			return nil
		}
		out = append(out, math.Log(x))
	}
	return out
}
