package stats

import (
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
	"gonum.org/v1/gonum/stat/distuv"
)

// Detectable is the minimum detectable effect of a pair of sample sets:
// the smallest relative change of the median, up (slower, bigger) and
// down, that the Mann-Whitney U test at a given level would have called
// significant with these sample sizes and spreads. +Inf when no change
// could be (too few samples: 4+4 never reach p<0.05), or when the samples
// are not all positive (the shift below is a scaling).
type Detectable struct {
	Up, Down float64
}

// Toward is the minimum detectable effect in the direction of delta (Up
// for delta >= 0).
func (d Detectable) Toward(delta float64) float64 {
	if delta < 0 {
		return d.Down
	}
	return d.Up
}

// Max is the larger of d and e in each direction: what limits a pair
// that two sets, or two tests, each limit.
func (d Detectable) Max(e Detectable) Detectable {
	return Detectable{Up: max(d.Up, e.Up), Down: max(d.Down, e.Down)}
}

// Worst is the larger of the two directions.
func (d Detectable) Worst() float64 { return max(d.Up, d.Down) }

// Power is the probability with which a change of the minimum detectable
// effect is found: compare prints, and the benchmarks count by, the
// change a pair detects nine times in ten (the classical MDE), not the
// edge of significance (Critical), which a change of exactly that size
// crosses only half of the time.
const Power = 0.9

// AtPower turns a critical effect (the smallest change that reaches the
// level at all: MinDetectable, PassChange.Detectable) into the change
// found with probability power, by the normal approximation on the log
// scale: a critical effect c is z*SE with z the level's two-sided
// quantile, and the change found with probability power is
// (z+z_power)*SE. +Inf stays +Inf.
func (d Detectable) AtPower(level, power float64) Detectable {
	z := distuv.UnitNormal.Quantile(1 - level/2)
	k := (z + distuv.UnitNormal.Quantile(power)) / z
	out := Detectable{Up: math.Expm1(k * math.Log1p(d.Up)), Down: -math.Expm1(k * math.Log1p(-d.Down))}
	// No change could be significant at all: none is found at any power
	// (and the scaling above has no logarithm of an effect of 100% down).
	if math.IsInf(d.Up, 1) {
		out.Up = math.Inf(1)
	}
	if math.IsInf(d.Down, 1) || d.Down >= 1 {
		out.Down = math.Inf(1)
	}
	return out
}

// mdeTolerance is how closely the bisection pins the effect: 0.1% of the
// median, far below any threshold compare uses.
const mdeTolerance = 0.001

// MinDetectable finds the minimum detectable effect of old and new at
// p-value level (see Detectable) by bisection on scaled samples: each
// side's samples are U-tested against themselves scaled by 1+d (or 1-d),
// and the smallest d whose p-value reaches level is that side's effect;
// the pair's is the larger of the two sides', as the noisier or smaller
// set limits what the pair can show. Testing a set against itself keeps
// out whatever difference the pair happens to have, so the effect
// depends only on the sample counts and spreads, never on the change
// being judged. Scaling only moves samples up (or down), so the p-value
// falls monotonically with d and bisection pins d to mdeTolerance.
func MinDetectable(old, new []float64, level float64) Detectable {
	o := selfDetectable(old, level)
	if len(old) == len(new) && (len(old) == 0 || &old[0] == &new[0]) {
		return o // one set against another run like it (the report's MDE)
	}
	return o.Max(selfDetectable(new, level))
}

func selfDetectable(s []float64, level float64) Detectable {
	if len(s) == 0 || slices.Min(s) <= 0 {
		return Detectable{math.Inf(1), math.Inf(1)}
	}
	base := benchmath.NewSample(slices.Clone(s), &benchmath.DefaultThresholds)
	scaled := make([]float64, len(s))
	reaches := func(factor float64) bool {
		for i, v := range s {
			scaled[i] = v * factor
		}
		sn := benchmath.NewSample(scaled, &benchmath.DefaultThresholds)
		return benchmath.AssumeNothing.Compare(base, sn).P <= level
	}
	// The largest shifts worth trying put every scaled sample beyond
	// every unscaled one: the most separated two sets can be.
	spread := slices.Max(s) / slices.Min(s)
	return Detectable{
		Up:   bisect(func(d float64) bool { return reaches(1 + d) }, 2*spread-1),
		Down: bisect(func(d float64) bool { return reaches(1 - d) }, 1-0.5/spread),
	}
}

// bisect is the smallest d in (0, top] for which ok holds, ok being
// monotone; +Inf when ok(top) does not hold.
func bisect(ok func(float64) bool, top float64) float64 {
	if top <= 0 || !ok(top) {
		return math.Inf(1)
	}
	lo, hi := 0.0, top
	for hi-lo > mdeTolerance {
		mid := (lo + hi) / 2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}
