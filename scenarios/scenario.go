package scenarios

import (
	"context"
	"fmt"
	"os"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/reports/results"
)

// Suite says how much of each sweep to run.
type Suite string

const (
	Quick Suite = "quick" // what `unionbench run` does by default: minutes
	Full  Suite = "full"  // every size and depth the scenario table names
)

// Case is one point of a scenario's sweep.
type Case struct {
	Params []results.Param // in name order: size=4KiB, cache=cold
	Floor  bool            // measured on the backing fs alone, without a driver
}

// Name renders the parameters as key=value/key=value.
func (c Case) Name() string {
	s := ""
	for i, p := range c.Params {
		if i > 0 {
			s += "/"
		}
		s += p.Key + "=" + p.Value
	}
	return s
}

// Get returns a parameter's value ("" if absent).
func (c Case) Get(key string) string {
	for _, p := range c.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// Measurement is the result of one metric of one case, and what it is:
// the runner copies every field into the record (results.Record), and
// readers go by these fields, never by the metric's name.
type Measurement struct {
	Metric  string
	Unit    string // ns, bytes, inodes, ratio, count
	Samples []float64
	// Better is the direction in which the metric improves; every
	// measured metric says it.
	Better results.Better
	// Exact says the samples are exact counts (inodes, bytes, layers),
	// not noisy timings.
	Exact bool
	// Floor is the results.CaseKey (metric and parameters) of the floor
	// measurement of the same scenario this one is compared with; "" when
	// it has none.
	Floor string
	Extra map[string]any
	// Status and Err, when Err is set, make this one metric a failed
	// (Status "" or results.Failed) or unsupported (results.Unsupported:
	// "cannot run here", Err the reason) measurement while the case's
	// other metrics stand: a scenario made of independent experiments
	// (quirks) loses only the one that could not be made.
	Status results.Status
	Err    error
}

// Timing is a measurement of durations in ns: lower is better, samples
// are noisy.
func Timing(metric string, n int) Measurement {
	return Measurement{Metric: metric, Unit: "ns", Better: results.Lower, Samples: make([]float64, 0, n)}
}

// Count is a measurement of exact counts in unit (bytes, inodes, ...),
// lower is better unless changed.
func Count(metric, unit string, samples ...float64) Measurement {
	return Measurement{Metric: metric, Unit: unit, Better: results.Lower, Exact: true, Samples: samples}
}

// Env is what a scenario measures on.
type Env struct {
	// FS is the backing filesystem everything lives on.
	FS *backing.FS
	// Variant is the driver variant under test (zero for a floor case).
	Variant drivers.Variant
	// MaxDepth is passed to the driver (0: its default) so deep sweeps can
	// ask for the kernel's limit.
	MaxDepth int
	// Progress, if set, is told what is happening (for the progress bar).
	Progress func(format string, args ...any)
	// Images and PassImages, if set, keep the images cases build
	// (Env.Image, Env.PassImage) for the other cases of the run, or of
	// the pass.
	Images, PassImages *Images
}

// NewDriver makes a fresh driver of the variant under test in a new
// directory on the backing fs, and returns a cleanup that unmounts
// everything the driver mounted and removes the directory.
func (e *Env) NewDriver() (drivers.Driver, func() error, error) {
	root, err := os.MkdirTemp(e.FS.Dir, "driver-")
	if err != nil {
		return nil, nil, err
	}
	d, err := drivers.New(e.Variant, root, drivers.Options{MaxDepth: e.MaxDepth})
	if err != nil {
		os.Remove(root)
		return nil, nil, err
	}
	return d, func() error { return RemoveDriver(d) }, nil
}

// TempDir makes a fresh directory on the backing fs (for floors).
func (e *Env) TempDir() (string, error) { return os.MkdirTemp(e.FS.Dir, "floor-") }

// Scenario is one row of the scenario table.
type Scenario interface {
	// Name is the scenario's name in results and on the command line.
	Name() string
	// Cases lists the sweep for a suite, floors included. maxDepth is the
	// deepest stack the drivers under test allow (for depth sweeps).
	Cases(s Suite) []Case
	// Measure takes n samples of every metric of one case. A case that
	// cannot run on this driver returns an error wrapping
	// drivers.ErrNotSupported; any other error is a failed measurement.
	Measure(ctx context.Context, env *Env, c Case, n int) ([]Measurement, error)
}

// Lister is implemented by scenarios that know the metrics of a case
// before measuring it: a case a driver cannot run is then recorded metric
// by metric (each unsupported, with the reason), as a measured case would
// be, instead of as one record named "all".
type Lister interface {
	Metrics(c Case) []string
}

// Sizer is implemented by scenarios that need room on the backing fs: the
// runner checks the backing fs is big enough before starting.
type Sizer interface {
	// SpaceNeeded is the bytes the largest case of the suite needs.
	SpaceNeeded(s Suite, cases []Case) int64
}

// RemoveDriver unmounts everything a driver mounted and removes its root,
// never descending into a mount.
func RemoveDriver(d drivers.Driver) error {
	if err := d.Cleanup(); err != nil {
		return fmt.Errorf("cleanup %s: %w", d.Root(), err)
	}
	return removeTree(d.Root())
}
