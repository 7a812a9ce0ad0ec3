package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// passedRun draws one run of a measurement taken in passes: each pass
// has its own offset (the state of its mount, the machine of its stretch
// of time), drawn with spread between, and n samples of spread within
// around it.
func passedRun(r *rand.Rand, passes, n int, med, between, within float64) (pooled []float64, byPass [][]float64) {
	for range passes {
		pm := med * math.Exp(between*r.NormFloat64())
		s := lognormal(r, n, pm, within)
		byPass = append(byPass, s)
		pooled = append(pooled, s...)
	}
	return pooled, byPass
}

// The reason for passes: when the figure moves between mounts and
// moments more than within one burst, the U test on pooled samples calls
// most identical pairs of runs different; the pass test does not, so the
// larger of the two p-values keeps the false positive rate at the level.
func TestPassTestKeepsRandomEffectsFromCryingWolf(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 5))
	const pairs, level = 400, 0.05
	uHits, combinedHits := 0, 0
	for range pairs {
		b, bp := passedRun(r, 3, 100, 1000, 0.10, 0.05)
		n, np := passedRun(r, 3, 100, 1000, 0.10, 0.05)
		u := Compare(b, n, false).P
		pc, ok := ComparePasses(bp, np)
		require.True(t, ok)
		if u <= level {
			uHits++
		}
		if max(u, pc.P) <= level {
			combinedHits++
		}
	}
	assert.Greater(t, float64(uHits)/pairs, 0.5, "the U test alone takes the passes' scatter for changes")
	// Binomial(400, 0.05) has a standard deviation of 0.011.
	assert.LessOrEqual(t, float64(combinedHits)/pairs, level+0.035, "with the pass test")
}

// A real change is still found when the passes agree with each other.
func TestPassTestFindsRealChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 6))
	found := 0
	const pairs = 200
	for range pairs {
		b, bp := passedRun(r, 3, 100, 1000, 0.02, 0.1)
		n, np := passedRun(r, 3, 100, 1200, 0.02, 0.1)
		pc, ok := ComparePasses(bp, np)
		require.True(t, ok)
		if max(Compare(b, n, false).P, pc.P) <= 0.01 {
			found++
		}
	}
	assert.Greater(t, float64(found)/pairs, 0.9, "a 20%% change with passes 2%% apart, at p<=0.01")
}

func TestPassDetectableShrinksWithPasses(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 7))
	last := math.Inf(1)
	for _, passes := range []int{2, 3, 5, 10} {
		// The mean of many draws, so the trend is the pass count's, not
		// one draw's luck.
		sum := 0.0
		for range 50 {
			_, bp := passedRun(r, passes, 20, 1000, 0.05, 0.05)
			_, np := passedRun(r, passes, 20, 1000, 0.05, 0.05)
			pc, ok := ComparePasses(bp, np)
			require.True(t, ok)
			d := pc.Detectable(0.01)
			assert.InDelta(t, d.Up/(1+d.Up), d.Down, 1e-9, "up and down are one factor")
			sum += d.Up
		}
		t.Logf("%d passes: MDE up %.1f%%", passes, 2*sum)
		assert.Less(t, sum/50, last, "%d passes", passes)
		last = sum / 50
	}

	// The edge: a NEW whose every pass is BASE's scaled by 1+MDE is
	// significant at the level, a little less is not.
	_, bp := passedRun(r, 4, 30, 1000, 0.05, 0.05)
	_, np := passedRun(r, 4, 30, 1000, 0.05, 0.05)
	pc, _ := ComparePasses(bp, np)
	d := pc.Detectable(0.01)
	scaled := func(f float64) [][]float64 {
		out := make([][]float64, len(np))
		for i, s := range np {
			for _, v := range s {
				out[i] = append(out[i], v*f)
			}
		}
		return out
	}
	// np shifted so its mean log median sits on BASE's, then by the MDE.
	mb, mn := meanLog(PassMedians(bp)), meanLog(PassMedians(np))
	at := func(f float64) float64 {
		c, _ := ComparePasses(bp, scaled(math.Exp(mb-mn)*f))
		return c.P
	}
	assert.InDelta(t, 0.01, at(1+d.Up), 1e-6)
	assert.Greater(t, at(1+0.95*d.Up), 0.01)
	assert.InDelta(t, 0.01, at(1-d.Down), 1e-6)
}

func TestComparePassesNeedsTwoPositivePasses(t *testing.T) {
	_, ok := ComparePasses([][]float64{{1, 2, 3}}, [][]float64{{1, 2}, {3}})
	assert.False(t, ok, "one pass on a side")
	_, ok = ComparePasses([][]float64{{0, 0}, {1}}, [][]float64{{1, 2}, {3}})
	assert.False(t, ok, "a median of 0 has no logarithm")
	c, ok := ComparePasses([][]float64{{5}, {5}, nil}, [][]float64{{6}, {6}})
	require.True(t, ok, "empty passes are left out")
	assert.Equal(t, [2]int{2, 2}, c.Passes)
	assert.Zero(t, c.P, "passes that agree exactly, and sides that differ")
	c, _ = ComparePasses([][]float64{{5}, {5}}, [][]float64{{5}, {5}})
	assert.Equal(t, 1.0, c.P)
}

func meanLog(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += math.Log(x)
	}
	return s / float64(len(v))
}

// Moderation: in a family whose measurements all move 8% between passes,
// the ones whose three passes happened to agree no longer test
// significant by that luck, while keeping the t test's level; and in a
// steady family a real change is found more often, as each test borrows
// degrees of freedom.
func TestModerateSteadiesLuckyVariances(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 9))
	family := func(between float64, shift float64) (raw, moderated []PassChange) {
		var ptrs []*PassChange
		for range 60 {
			_, bp := passedRun(r, 3, 50, 1000, between, 0.05)
			_, np := passedRun(r, 3, 50, 1000*(1+shift), between, 0.05)
			c, ok := ComparePasses(bp, np)
			require.True(t, ok)
			raw = append(raw, c)
			cc := c
			ptrs = append(ptrs, &cc)
		}
		Moderate(ptrs, 4)
		for _, c := range ptrs {
			moderated = append(moderated, *c)
		}
		return raw, moderated
	}
	share := func(cs []PassChange, level float64) float64 {
		n := 0
		for _, c := range cs {
			if c.P <= level {
				n++
			}
		}
		return float64(n) / float64(len(cs))
	}
	var nullRaw, nullMod, realRaw, realMod float64
	const families = 20
	for range families {
		raw, mod := family(0.08, 0)
		nullRaw += share(raw, 0.01) / families
		nullMod += share(mod, 0.01) / families
		for _, c := range mod {
			assert.Equal(t, 8, c.DF, "4 of its own and 4 borrowed")
			assert.Equal(t, 4, c.Prior)
		}
		raw, mod = family(0.02, 0.1)
		realRaw += share(raw, 0.001) / families
		realMod += share(mod, 0.001) / families
	}
	t.Logf("A/A at p<=0.01: %.3f raw, %.3f moderated; a 10%% change at p<=0.001: %.2f raw, %.2f moderated", nullRaw, nullMod, realRaw, realMod)
	assert.LessOrEqual(t, nullMod, 0.01+0.01, "moderated tests keep their level")
	assert.Greater(t, realMod, realRaw+0.1, "and find more")
	Moderate(nil, 4) // nothing to do
	one := []*PassChange{{Var: 1, DF: 4, Passes: [2]int{3, 3}}}
	Moderate(one, 4)
	assert.Zero(t, one[0].Prior, "too few to say what is typical")
}
