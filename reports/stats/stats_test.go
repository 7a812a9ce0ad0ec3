package stats

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSummarize(t *testing.T) {
	in := []float64{9, 1, 8, 2, 7, 3, 6, 4, 5, 100}
	s := Summarize(in)
	assert.Equal(t, []float64{9, 1, 8, 2, 7, 3, 6, 4, 5, 100}, in, "the caller's samples are not reordered")
	assert.Equal(t, 10, s.N)
	assert.Equal(t, 5.5, s.Median)
	assert.Equal(t, 100.0, s.P95, "nearest rank: the 10th of 10")
	assert.Equal(t, 1.0, s.P5)
	assert.True(t, s.HasCI())
	assert.Less(t, s.Lo, s.Median)
	assert.Greater(t, s.Hi, s.Median)
	assert.GreaterOrEqual(t, s.Level, Confidence)
	assert.Equal(t, 1, s.Outliers, "100 is beyond the fences")
	assert.Equal(t, 2.5, s.MAD)

	few := Summarize([]float64{3, 1, 2})
	assert.Equal(t, 2.0, few.Median)
	assert.False(t, few.HasCI(), "3 samples give no 95%% interval")
	assert.NotEmpty(t, few.Warnings)
	assert.Equal(t, Summary{}, Summarize(nil))
}

func TestCompare(t *testing.T) {
	old := []float64{100, 101, 99, 102, 98, 100}
	slower := []float64{150, 152, 149, 151, 148, 150}
	c := Compare(old, slower, false)
	assert.True(t, c.Significant)
	assert.InDelta(t, 0.5, c.Delta, 1e-9)
	assert.Less(t, c.P, 0.05)
	assert.Contains(t, c.String(), "+50.0%")

	same := Compare(old, []float64{101, 99, 100, 100, 102, 98}, false)
	assert.False(t, same.Significant)
	assert.Zero(t, same.Delta)

	// Counts: no noise to test, any difference is real.
	exact := Compare([]float64{35, 35, 35}, []float64{36, 36, 36}, true)
	assert.True(t, exact.Exact)
	assert.True(t, exact.Significant)
	assert.False(t, Compare([]float64{35}, []float64{35}, true).Significant)
	// Exactness is what the caller says, not guessed from the values:
	// counts that vary are still exact, constant timings still noisy.
	varying := Compare([]float64{10, 12, 11}, []float64{20, 22, 21}, true)
	assert.True(t, varying.Exact)
	assert.True(t, varying.Significant)
	constant := Compare([]float64{35, 35}, []float64{36, 36}, false)
	assert.False(t, constant.Exact)
	assert.False(t, constant.Significant, "2+2 noisy samples cannot be significant")

	// Too few samples: the U test cannot reach p<0.05 with 3+3.
	assert.False(t, Compare([]float64{1, 2, 3}, []float64{10, 11, 12}, false).Significant)
	assert.True(t, math.IsInf(Compare([]float64{0, 0, 1}, []float64{5, 5, 6}, false).Delta, 1))
}

func TestMedianPercentileSpread(t *testing.T) {
	in := []float64{5, 1, 4, 2, 3, 100}
	m, err := Median(in)
	assert.NoError(t, err)
	assert.Equal(t, 3.5, m)
	assert.Equal(t, []float64{5, 1, 4, 2, 3, 100}, in, "the caller's samples are not reordered")
	p, err := Percentile(in, 50)
	assert.NoError(t, err)
	assert.Equal(t, 3.0, p, "nearest rank: one of the samples")
	p, err = Percentile(in, 99)
	assert.NoError(t, err)
	assert.Equal(t, 100.0, p)
	_, err = Percentile(in, 0)
	assert.ErrorContains(t, err, "percentile 0")

	sp, err := Spread([]float64{100, 110, 105})
	assert.NoError(t, err)
	assert.InDelta(t, 0.1, sp, 1e-12)
	sp, _ = Spread([]float64{7, 7})
	assert.Equal(t, 0.0, sp)
	sp, _ = Spread([]float64{0, 1})
	assert.True(t, math.IsInf(sp, 1))

	for _, f := range []func([]float64) (float64, error){Median, Spread, func(s []float64) (float64, error) { return Percentile(s, 50) }} {
		_, err := f(nil)
		assert.ErrorIs(t, err, ErrNoSamples)
	}
}
