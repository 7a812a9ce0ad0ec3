package scenarios

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
)

// ticker is a Preparer whose every sample is the next value of one
// counter shared by all its samplers: the order in which the runner
// sampled, which is what the interleaving tests look at. A case
// "spread=wild" alternates its samples between 1x and 100x, so no
// confidence interval ever narrows.
type ticker struct{ n, prepares *atomic.Int64 }

func (ticker) Name() string { return "ticker" }
func (ticker) Cases(Suite) []Case {
	return []Case{
		{Params: []results.Param{results.P("cache", "cold")}, Floor: true},
		{Params: []results.Param{results.P("depth", "1"), results.P("cache", "cold"), results.P("spread", "tight")}},
		{Params: []results.Param{results.P("depth", "2"), results.P("cache", "cold"), results.P("spread", "wild")}},
	}
}
func (t ticker) Measure(ctx context.Context, env *Env, c Case, n int) ([]Measurement, error) {
	return MeasureBySampling(ctx, t, env, c, n)
}
func (t ticker) Prepare(_ context.Context, env *Env, c Case) (Sampler, error) {
	if t.prepares != nil {
		t.prepares.Add(1)
	}
	m := Timing("op", 0)
	if !c.Floor {
		m.Floor = results.CaseKey("op", results.P("cache", "cold"))
	}
	return &tickSampler{n: t.n, wild: c.Get("spread") == "wild", floor: c.Floor, m: []Measurement{m}}, nil
}

type tickSampler struct {
	n           *atomic.Int64
	wild, floor bool
	m           []Measurement
}

func (s *tickSampler) Sample(context.Context) error {
	v := float64(s.n.Add(1))
	switch {
	case s.floor:
		v = 1000 + v // so ratios are near 1 and order shows in them
	case s.wild && len(s.m[0].Samples)%2 == 1:
		v *= 100
	case !s.wild:
		v = 1000 + v
	}
	s.m[0].Samples = append(s.m[0].Samples, v)
	return nil
}
func (s *tickSampler) Measurements() []Measurement { return s.m }
func (s *tickSampler) Close() error                { return nil }

func runTicker(t *testing.T, p *Plan) map[string]results.Record {
	t.Helper()
	got := map[string]results.Record{}
	for _, r := range runTickerAll(t, p, ticker{n: &atomic.Int64{}}) {
		got[r.Variant+" "+r.CaseKey()] = r
	}
	return got
}

// runTickerAll runs tk on vfs and overlay2 and returns every record in
// the order written.
func runTickerAll(t *testing.T, p *Plan, tk ticker) []results.Record {
	t.Helper()
	testenv.NeedRoot(t, "the runner builds drivers on a tmpfs")
	fs, err := backing.Create(t.TempDir(), backing.Spec{Kind: backing.Tmpfs, Size: 64 << 20})
	require.NoError(t, err)
	defer fs.Close()
	p.RunID, p.Scenarios, p.Suite, p.FS = "t", []Scenario{tk}, Quick, fs
	p.Variants = []drivers.Variant{{Driver: "vfs"}, {Driver: "overlay2"}}
	var got []results.Record
	_, err = Run(context.Background(), p, func(r *results.Record) error {
		require.NoError(t, r.Validate())
		got = append(got, *r)
		return nil
	}, nil)
	require.NoError(t, err)
	return got
}

func TestInterleavedRounds(t *testing.T) {
	got := runTicker(t, &Plan{Count: 20, Seed: 7})
	floor := got["floor op/cache=cold"]
	vfs := got["vfs op/depth=1/cache=cold/spread=tight"]
	ovl := got["overlay2 op/depth=1/cache=cold/spread=tight"]
	require.Equal(t, results.OK, vfs.Status, "%+v", vfs)
	require.Equal(t, results.OK, ovl.Status, "%+v", ovl)
	assert.Len(t, vfs.Samples, 20)
	assert.Equal(t, results.StopCount, vfs.Stopped)
	assert.Equal(t, results.StopWithDrivers, floor.Stopped)
	assert.Len(t, floor.Samples, 40, "the floor is sampled in every round of both its families")
	assert.Equal(t, vfs.Rounds, ovl.Rounds, "one sample each per round")
	assert.Subset(t, floor.Rounds, vfs.Rounds)

	// Within a round the three samples are adjacent ticks, and which
	// comes first changes from round to round.
	at := func(r results.Record, round int) float64 { return r.Samples[slices.Index(r.Rounds, round)] }
	firsts := map[string]int{}
	for _, rd := range vfs.Rounds {
		f, v, o := at(floor, rd), at(vfs, rd), at(ovl, rd)
		assert.InDelta(t, 0, max(f, v, o)-min(f, v, o), 2, "round %d: %v %v %v", rd, f, v, o)
		switch min(f, v, o) {
		case f:
			firsts["floor"]++
		case v:
			firsts["vfs"]++
		default:
			firsts["overlay2"]++
		}
	}
	assert.Len(t, firsts, 3, "each goes first in some round: %v", firsts)

	ratio := got["vfs op-vs-floor/depth=1/cache=cold/spread=tight"]
	require.Equal(t, results.OK, ratio.Status, "%+v", ratio)
	assert.Equal(t, results.FloorRatioUnit, ratio.Unit)
	assert.Equal(t, results.Lower, ratio.Better)
	assert.False(t, ratio.Exact)
	assert.Empty(t, ratio.Floor)
	assert.Equal(t, vfs.Rounds, ratio.Rounds)
	for i, rd := range ratio.Rounds {
		assert.InDelta(t, at(vfs, rd)/at(floor, rd), ratio.Samples[i], 1e-12)
	}
}

func TestTargetCIStopsByTheData(t *testing.T) {
	got := runTicker(t, &Plan{Count: 6, TargetCI: 0.05, Budget: 200 * time.Millisecond, MaxSamples: 400})
	tight := got["vfs op/depth=1/cache=cold/spread=tight"]
	wild := got["vfs op/depth=2/cache=cold/spread=wild"]
	assert.Equal(t, results.StopTargetCI, tight.Stopped, "%d samples", len(tight.Samples))
	assert.GreaterOrEqual(t, len(tight.Samples), 6, "Count is the least")
	assert.Contains(t, []results.Stop{results.StopBudget, results.StopMax}, wild.Stopped)
	assert.Greater(t, len(wild.Samples), len(tight.Samples), "a wide spread keeps sampling")
}

// Passes: every case is prepared afresh and sampled once a pass, a pass
// of all the cases after the other, Count shared out among them; each
// pass writes its own records, numbered, with rounds counted over the
// whole run.
func TestPassesSpreadOverTheRun(t *testing.T) {
	tk := ticker{n: &atomic.Int64{}, prepares: &atomic.Int64{}}
	recs := runTickerAll(t, &Plan{Count: 6, Passes: 3, Seed: 7}, tk)
	type span struct{ lo, hi float64 }
	ticks := map[int]*span{} // the ticks of each pass's tight samples
	perKey := map[string][]int{}
	var vfsRounds []int
	for _, r := range recs {
		require.Equal(t, results.OK, r.Status, "%+v", r)
		k := r.Variant + " " + r.CaseKey()
		perKey[k] = append(perKey[k], r.Pass)
		if r.Unit != "ns" || !strings.Contains(k, "spread=tight") {
			continue
		}
		assert.Len(t, r.Samples, 2, "%s pass %d: ceil(6/3) samples", k, r.Pass)
		if r.Variant == "vfs" {
			vfsRounds = append(vfsRounds, r.Rounds...)
		}
		for _, v := range r.Samples {
			sp := ticks[r.Pass]
			if sp == nil {
				sp = &span{v, v}
				ticks[r.Pass] = sp
			}
			sp.lo, sp.hi = min(sp.lo, v), max(sp.hi, v)
		}
	}
	for k, passes := range perKey {
		assert.Equal(t, []int{1, 2, 3}, passes, "%s: one record a pass, in order", k)
	}
	assert.True(t, slices.IsSorted(vfsRounds) && len(slices.Compact(slices.Clone(vfsRounds))) == len(vfsRounds),
		"rounds go on counting across passes: %v", vfsRounds)
	require.Len(t, ticks, 3)
	assert.Less(t, ticks[1].hi, ticks[2].lo, "pass 2 starts after every case's pass 1")
	assert.Less(t, ticks[2].hi, ticks[3].lo)
	// The floor and two cases on each of two variants: five samplers a
	// pass, each prepared anew every pass.
	assert.Equal(t, int64(3*5), tk.prepares.Load())
}
