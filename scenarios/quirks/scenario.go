package quirks

import (
	"context"
	"errors"
	"fmt"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
)

// RunScenario makes the catalogue a row of the scenario table: one case,
// one measurement per quirk. `unionbench run` records it beside the
// timings (its report and `compare` see them); `unionbench quirks` runs
// it through the same runner with its own selection and prints the
// matrix.
type RunScenario struct {
	// Quirks are the probes to make, in order (nil: the whole catalogue).
	Quirks []Quirk
}

func init() { scenarios.Register(RunScenario{}) }

// Name is "quirks".
func (RunScenario) Name() string { return Scenario }

// Cases is the one case: quirks have no sweep and no floor (vfs, which is
// plain directories, is the reference every cell is read against).
func (RunScenario) Cases(scenarios.Suite) []scenarios.Case { return []scenarios.Case{{}} }

// Metrics are the quirk ids (scenarios.Lister): a variant that cannot run
// here is recorded as unsupported quirk by quirk.
func (s RunScenario) Metrics(scenarios.Case) []string {
	var ids []string
	for _, q := range s.quirks() {
		ids = append(ids, q.ID)
	}
	return ids
}

func (s RunScenario) quirks() []Quirk {
	if s.Quirks == nil {
		return Catalogue()
	}
	return s.Quirks
}

// Measure probes every quirk once on the env's variant, whatever n is (at
// least 1): a behaviour is observed, not sampled. A probe that cannot be
// made is that quirk's failed measurement; the others stand.
func (s RunScenario) Measure(ctx context.Context, env *scenarios.Env, c scenarios.Case, n int) (ms []scenarios.Measurement, err error) {
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
	for _, q := range s.quirks() {
		if err := ctx.Err(); err != nil {
			return ms, err
		}
		if env.Progress != nil {
			env.Progress("quirks %s %s", env.Variant, q.ID)
		}
		ms = append(ms, Probe(d, env.Variant, env, q).Measurement())
	}
	return ms, nil
}

// Measurement is a result as a measurement of the quirk (its id is the
// metric). Its one sample is 1 when the behaviour is what POSIX requires
// and 0 when it deviates, so a compare of two runs sees a flip as a change
// of value; the observation is in Extra (observed, posix, detail, status,
// mount), where reports and compare find it. An unsupported or failed
// probe is an error with the detail, and no sample.
func (r Result) Measurement() scenarios.Measurement {
	m := scenarios.Measurement{Metric: r.Quirk, Unit: Unit, Better: results.Higher, Exact: true,
		Extra: map[string]any{"observed": r.Observed, "posix": r.POSIX, "detail": r.Detail, "status": r.Status}}
	if r.Mount != "" {
		m.Extra["mount"] = r.Mount
	}
	switch r.Status {
	case StatusOK:
		m.Samples = []float64{0}
		if r.POSIX {
			m.Samples = []float64{1}
		}
	case StatusUnsupported:
		m.Status, m.Err = results.Unsupported, fmt.Errorf("%s", r.Detail)
	default:
		m.Status, m.Err = results.Failed, fmt.Errorf("%s", r.Detail)
	}
	return m
}
