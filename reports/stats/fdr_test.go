package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBenjaminiHochbergKnownValues(t *testing.T) {
	// R: p.adjust(c(0.041, 0.001, 0.06, 0.039, 0.205, 0.008, 0.042, 0.074), "BH")
	p := []float64{0.041, 0.001, 0.06, 0.039, 0.205, 0.008, 0.042, 0.074}
	want := []float64{0.0672, 0.008, 0.08, 0.0672, 0.205, 0.032, 0.0672, 0.0845714}
	f := BenjaminiHochberg(p, 0.05)
	require.Len(t, f.QValues, len(p))
	for i := range want {
		assert.InDelta(t, want[i], f.QValues[i], 1e-6, "q-value %d", i)
	}
	assert.Equal(t, 2, f.Discoveries)
	assert.InDelta(t, 0.05*2/8, f.Level, 1e-12)
	assert.Equal(t, []float64{0.041, 0.001, 0.06, 0.039, 0.205, 0.008, 0.042, 0.074}, p, "the caller's p-values stay in order")

	none := BenjaminiHochberg([]float64{0.5, 0.2, math.NaN()}, 0.05)
	assert.Zero(t, none.Discoveries)
	assert.InDelta(t, 0.05/3, none.Level, 1e-12, "with no discovery, the level one would need")
	assert.Equal(t, 1.0, none.QValues[2], "NaN counts as 1")
	assert.Zero(t, BenjaminiHochberg(nil, 0.05).Tests)
}

// lognormal draws n samples of a skewed timing with median med.
func lognormal(r *rand.Rand, n int, med, sigma float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = med * math.Exp(sigma*r.NormFloat64())
	}
	return out
}

// family U-tests m pairs, the first shifted of them with NEW's median
// moved by shift, the rest drawn from one distribution, and returns
// the p-values.
func family(r *rand.Rand, m, shifted, n int, shift float64) []float64 {
	p := make([]float64, m)
	for i := range p {
		newMed := 1000.0
		if i < shifted {
			newMed *= 1 + shift
		}
		p[i] = Compare(lognormal(r, n, 1000, 0.3), lognormal(r, n, newMed, 0.3), false).P
	}
	return p
}

// On data with no change at all, Benjamini-Hochberg's FDR is the chance of
// any discovery: at most Q of the families may have one, where testing
// each at p<0.05 flags about 5% of all tests (which is what compare did).
func TestFDRKeepsNullFamiliesClean(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 1))
	const families, m = 200, 50
	withAny, rawHits := 0, 0
	for range families {
		p := family(r, m, 0, 10, 0)
		if BenjaminiHochberg(p, DefaultFDR).Discoveries > 0 {
			withAny++
		}
		for _, v := range p {
			if v < 0.05 {
				rawHits++
			}
		}
	}
	// Binomial(200, 0.05) has a standard deviation of 0.015.
	assert.LessOrEqual(t, float64(withAny)/families, DefaultFDR+0.035, "families with a false discovery")
	assert.Greater(t, float64(rawHits)/(families*m), 0.03, "uncorrected tests cry wolf: the test above has teeth")
}

// With real changes among the tests, the false share of the discoveries
// stays at Q on average, and the real changes are found.
func TestFDRControlsFalseShareWithRealChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 2))
	const families, m, shifted = 200, 50, 10
	fdp, power := 0.0, 0.0
	const level = 0.05
	for range families {
		p := family(r, m, shifted, 20, 0.5)
		f := BenjaminiHochberg(p, level)
		falses, trues := 0, 0
		for i, q := range f.QValues {
			switch {
			case q > level:
			case i < shifted:
				trues++
			default:
				falses++
			}
		}
		if f.Discoveries > 0 {
			fdp += float64(falses) / float64(f.Discoveries)
		}
		power += float64(trues) / shifted
	}
	assert.LessOrEqual(t, fdp/families, level+0.02, "mean false discovery proportion")
	assert.Greater(t, power/families, 0.8, "a 50% shift with 20+20 samples is found")
}

func TestMinDetectableShrinksWithSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 3))
	var last float64 = math.Inf(1)
	for _, n := range []int{10, 40, 160, 640} {
		d := MinDetectable(lognormal(r, n, 1000, 0.3), lognormal(r, n, 1000, 0.3), 0.05)
		t.Logf("n=%d: up %.1f%% down %.1f%%", n, 100*d.Up, 100*d.Down)
		assert.Less(t, d.Up, last, "n=%d", n)
		assert.Greater(t, d.Down, 0.0)
		assert.InDelta(t, d.Up/(1+d.Up), d.Down, 2*mdeTolerance, "up and down are one factor")
		last = d.Up
	}
	assert.Less(t, last, 0.1, "640+640 samples of a 30%% spread see a 10%% change")

	// Too few samples: no change at all could be significant.
	few := MinDetectable([]float64{1, 2, 3}, []float64{1, 2, 3}, 0.05)
	assert.True(t, math.IsInf(few.Up, 1) && math.IsInf(few.Down, 1))
	// A stricter level needs a bigger change.
	old, new := lognormal(r, 40, 1000, 0.3), lognormal(r, 40, 1000, 0.3)
	assert.Greater(t, MinDetectable(old, new, 0.001).Up, MinDetectable(old, new, 0.05).Up)
	assert.True(t, math.IsInf(MinDetectable([]float64{0, 1, 2}, []float64{1, 2, 3}, 0.05).Up, 1), "scaling needs positive samples")
}

// The effect found is the one the U test sees: the limiting side scaled
// by exactly the minimum detectable effect is significant against itself,
// a little less is not.
func TestMinDetectableIsTheEdge(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 4))
	old, new := lognormal(r, 30, 1000, 0.2), lognormal(r, 20, 1000, 0.2)
	d := MinDetectable(old, new, 0.01)
	at := func(f float64) float64 {
		s := make([]float64, len(new))
		for i, v := range new {
			s[i] = v * f
		}
		return Compare(new, s, false).P
	}
	assert.LessOrEqual(t, at(1+d.Up), 0.01, "the smaller set limits the pair")
	assert.Greater(t, at(1+d.Up-2*mdeTolerance), 0.01)
	assert.LessOrEqual(t, at(1-d.Down), 0.01)
	assert.Greater(t, at(1-d.Down+2*mdeTolerance), 0.01)
	assert.Equal(t, d, MinDetectable(new, old, 0.01), "symmetric in its two sides")
}

// The MDE is the change found nine times in ten: draws whose median is
// moved by exactly AtPower's effect test significant at the level in
// about 90% of pairs, those moved by the critical effect in about half.
func TestAtPowerFindsItsEffectNineTimesInTen(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 8))
	const level, pairs = 0.01, 400
	crit := MinDetectable(lognormal(r, 60, 1000, 0.2), lognormal(r, 60, 1000, 0.2), level)
	mde := crit.AtPower(level, Power)
	t.Logf("critical +%.1f%%, MDE at %.0f%% power +%.1f%%", 100*crit.Up, 100*Power, 100*mde.Up)
	require.Greater(t, mde.Up, crit.Up)
	found := func(shift float64) float64 {
		hits := 0
		for range pairs {
			if Compare(lognormal(r, 60, 1000, 0.2), lognormal(r, 60, 1000*(1+shift), 0.2), false).P <= level {
				hits++
			}
		}
		return float64(hits) / pairs
	}
	assert.InDelta(t, Power, found(mde.Up), 0.07, "at the MDE")
	assert.InDelta(t, 0.5, found(crit.Up), 0.12, "at the critical effect")
	none := Detectable{math.Inf(1), math.Inf(1)}.AtPower(level, Power)
	assert.True(t, math.IsInf(none.Up, 1) && math.IsInf(none.Down, 1), "%+v", none)
}
