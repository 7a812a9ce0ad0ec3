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
}

// Step is one measurement the runner will make.
type Step struct {
	Scenario Scenario
	Variant  drivers.Variant // zero for a floor
	Case     Case
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
// between measurements.
func Run(ctx context.Context, p *Plan, sink func(*results.Record) error, prog Progress) (Outcome, error) {
	var out Outcome
	steps := p.Steps()
	facts := p.FS.Describe()
	started := time.Now()
	unsupported := map[string]error{} // variant -> why not (nil: supported), probed once
	for i, st := range steps {
		if ctx.Err() != nil {
			out.Interrupted = true
			break
		}
		if prog != nil {
			prog.Step(i, len(steps), st, started)
		}
		env := &Env{FS: p.FS, Variant: st.Variant, MaxDepth: p.MaxDepth}
		var ms []Measurement
		why, probed := unsupported[st.Variant.String()]
		if !st.Case.Floor && !probed {
			why = probeVariant(p.FS, st.Variant, p.MaxDepth)
			unsupported[st.Variant.String()] = why
		}
		err := why
		if st.Case.Floor || why == nil {
			ms, err = measure(ctx, st, env, p.Count)
		}
		base := results.Record{
			Schema: results.SchemaVersion, RunID: p.RunID, Time: time.Now().UTC(),
			Host: p.Host, Backing: facts, Scenario: st.Scenario.Name(), Params: st.Case.Params,
		}
		if st.Case.Floor {
			base.Driver, base.Variant = "floor", "floor"
		} else {
			base.Driver, base.Variant, base.MountOptions = st.Variant.Driver, st.Variant.String(), st.Variant.Options
		}
		if err != nil {
			rec := base
			rec.Metric, rec.Unit, rec.Error = "all", "n/a", err.Error()
			if errors.Is(err, drivers.ErrNotSupported) {
				rec.Extra = map[string]any{"unsupported": true}
				out.Unsupported++
			} else {
				out.Failed++
			}
			for _, m := range ms { // keep what was measured before the failure
				r := base
				r.Metric, r.Unit, r.Samples, r.Extra, r.Error = m.Metric, m.Unit, m.Samples, m.Extra, err.Error()
				if len(r.Samples) > 0 {
					if err := sink(&r); err != nil {
						return out, err
					}
				}
			}
			if err := sink(&rec); err != nil {
				return out, err
			}
			continue
		}
		for _, m := range ms {
			rec := base
			rec.Metric, rec.Unit, rec.Samples, rec.Extra = m.Metric, m.Unit, m.Samples, m.Extra
			switch {
			case m.Err != nil && m.Unsupported:
				rec.Error = m.Err.Error()
				if rec.Extra == nil {
					rec.Extra = map[string]any{}
				}
				rec.Extra["unsupported"] = true
				out.Unsupported++
			case m.Err != nil:
				rec.Error = m.Err.Error()
				out.Failed++
			default:
				out.Measured++
			}
			if err := sink(&rec); err != nil {
				return out, err
			}
		}
	}
	if prog != nil {
		prog.Done()
	}
	if ctx.Err() != nil {
		out.Interrupted = true
	}
	return out, nil
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
