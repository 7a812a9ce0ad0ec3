package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
)

// DefaultTargetCI is `unionbench run`'s target: the 95% CI of each
// timing's median within ±5% of it.
const DefaultTargetCI = 0.05

// DefaultBudget is the sampling time of one case of one variant under
// Plan.TargetCI (the quick suite's; the full suite's is three times it),
// shared among the passes: a cold copy-up of 64 MiB gets only Count
// samples in it, a warm stat (a round of four 0.5 ms batches) a hundred
// or more. About 240 member-passes of the quick suite (of 120
// interleaved cases with four drivers) spend their whole budget, mostly
// copy-ups that no sample count brings within the target; the others
// stop at the target. At 500 ms a quick run took 2m05-2m18 here, at
// 350 ms 1m55-2m06, beyond the two minutes the quick suite has.
const DefaultBudget = 250 * time.Millisecond

// DefaultMaxSamples caps a case's samples under Plan.TargetCI.
const DefaultMaxSamples = 1000

// FloorRatioSuffix names the floor-relative metric of a timing (see
// results.FloorRatioSuffix).
const FloorRatioSuffix = results.FloorRatioSuffix

// member is one case of one variant (or the floor) in an interleaved
// family, with its sampler.
type member struct {
	idx    int // in the run's steps
	step   Step
	s      Sampler
	err    error // why it could not be prepared, or why a sample failed
	rounds []int
	spent  time.Duration
	stop   results.Stop
}

func (m *member) active() bool { return m.s != nil && m.stop == "" }

// interleave measures steps[i:j], one Preparer scenario's, in rounds.
// A family is the floor case and the cases of every variant that are
// compared with it (whose parameters include the floor's: lookup's floor
// cache=cold and depth=16/cache=cold); each case of the family is
// prepared once, then every round takes one sample of each, floor and
// variants, in an order shuffled per round, so that drift of the machine
// between rounds hits all of them alike. The floor's sampler stays open
// across its families, so it is sampled in every round of each, and its
// record is written after the last. Each driver record is followed by
// the floor-relative figures of its timings (FloorRatioSuffix).
func (r *runner) interleave(ctx context.Context, pr Preparer, i, j int) error {
	var floors []*member
	var cases []string           // non-floor case names, in order
	byCase := map[string][]int{} // case name -> step indexes
	for k := i; k < j; k++ {
		st := r.steps[k]
		if r.skip[k] {
			continue // unsupported in an earlier pass
		}
		if st.Case.Floor {
			floors = append(floors, &member{idx: k, step: st})
			continue
		}
		n := st.Case.Name()
		if _, ok := byCase[n]; !ok {
			cases = append(cases, n)
		}
		byCase[n] = append(byCase[n], k)
	}
	floorOf := func(c Case) *member {
		for _, f := range floors {
			if hasParams(c, f.step.Case) {
				return f
			}
		}
		return nil
	}
	uses := map[*member]int{} // families left per floor
	for _, n := range cases {
		if f := floorOf(r.steps[byCase[n][0]].Case); f != nil {
			uses[f]++
		}
	}
	round := &r.round
	finishFloor := func(f *member) error {
		if f.stop == "" {
			f.stop = results.StopWithDrivers
		}
		return r.emit(r.finish(f, nil))
	}
	// Floors no variant case is compared with are sampled on their own.
	for _, f := range floors {
		if uses[f] == 0 {
			if err := r.family(ctx, pr, nil, f, round); err != nil {
				return err
			}
			if err := finishFloor(f); err != nil {
				return err
			}
		}
	}
	for _, n := range cases {
		if ctx.Err() != nil {
			break
		}
		var ms []*member
		for _, k := range byCase[n] {
			ms = append(ms, &member{idx: k, step: r.steps[k]})
		}
		f := floorOf(ms[0].step.Case)
		if err := r.family(ctx, pr, ms, f, round); err != nil {
			return err
		}
		for _, m := range ms {
			if err := r.emit(r.finish(m, f)); err != nil {
				return err
			}
			if m.s == nil && errors.Is(m.err, drivers.ErrNotSupported) {
				r.skip[m.idx] = true
			}
		}
		if f != nil {
			if uses[f]--; uses[f] == 0 {
				// No variant compared with it could run (every one
				// unsupported or failed): the floor is still measured,
				// on its own, as a floor nothing uses is.
				if f.active() && len(f.rounds) == 0 && ctx.Err() == nil {
					if err := r.family(ctx, pr, nil, f, round); err != nil {
						return err
					}
				}
				if err := finishFloor(f); err != nil {
					return err
				}
			}
		}
	}
	// Interrupted: floors still open are written with what they have.
	for _, f := range floors {
		if uses[f] > 0 && f.s != nil {
			if err := finishFloor(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasParams says whether c has every parameter of floor, with its value.
func hasParams(c, floor Case) bool {
	for _, p := range floor.Params {
		if c.Get(p.Key) != p.Value {
			return false
		}
	}
	return true
}

// family prepares the members (and the floor, once) and samples them in
// rounds until each has stopped.
func (r *runner) family(ctx context.Context, pr Preparer, ms []*member, floor *member, round *int) error {
	all := slices.Clone(ms)
	if floor != nil {
		all = append([]*member{floor}, all...)
	}
	for _, m := range all {
		if m.s != nil || m.err != nil {
			continue // a floor prepared by an earlier family
		}
		if r.prog != nil {
			at, total := r.progressOf(m.idx)
			r.prog.Step(at, total, r.passStep(m.step), r.started)
		}
		if m.err = r.supported(m.step); m.err != nil {
			continue
		}
		m.s, m.err = r.prepare(ctx, pr, m.step)
		if m.err != nil {
			m.stop = results.StopFailed
		}
	}
	// The floor alone (no variant compared with it) decides for itself;
	// with variants it samples as long as any of them does.
	deciders := ms
	if len(ms) == 0 && floor != nil {
		deciders = []*member{floor}
	}
	rng := rand.New(rand.NewPCG(r.plan.Seed, uint64(*round)))
	for ctx.Err() == nil {
		var order []*member
		for _, m := range all {
			if m.active() && (m != floor || slices.ContainsFunc(deciders, (*member).active)) {
				order = append(order, m)
			}
		}
		if !slices.ContainsFunc(deciders, (*member).active) {
			break
		}
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, m := range order {
			start := time.Now()
			err := sampleOnce(ctx, m.s, m.step)
			m.spent += time.Since(start)
			switch {
			case ctx.Err() != nil:
				// Interrupted mid-round: the partial sample is dropped
				// by finish (rounds and samples must pair up).
			case err != nil:
				m.err, m.stop = err, results.StopFailed
			default:
				m.rounds = append(m.rounds, *round)
			}
		}
		*round++
		for _, m := range deciders {
			if m.active() {
				m.stop = r.stopped(m)
			}
		}
	}
	return nil
}

// prepare is Prepare, with a panic in the scenario turned into an error.
func (r *runner) prepare(ctx context.Context, pr Preparer, st Step) (s Sampler, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scenario %s panicked: %v", st.Scenario.Name(), p)
		}
	}()
	return pr.Prepare(ctx, r.env(st), st.Case)
}

func sampleOnce(ctx context.Context, s Sampler, st Step) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scenario %s panicked: %v", st.Scenario.Name(), p)
		}
	}()
	return s.Sample(ctx)
}

// stopped says whether a member has sampled enough, and why ("" if not).
// Each pass has its share of the plan's Count, Budget and MaxSamples, and
// aims at TargetCI*sqrt(Passes): the pooled median of P passes, each
// within that, has a confidence interval about sqrt(P) times narrower.
func (r *runner) stopped(m *member) results.Stop {
	p := r.plan
	n, passes := len(m.rounds), p.PassCount()
	count := p.Count / passes // this pass's share of Count
	if r.pass <= p.Count%passes {
		count++
	}
	count = max(count, 1)
	if p.TargetCI <= 0 {
		if n >= count {
			return results.StopCount
		}
		return ""
	}
	if n < count {
		return "" // Count is the least a target may stop at
	}
	if withinCI(m.s.Measurements(), p.TargetCI*math.Sqrt(float64(passes))) {
		return results.StopTargetCI
	}
	budget, most := p.Budget, p.MaxSamples
	if budget <= 0 {
		budget = DefaultBudget
	}
	if most <= 0 {
		most = DefaultMaxSamples
	}
	budget /= time.Duration(passes)
	most = max(most/passes, count)
	switch {
	case m.spent >= budget:
		return results.StopBudget
	case n >= most:
		return results.StopMax
	}
	return ""
}

// withinCI says whether the 95% CI of every timing's median is within
// target of it.
func withinCI(ms []Measurement, target float64) bool {
	for _, m := range ms {
		if m.Exact {
			continue
		}
		s := stats.Summarize(m.Samples)
		if !s.HasCI() || max(s.Median-s.Lo, s.Hi-s.Median) > target*s.Median {
			return false
		}
	}
	return true
}

// finish closes a member's sampler and makes its records: each carries
// its rounds and why it stopped, and a driver's timings with a floor are
// followed by their floor-relative figures.
func (r *runner) finish(m *member, floor *member) []results.Record {
	if m.s == nil {
		return r.records(m.step, nil, m.err)
	}
	err := errors.Join(m.err, m.s.Close())
	ms := m.s.Measurements()
	for i := range ms {
		// A sample interrupted mid-round has no round: drop it.
		ms[i].Samples = ms[i].Samples[:min(len(ms[i].Samples), len(m.rounds))]
	}
	recs := r.records(m.step, ms, err)
	for i := range recs {
		if len(recs[i].Samples) == len(m.rounds) {
			recs[i].Rounds = slices.Clone(m.rounds)
		}
		if recs[i].Status != results.Unsupported {
			recs[i].Stopped = m.stop
		}
	}
	if err != nil || floor == nil || floor.s == nil {
		return recs
	}
	fms := floor.s.Measurements()
	for _, rec := range slices.Clone(recs) {
		if rec.Status != results.OK || rec.Exact || rec.Floor == "" || len(rec.Rounds) == 0 {
			continue
		}
		for _, fm := range fms {
			if results.CaseKey(fm.Metric, floor.step.Case.Params...) == rec.Floor {
				if ratio, ok := floorRatio(rec, fm.Samples, floor.rounds); ok {
					recs = append(recs, ratio)
					r.out.Measured++
				}
			}
		}
	}
	return recs
}

// floorRatio is rec's floor-relative figure: per round that both took a
// sample in, rec's sample over the floor's.
func floorRatio(rec results.Record, floorSamples []float64, floorRounds []int) (results.Record, bool) {
	at := map[int]float64{}
	for i, rd := range floorRounds {
		if i < len(floorSamples) && floorSamples[i] > 0 {
			at[rd] = floorSamples[i]
		}
	}
	out := rec
	out.Metric, out.Unit, out.Floor, out.Exact, out.Better = rec.Metric+FloorRatioSuffix, results.FloorRatioUnit, "", false, results.Lower
	out.Samples, out.Rounds, out.Extra = nil, nil, map[string]any{"of": rec.Metric, "over-floor": rec.Floor}
	for i, rd := range rec.Rounds {
		if f, ok := at[rd]; ok {
			out.Samples = append(out.Samples, rec.Samples[i]/f)
			out.Rounds = append(out.Rounds, rd)
		}
	}
	return out, len(out.Samples) > 0
}
