package stats

import (
	"math"
	"slices"
)

// DefaultFDR is the false discovery rate compare controls by default: of
// the timing changes it calls significant, at most this fraction are
// expected to be chance.
//
// 1%, not the customary 5%: a CI job keys on compare's exit code, and at
// 5% a real 20% slowdown of one driver (25 true discoveries among 406
// gated timings) brought one false call of another driver along in one
// of two tries here (BenchmarkAA); at 1% neither did.
const DefaultFDR = 0.01

// FDR is the Benjamini-Hochberg procedure over a family of p-values at
// false discovery rate Q.
type FDR struct {
	Q float64
	// Tests is the size of the family (m).
	Tests int
	// Q-values, one per p-value in the order given: the smallest FDR at
	// which that test would be a discovery (R's p.adjust(p, "BH")).
	QValues []float64
	// Discoveries is how many tests have a q-value of at most Q (k).
	Discoveries int
	// Level is the per-test p-value a test of this family must reach to
	// count: Q*max(k,1)/m. Every discovery's p is at most Q*k/m; when
	// there are none, Q/m is what a single one would need. Minimum
	// detectable effects are computed at this level.
	Level float64
}

// BenjaminiHochberg adjusts the p-values of a family of tests so that
// calling every test with q-value <= q significant keeps the expected
// fraction of false discoveries at q or below (Benjamini & Hochberg 1995;
// valid for independent or positively dependent tests, which timings of
// one machine are). NaN p-values count as 1.
func BenjaminiHochberg(p []float64, q float64) FDR {
	m := len(p)
	f := FDR{Q: q, Tests: m, QValues: make([]float64, m), Level: q}
	if m == 0 {
		return f
	}
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	pv := func(i int) float64 {
		if math.IsNaN(p[i]) {
			return 1
		}
		return p[i]
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch pa, pb := pv(a), pv(b); {
		case pa < pb:
			return -1
		case pa > pb:
			return 1
		}
		return 0
	})
	// q_(i) = min over j >= i of m/j * p_(j), capped at 1: walk from the
	// largest p down, carrying the running minimum.
	run := 1.0
	for r := m; r >= 1; r-- {
		i := order[r-1]
		run = min(run, pv(i)*float64(m)/float64(r))
		f.QValues[i] = run
	}
	for _, qv := range f.QValues {
		if qv <= q {
			f.Discoveries++
		}
	}
	f.Level = q * float64(max(f.Discoveries, 1)) / float64(m)
	return f
}
