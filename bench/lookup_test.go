package bench

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/lookup"
)

// BenchmarkLookup runs the lookup scenario's cases:
// BenchmarkLookup/backing=ext4/driver=overlay2/depth=16/cache=cold, the
// floor as driver=floor/cache=cold. ns/op is the median stat; open, enoent
// and readdir come as open-ns/op, enoent-ns/op and readdir-ns/op, and
// floor-ratio is the stat over the floor's.
func BenchmarkLookup(b *testing.B) {
	benchScenario(b, lookup.New(), "stat", "stat", drivers.AllVariants())
}

// benchScenario runs every case of a scenario's suite (quick, or full with
// UNIONBENCH_SUITE=full) as a sub-benchmark named
// backing=<kind>/driver=<variant>/<case params>, on each backing
// onEachBacking makes, floors first as driver=floor. Each sub-benchmark calls
// Measure with n = b.N and reports the median of every metric: headline as
// <unit>/op (ns/op, inodes/op), the others as <metric>-<unit>/op, or
// <metric>/op where the name already says the unit (image-bytes/op), or
// plain <metric> for counts (layers-until-enospc); a floor case reports
// floorHeadline as its <unit>/op. floor-ratio is the headline over the
// median of the floor measurement the headline names as its Floor. A
// variant that cannot run, or a case beyond its limits, is skipped with
// the reason.
func benchScenario(b *testing.B, s scenarios.Scenario, headline, floorHeadline string, variants []drivers.Variant) {
	needRoot(b)
	cases := s.Cases(scenarios.Suite(testenv.Suite(b)))
	onEachBacking(b, func(b *testing.B, fs *backing.FS) {
		floors := map[string]float64{} // floor measurement's results.CaseKey -> median
		for _, c := range cases {
			if !c.Floor {
				continue
			}
			b.Run("driver=floor/"+c.Name(), func(b *testing.B) {
				ms := benchMeasure(b, s, &scenarios.Env{FS: fs}, c)
				report(b, ms, floorHeadline, nil)
				for _, m := range ms {
					floors[results.CaseKey(m.Metric, c.Params...)] = median(m.Samples)
				}
			})
		}
		for _, v := range variants {
			for _, c := range cases {
				if c.Floor {
					continue
				}
				b.Run("driver="+v.String()+"/"+c.Name(), func(b *testing.B) {
					ms := benchMeasure(b, s, &scenarios.Env{FS: fs, Variant: v}, c)
					report(b, ms, headline, floors)
				})
			}
		}
	})
}

func benchMeasure(b *testing.B, s scenarios.Scenario, env *scenarios.Env, c scenarios.Case) []scenarios.Measurement {
	ms, err := s.Measure(context.Background(), env, c, b.N)
	if errors.Is(err, drivers.ErrNotSupported) {
		b.Skip(err)
	}
	if err != nil {
		b.Fatal(err)
	}
	return ms
}

func report(b *testing.B, ms []scenarios.Measurement, headline string, floors map[string]float64) {
	for _, m := range ms {
		v := median(m.Samples)
		switch {
		case m.Metric == headline:
			b.ReportMetric(v, m.Unit+"/op")
			if floor := floors[m.Floor]; m.Floor != "" && floor > 0 {
				b.ReportMetric(v/floor, "floor-ratio")
			}
		case m.Unit == "count":
			b.ReportMetric(v, m.Metric)
		case strings.HasSuffix(m.Metric, "-"+m.Unit):
			b.ReportMetric(v, m.Metric+"/op")
		default:
			b.ReportMetric(v, m.Metric+"-"+m.Unit+"/op")
		}
	}
}

// median is the median of a benchmark's samples (0 for none: a skipped
// measurement reports nothing useful either way).
func median(s []float64) float64 {
	m, err := stats.Median(s)
	if err != nil {
		return 0
	}
	return m
}
