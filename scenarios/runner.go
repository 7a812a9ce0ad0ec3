package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/units"
)

// Plan is one run: which scenarios on which variants, how much of each
// sweep, on which backing filesystem.
type Plan struct {
	RunID     string
	Scenarios []Scenario
	Variants  []drivers.Variant
	Suite     Suite
	Count     int // samples per measurement
	MaxDepth  int // passed to drivers (0: their defaults)
	FS        *backing.FS
	Host      hostinfo.Facts
	// Sizes and Depths, when set, replace the size and depth values of
	// every scenario's sweep.
	Sizes  []int64
	Depths []int
	// TargetCI, when above 0, makes interleaved scenarios (Preparer) keep
	// sampling each case past Count until the 95% confidence interval of
	// every timing's median is within TargetCI of it (a fraction: 0.05 is
	// ±5%), or Budget is spent. 0: exactly Count samples.
	TargetCI float64
	// Budget is the sampling time one case of one variant may take when
	// TargetCI is set (0: DefaultBudget).
	Budget time.Duration
	// MaxSamples caps the samples of one case under TargetCI (0:
	// DefaultMaxSamples).
	MaxSamples int
	// Noise is the host's noise floor measured at the start of the run
	// (internal/noise), carried in every record's host facts; nil: not
	// measured.
	Noise *results.Noise
	// TracedFunctions is the function tracer's filter when the run had
	// it on (internal/ftrace), carried in every record's host facts.
	TracedFunctions string
	// Seed seeds the per-round shuffle of the sampling order (recorded
	// nowhere: the rounds themselves are).
	Seed uint64
	// Passes is how many times the interleaved scenarios (Preparer) are
	// measured, one pass of all of them after the other, each case
	// prepared afresh every pass, on fresh containers and mounts (the
	// images under them are shared, see Images) (0 or 1: once). Count, Budget and
	// MaxSamples are shared out among the passes (with a fixed Count,
	// exactly: 5 in three passes is 2, 2 and 1, and there are at most
	// Count passes), and each pass aims at
	// TargetCI*sqrt(Passes), so that the pooled samples meet TargetCI at
	// about the cost of one pass. A burst of samples sees one mount and
	// one stretch of the machine; several passes minutes apart show how
	// much a measurement moves between mounts and moments, which is what
	// moves it between two runs (compare tests the pass medians).
	Passes int

	// reserve, in tests, replaces spaceReserve's figure.
	reserve int64
}

// DefaultPasses is `unionbench run`'s Plan.Passes.
const DefaultPasses = 3

// PassCount is the number of passes the run makes: with a fixed Count (no
// TargetCI) never more than Count, so that every pass has a sample.
func (p *Plan) PassCount() int {
	if p.TargetCI <= 0 {
		return max(min(p.Passes, p.Count), 1)
	}
	return max(p.Passes, 1)
}

// Step is one measurement the runner will make.
type Step struct {
	Scenario Scenario
	Variant  drivers.Variant // zero for a floor
	Case     Case
	// Pass and Passes, set on the steps Progress is told of in a run of
	// several passes, say which pass of how many the step belongs to (0:
	// a run of one pass, or a step measured once).
	Pass, Passes int
}

// Steps expands the plan into the measurements it makes, floors first in
// each scenario.
func (p *Plan) Steps() []Step {
	var out []Step
	for _, s := range p.Scenarios {
		cases := p.Override(s.Cases(p.Suite))
		for _, c := range cases {
			if c.Floor {
				out = append(out, Step{Scenario: s, Case: c})
			}
		}
		for _, v := range p.Variants {
			for _, c := range cases {
				if !c.Floor {
					out = append(out, Step{Scenario: s, Variant: v, Case: c})
				}
			}
		}
	}
	return out
}

// Override replaces size and depth values with the plan's, keeping each
// distinct case once.
func (p *Plan) Override(cases []Case) []Case {
	type repl struct {
		key    string
		values []string
	}
	var rs []repl
	if len(p.Sizes) > 0 {
		var v []string
		for _, s := range p.Sizes {
			v = append(v, units.FormatSize(s))
		}
		rs = append(rs, repl{"size", v})
	}
	if len(p.Depths) > 0 {
		var v []string
		for _, d := range p.Depths {
			v = append(v, fmt.Sprint(d))
		}
		rs = append(rs, repl{"depth", v})
	}
	for _, r := range rs {
		var next []Case
		seen := map[string]bool{}
		for _, c := range cases {
			if c.Get(r.key) == "" {
				if !seen[c.Name()+fmt.Sprint(c.Floor)] {
					seen[c.Name()+fmt.Sprint(c.Floor)] = true
					next = append(next, c)
				}
				continue
			}
			for _, v := range r.values {
				nc := Case{Floor: c.Floor}
				for _, p := range c.Params {
					if p.Key == r.key {
						p.Value = v
					}
					nc.Params = append(nc.Params, p)
				}
				if k := nc.Name() + fmt.Sprint(nc.Floor); !seen[k] {
					seen[k] = true
					next = append(next, nc)
				}
			}
		}
		cases = next
	}
	return cases
}

// Outcome counts what a run did.
type Outcome struct {
	Measured    int
	Failed      int
	Unsupported int
	Interrupted bool
}

// Progress is told about each step as the run goes.
type Progress interface {
	Step(i, total int, st Step, started time.Time)
	Done()
}

// Run makes every measurement of the plan, handing each record to sink as
// soon as it is made (the sink appends and syncs it). A measurement that
// fails is recorded with its error and the run goes on; a step on a driver
// that cannot run it is recorded as not supported. Cancelling ctx stops
// between measurements (between rounds, for interleaved ones).
//
// Scenarios that can sample one at a time (Preparer) are interleaved:
// see interleave. They are measured in Plan.Passes passes, one after the
// other, each writing its own records (Record.Pass). The others are
// measured step by step, in the first pass only, each case's samples in
// one batch.
func Run(ctx context.Context, p *Plan, sink func(*results.Record) error, prog Progress) (Outcome, error) {
	r := &runner{plan: p, sink: sink, prog: prog, steps: p.Steps(), facts: p.FS.Describe(), started: time.Now(),
		unsupported: map[string]error{}, skip: map[int]bool{}}
	// Cases share their images (see Images), for the run or for a pass.
	reserve := p.spaceReserve()
	r.images = &Images{FS: p.FS, Reserve: reserve}
	r.passImages = &Images{FS: p.FS, Reserve: reserve}
	for r.pass = 1; r.pass <= p.PassCount() && ctx.Err() == nil; r.pass++ {
		err := r.runPass(ctx)
		if err = errors.Join(err, closeImages(r.passImages)); err != nil {
			return r.out, errors.Join(err, closeImages(r.images))
		}
	}
	if err := closeImages(r.images); err != nil {
		return r.out, err
	}
	if prog != nil {
		prog.Done()
	}
	if ctx.Err() != nil {
		r.out.Interrupted = true
	}
	return r.out, nil
}

// runPass is one pass over the steps: every interleaved scenario, and in
// the first pass the batch ones, which are measured once.
func (r *runner) runPass(ctx context.Context) error {
	for i := 0; i < len(r.steps); {
		if ctx.Err() != nil {
			break
		}
		// One scenario's steps are contiguous (Steps). Names, not the
		// values, tell scenarios apart: a scenario's dynamic type need not
		// be comparable.
		sc := r.steps[i].Scenario
		j := i
		for j < len(r.steps) && r.steps[j].Scenario.Name() == sc.Name() {
			j++
		}
		var err error
		if pr, ok := sc.(Preparer); ok {
			err = r.interleave(ctx, pr, i, j)
		} else if r.pass == 1 {
			for k := i; k < j && err == nil && ctx.Err() == nil; k++ {
				err = r.batch(ctx, k)
			}
		}
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}

// runner is one Run.
type runner struct {
	plan        *Plan
	sink        func(*results.Record) error
	prog        Progress
	steps       []Step
	facts       backing.Facts
	started     time.Time
	out         Outcome
	unsupported map[string]error // variant -> why not (nil: supported), probed once
	pass        int              // the pass being run, from 1
	round       int              // the next sampling round, counted over the whole run
	// skip holds the steps a pass found unsupported: later passes do not
	// try them again, nor write the same "not supported" again.
	skip map[int]bool
	// images holds the images the interleaved cases built for the run
	// (Env.Image), passImages those for this pass (Env.PassImage).
	images, passImages *Images
}

func closeImages(im *Images) error {
	if err := im.Close(); err != nil {
		return fmt.Errorf("removing the kept images: %w", err)
	}
	return nil
}

// SpaceNeeded is the room the plan's largest case needs on the backing fs
// (the most any scenario's Sizer asks for; 0 if none says).
func (p *Plan) SpaceNeeded() int64 {
	var need int64
	for _, s := range p.Scenarios {
		if sz, ok := s.(Sizer); ok {
			need = max(need, sz.SpaceNeeded(p.Suite, p.Override(s.Cases(p.Suite))))
		}
	}
	return need
}

// spaceReserve is the free space kept images leave on the backing fs: the
// most one case of the plan needs, twice over, so that the largest case
// still fits beside them whichever order the cases come in.
func (p *Plan) spaceReserve() int64 {
	if p.reserve != 0 {
		return p.reserve
	}
	return 2 * p.SpaceNeeded()
}

// passed says whether records of st carry their pass: those of an
// interleaved scenario in a run of several passes.
func (r *runner) passed(st Step) bool {
	_, ok := st.Scenario.(Preparer)
	return ok && r.plan.PassCount() > 1
}

func (r *runner) env(st Step) *Env {
	return &Env{FS: r.plan.FS, Variant: st.Variant, MaxDepth: r.plan.MaxDepth, Images: r.images, PassImages: r.passImages}
}

// supported probes a step's variant once per run; floors always run.
func (r *runner) supported(st Step) error {
	if st.Case.Floor {
		return nil
	}
	why, probed := r.unsupported[st.Variant.String()]
	if !probed {
		why = probeVariant(r.plan.FS, st.Variant, r.plan.MaxDepth)
		r.unsupported[st.Variant.String()] = why
	}
	return why
}

// batch makes step i's measurements in one batch of Count samples.
func (r *runner) batch(ctx context.Context, i int) error {
	st := r.steps[i]
	if r.prog != nil {
		at, total := r.progressOf(i)
		r.prog.Step(at, total, r.passStep(st), r.started)
	}
	var ms []Measurement
	err := r.supported(st)
	if err == nil {
		ms, err = measure(ctx, st, r.env(st), r.plan.Count)
	}
	return r.emit(r.records(st, ms, err))
}

func (r *runner) emit(recs []results.Record) error {
	for i := range recs {
		if err := r.sink(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// records turns a step's measurements, or its failure, into records and
// counts them.
func (r *runner) records(st Step, ms []Measurement, err error) []results.Record {
	p := r.plan
	base := results.Record{
		Schema: results.SchemaVersion, RunID: p.RunID, Time: time.Now().UTC(),
		Host: hostFacts(p.Host), Backing: backingFacts(r.facts), Scenario: st.Scenario.Name(), Params: st.Case.Params,
	}
	base.Host.Noise, base.Host.TracedFunctions = p.Noise, p.TracedFunctions
	if r.passed(st) {
		base.Pass = r.pass
	}
	if st.Case.Floor {
		base.Driver, base.Variant = "floor", "floor"
	} else {
		base.Driver, base.Variant, base.MountOptions = st.Variant.Driver, st.Variant.String(), st.Variant.Options
	}
	var recs []results.Record
	if err != nil {
		status, why := caseFailure(err)
		for _, m := range ms { // keep what was measured before the failure
			if len(m.Samples) > 0 {
				r := record(base, m)
				r.Status, r.Error = results.Failed, err.Error()
				recs = append(recs, r)
			}
		}
		// The case as a whole: one record per metric when the
		// scenario can name them, else one named "all".
		metrics := []string{"all"}
		if l, ok := st.Scenario.(Lister); ok && status == results.Unsupported {
			metrics = l.Metrics(st.Case)
		}
		for _, metric := range metrics {
			rec := base
			rec.Metric, rec.Unit, rec.Status = metric, "n/a", status
			if status == results.Unsupported {
				rec.Reason = why
				r.out.Unsupported++
			} else {
				rec.Error = why
				r.out.Failed++
			}
			recs = append(recs, rec)
		}
		return recs
	}
	for _, m := range ms {
		rec := record(base, m)
		switch rec.Status {
		case results.OK:
			r.out.Measured++
		case results.Unsupported:
			r.out.Unsupported++
		default:
			r.out.Failed++
		}
		recs = append(recs, rec)
	}
	return recs
}

// record is a measurement's record on base: what was measured and what it
// is, as the scenario said. A measured metric that does not say which
// direction is better is the scenario's bug, recorded as a failure rather
// than guessed.
func record(base results.Record, m Measurement) results.Record {
	r := base
	r.Metric, r.Unit, r.Samples, r.Extra = m.Metric, m.Unit, m.Samples, m.Extra
	r.Better, r.Exact, r.Floor = m.Better, m.Exact, m.Floor
	switch {
	case m.Err != nil && m.Status == results.Unsupported:
		r.Status, r.Reason = results.Unsupported, m.Err.Error()
	case m.Err != nil:
		r.Status, r.Error = results.Failed, m.Err.Error()
	case len(m.Samples) == 0:
		r.Status, r.Error = results.Failed, fmt.Sprintf("scenario %s: metric %s has no samples", r.Scenario, r.Metric)
	case m.Better != results.Lower && m.Better != results.Higher:
		r.Status, r.Error = results.Failed, fmt.Sprintf("scenario %s: metric %s does not say which direction is better (%q)", r.Scenario, r.Metric, m.Better)
	default:
		r.Status = results.OK
	}
	return r
}

// caseFailure is the status and the error or reason of a case that failed
// as a whole: unsupported when a driver cannot run it (errors.Is
// drivers.ErrNotSupported), failed otherwise.
func caseFailure(err error) (results.Status, string) {
	if !errors.Is(err, drivers.ErrNotSupported) {
		return results.Failed, err.Error()
	}
	// The typed reason, without the driver's name and the sentinel's text,
	// which every record of the column would repeat.
	return results.Unsupported, drivers.Reason(err)
}

// probeVariant builds the variant once in a scratch directory: a driver
// that cannot run here is reported for every step instead of failing each.
func probeVariant(fs *backing.FS, v drivers.Variant, maxDepth int) error {
	env := &Env{FS: fs, Variant: v, MaxDepth: maxDepth}
	d, cleanup, err := env.NewDriver()
	if err != nil {
		return err
	}
	_ = d
	return cleanup()
}

// measure runs one step, turning a panic in a scenario into a failed
// measurement rather than a lost run, and cleaning the backing fs of
// whatever the step left.
func measure(ctx context.Context, st Step, env *Env, n int) (ms []Measurement, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scenario %s panicked: %v", st.Scenario.Name(), r)
		}
	}()
	before, _ := os.ReadDir(env.FS.Dir)
	defer func() {
		// A scenario cleans up after itself; this only catches what a
		// failure left, so the next step starts on an empty backing fs.
		after, _ := os.ReadDir(env.FS.Dir)
		had := map[string]bool{}
		for _, e := range before {
			had[e.Name()] = true
		}
		for _, e := range after {
			if !had[e.Name()] {
				dir := filepath.Join(env.FS.Dir, e.Name())
				rerr := errors.Join(mountutil.UnmountAll(dir), removeTree(dir))
				if rerr != nil && err == nil {
					err = rerr
				}
			}
		}
	}()
	return st.Scenario.Measure(ctx, env, st.Case, n)
}

// passStep is st with its pass, for Progress.
func (r *runner) passStep(st Step) Step {
	if r.passed(st) {
		st.Pass, st.Passes = r.pass, r.plan.PassCount()
	}
	return st
}

// progressOf places step i of the current pass in the whole run's work:
// every step in the first pass, the interleaved ones again in each later
// one.
func (r *runner) progressOf(i int) (at, total int) {
	var rank, interleaved int
	for k, st := range r.steps {
		if _, ok := st.Scenario.(Preparer); ok {
			if k < i {
				rank++
			}
			interleaved++
		}
	}
	total = len(r.steps) + (r.plan.PassCount()-1)*interleaved
	if r.pass <= 1 {
		return i, total
	}
	return len(r.steps) + (r.pass-2)*interleaved + rank, total
}
