package scenarios

import (
	"context"
	"errors"
	"fmt"
)

// Preparer is implemented by scenarios that time things and can take
// their samples one at a time: the runner then interleaves the floor and
// every driver variant of a case in rounds (see Run), so that drift of the
// machine hits them all alike, and can keep sampling until the data say
// enough (Plan.TargetCI). Scenarios without it are measured in one batch
// of Plan.Count samples per case.
type Preparer interface {
	// Prepare builds what a case measures (image, mounts, open tree) and
	// returns the sampler that times it. A case that cannot run on this
	// driver returns an error wrapping drivers.ErrNotSupported.
	Prepare(ctx context.Context, env *Env, c Case) (Sampler, error)
}

// Sampler takes the samples of one prepared case.
type Sampler interface {
	// Sample takes one more sample of every metric of the case.
	Sample(ctx context.Context) error
	// Measurements are the case's metrics with every sample taken so far,
	// in the order taken.
	Measurements() []Measurement
	// Close undoes what Prepare built.
	Close() error
}

// MeasureBySampling is Scenario.Measure for a Preparer: prepare, n
// samples, close. Measure and the runner's rounds then share one code
// path.
func MeasureBySampling(ctx context.Context, p Preparer, env *Env, c Case, n int) (ms []Measurement, err error) {
	if n < 1 {
		return nil, fmt.Errorf("%d samples: want at least 1", n)
	}
	s, err := p.Prepare(ctx, env, c)
	if err != nil {
		return nil, err
	}
	defer func() {
		err = errors.Join(err, s.Close())
		ms = s.Measurements()
	}()
	for range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.Sample(ctx); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
