package quirks

import (
	"context"
	"errors"
	"fmt"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// RunScenario makes the catalogue a row of the scenario table, so that
// `unionbench run` records quirks beside the timings (and its report and
// `compare` see them): one case, one measurement per quirk. `unionbench
// quirks` is the same catalogue with the matrix view and every overlay2
// variant by default.
type RunScenario struct{}

func init() { scenarios.Register(RunScenario{}) }

// Name is "quirks".
func (RunScenario) Name() string { return Scenario }

// Cases is the one case: quirks have no sweep and no floor (vfs, which is
// plain directories, is the reference every cell is read against).
func (RunScenario) Cases(scenarios.Suite) []scenarios.Case { return []scenarios.Case{{}} }

// Measure probes every quirk once on the env's variant, whatever n is (at
// least 1): a behaviour is observed, not sampled. A probe that cannot be
// made is that quirk's failed measurement; the others stand.
func (RunScenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) (ms []scenarios.Measurement, err error) {
	if err := c.CheckParams(Scenario); err != nil {
		return nil, err
	}
	if c.Floor {
		return nil, errors.New("quirks: there is no floor case: vfs is the reference")
	}
	if n < 1 {
		return nil, fmt.Errorf("quirks: %d samples: want at least 1", n)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, cleanup, err := env.NewDriver()
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, cleanup()) }()
	for _, q := range Catalogue() {
		if err := ctx.Err(); err != nil {
			return ms, err
		}
		if env.Progress != nil {
			env.Progress("quirks %s %s", env.Variant, q.ID)
		}
		r := Probe(d, env.Variant, env, q)
		// Record is what `unionbench quirks` writes; the runner adds the
		// run's own base fields, so only what a Measurement carries is kept.
		rec := r.Record(results.Record{})
		m := scenarios.Measurement{Metric: q.ID, Unit: rec.Unit, Samples: rec.Samples, Extra: rec.Extra}
		switch r.Status {
		case StatusUnsupported:
			m.Err, m.Unsupported = fmt.Errorf("%s", r.Detail), true
		case StatusError:
			m.Err = fmt.Errorf("%s", r.Detail)
		}
		ms = append(ms, m)
	}
	return ms, nil
}
