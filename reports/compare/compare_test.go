package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/units"
)

// rec is a measured count (exact, lower is better) unless changed.
func rec(metric, unit, variant string, samples ...float64) results.Record {
	return results.Record{Schema: results.SchemaVersion, RunID: "r", Driver: variant, Variant: variant, Scenario: "inodes",
		Metric: metric, Unit: unit, Samples: samples, Status: results.OK, Better: results.Lower, Exact: true}
}

func higher(r results.Record) results.Record { r.Better = results.Higher; return r }
func noisy(r results.Record) results.Record  { r.Exact = false; return r }

func TestDirectionAndFailures(t *testing.T) {
	base := []results.Record{
		higher(rec("containers-until-enospc", "count", "vfs", 13)),
		rec("image-inodes", "inodes", "vfs", 11000),
		rec("image-inodes", "inodes", "aufs", 9000),
	}
	gone := rec("image-inodes", "inodes", "aufs")
	gone.Status, gone.Reason = results.Unsupported, "aufs is not in /proc/filesystems"
	newer := []results.Record{
		higher(rec("containers-until-enospc", "count", "vfs", 10)), // fewer fit: worse
		rec("image-inodes", "inodes", "vfs", 8000),                 // fewer used: better
		gone,
	}
	res := Compare(base, newer, Options{})
	var verdicts []Verdict
	for _, r := range res.Rows {
		verdicts = append(verdicts, r.Verdict)
	}
	assert.Equal(t, []Verdict{Regressed, Improved, NowFails}, verdicts)
	assert.True(t, res.Failed())
	assert.Contains(t, res.Rows[2].Error, "not supported: aufs is not in /proc/filesystems")
	assert.True(t, res.Rows[0].Change.Exact, "counts have no noise to test")
}

// The verdict follows what the records say, never their names or the
// look of their values: each case below would come out the other way if
// direction were read from a -until-enospc suffix or exactness guessed
// from constant samples.
func TestVerdictFromTypedFields(t *testing.T) {
	cases := []struct {
		name      string
		base, new results.Record
		want      Verdict
		exact     bool
	}{
		{"higher is better without the suffix", higher(rec("fit", "count", "vfs", 13)), higher(rec("fit", "count", "vfs", 10)), Regressed, true},
		{"the suffix without higher is better", rec("x-until-enospc", "count", "vfs", 10), rec("x-until-enospc", "count", "vfs", 13), Regressed, true},
		// 3+3 noisy samples can never be significant; exact ones differ or not.
		{"an exact count that varies", rec("img", "inodes", "vfs", 100, 110, 105), rec("img", "inodes", "vfs", 150, 160, 155), Regressed, true},
		{"a timing that happens to be constant", noisy(rec("w1", "ns", "vfs", 5, 5)), noisy(rec("w1", "ns", "vfs", 9, 9)), Same, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := Compare([]results.Record{c.base}, []results.Record{c.new}, Options{})
			require.Len(t, res.Rows, 1)
			assert.Equal(t, c.want, res.Rows[0].Verdict)
			assert.Equal(t, c.exact, res.Rows[0].Change.Exact)
		})
	}
}

// timings are n seeded lognormal samples of median med, the way a cold
// operation on a shared host spreads (sigma 0.3: a 2x range in 5%).
func timings(r *rand.Rand, n int, med float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = med * math.Exp(0.3*r.NormFloat64())
	}
	return out
}

func timingRun(r *rand.Rand, cases, n int, scale func(i int) float64) []results.Record {
	var recs []results.Record
	for i := range cases {
		rec := noisy(rec(fmt.Sprintf("op%d", i), "ns", "overlay2", timings(r, n, 1e5*scale(i))...))
		rec.Scenario = "lookup"
		recs = append(recs, rec)
	}
	return recs
}

func one(int) float64 { return 1 }

// Two runs of the same distribution over hundreds of measurements: no
// verdict at all, where testing each at p<0.05 flags about 5% of them.
func TestNullRunsFlagNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 10))
	for run := range 5 {
		res := Compare(timingRun(r, 300, 20, one), timingRun(r, 300, 20, one), Options{Threshold: -1})
		raw := 0
		for _, row := range res.Rows {
			assert.Equal(t, Same, row.Verdict, "run %d %s: %s", run, row.Key, row.Change)
			if row.Change.P < 0.05 {
				raw++
			}
		}
		assert.Equal(t, 300, res.FDR.Tests)
		assert.Greater(t, raw, 3, "run %d: uncorrected p<0.05 would have cried wolf", run)
	}
}

// A 20% slowdown of a third of the measurements, 200 samples each (what a
// cheap lookup gets from --target-ci): found,
// and nothing else.
func TestKnownShiftIsFlagged(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 11))
	slow := func(i int) float64 {
		if i%3 == 0 {
			return 1.2
		}
		return 1
	}
	res := Compare(timingRun(r, 90, 200, one), timingRun(r, 90, 200, slow), Options{})
	flagged, wrong := 0, 0
	for i, row := range res.Rows {
		assert.Less(t, row.Detectable(), 0.2, "%s: 200+200 samples see 20%%", row.Key)
		switch {
		case i%3 == 0 && row.Verdict == Regressed:
			flagged++
		case i%3 != 0 && row.Verdict != Same:
			wrong++
		}
	}
	assert.GreaterOrEqual(t, flagged, 27, "at least 90%% of the 30 slowed measurements")
	assert.Zero(t, wrong)
	var out strings.Builder
	require.NoError(t, res.Write(&out))
	assert.Contains(t, out.String(), "FDR q=0.01 over 90 tests, Benjamini-Hochberg")
	assert.Regexp(t, `MEASUREMENT\s+BASE\s+NEW\s+DELTA\s+P\s+Q\s+MDE\s+N\s+VERDICT`, out.String())
}

// A change that is significant and beyond the threshold is still not
// called when it is below what the samples could detect: a 200-sample
// BASE against 7 NEW samples 35% slower tests significant, but 7 samples
// of this spread cannot show a change below about 50% on their own, so
// that 35% may be the luck of seven draws.
func TestBelowMDEIsNotCalled(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 12))
	base := timings(r, 200, 1e5)
	newer := timings(r, 7, 1.35e5)
	res := Compare([]results.Record{noisy(rec("op", "ns", "vfs", base...))}, []results.Record{noisy(rec("op", "ns", "vfs", newer...))}, Options{FDR: 0.05})
	require.Len(t, res.Rows, 1)
	row := res.Rows[0]
	t.Logf("%s q=%.3g MDE %s", row.Change, row.Q, units.Detectable(row.Detectable()))
	require.LessOrEqual(t, row.Q, 0.05, "the shift is significant at q=0.05")
	require.Greater(t, row.Change.Delta, DefaultThreshold)
	assert.Greater(t, row.Detectable(), row.Change.Delta)
	assert.Equal(t, Same, row.Verdict)
	assert.True(t, row.BelowMDE)
	assert.Contains(t, res.Summary(), "1 of them significant but below their critical effect")
}

func TestNoiseFloorsShownAndWarned(t *testing.T) {
	withNoise := func(spread float64) []results.Record {
		r := rec("img", "inodes", "vfs", 10)
		r.Host.Noise = &results.Noise{Spread: spread, MinNs: 300, MaxNs: 300 * (1 + spread), Windows: 12, Probe: "stat(2) of /dev/shm"}
		return []results.Record{r}
	}
	var out strings.Builder
	calm := Compare(withNoise(0.20), withNoise(0.35), Options{})
	assert.Empty(t, calm.NoiseWarning, "within a factor of 2")
	require.NoError(t, calm.Write(&out))
	assert.Contains(t, out.String(), "host noise floor: BASE 20.0% (stat(2) of /dev/shm: 300-360 ns), NEW 35.0%")

	loud := Compare(withNoise(0.10), withNoise(0.45), Options{})
	assert.Contains(t, loud.NoiseWarning, "differ by more than 2x (BASE 10.0%, NEW 45.0%)")
	out.Reset()
	require.NoError(t, loud.Write(&out))
	assert.Contains(t, out.String(), "WARNING: the hosts' noise floors differ")

	out.Reset()
	require.NoError(t, Compare([]results.Record{rec("img", "inodes", "vfs", 10)}, withNoise(0.1), Options{}).Write(&out))
	assert.Contains(t, out.String(), "host noise floor: BASE not measured, NEW 10.0%")
}

// floorRun is ten timings of a floor and of overlay2 (three times the
// floor), 200 samples each, with overlay2's per-sample floor ratios: the
// machine scales both, driverOnly overlay2 alone.
func floorRun(r *rand.Rand, machine, driverOnly float64) []results.Record {
	var recs []results.Record
	for i := range 10 {
		metric := fmt.Sprintf("op%d", i)
		floor := timings(r, 200, 1e5*machine)
		drv := timings(r, 200, 3e5*machine*driverOnly)
		f := noisy(rec(metric, "ns", "floor", floor...))
		f.Driver = "floor"
		d := noisy(rec(metric, "ns", "overlay2", drv...))
		d.Driver = "overlay2"
		ratio := make([]float64, len(drv))
		for j := range drv {
			ratio[j] = drv[j] / floor[j]
		}
		rt := noisy(rec(metric+results.FloorRatioSuffix, results.FloorRatioUnit, "overlay2", ratio...))
		rt.Driver = "overlay2"
		recs = append(recs, f, d, rt)
	}
	return recs
}

// A machine 30% slower across the board in NEW: every absolute timing,
// the floor's included, is flagged under Absolute; by default only the floor-relative
// figures gate, and they did not move, while a real 30% slowdown of one
// driver relative to its floor still fails.
func TestRelativeGatesOnFloorRatios(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 20))
	run := func(machine, driverOnly float64) []results.Record { return floorRun(r, machine, driverOnly) }
	base := run(1, 1)
	slowMachine := run(1.3, 1)
	abs := Compare(base, slowMachine, Options{Absolute: true})
	assert.Len(t, abs.Regressions(), 20, "every absolute timing, floor and driver")
	rel := Compare(base, slowMachine, Options{})
	assert.Empty(t, rel.Regressions())
	assert.Equal(t, 10, rel.FDR.Tests, "the ratios alone are the gated family")
	ungated := 0
	for _, row := range rel.Rows {
		if row.Ungated {
			ungated++
			assert.Equal(t, Regressed, row.Absolute, "%s: shown as what it would be", row.Key)
		}
	}
	assert.Equal(t, 20, ungated)
	var out strings.Builder
	require.NoError(t, rel.WriteAll(&out))
	assert.Contains(t, out.String(), "(not gated; absolute: regressed)")
	assert.Contains(t, out.String(), "relative: timings with a floor-relative figure")

	slowDriver := Compare(base, run(1, 1.3), Options{})
	regs := slowDriver.Regressions()
	assert.Len(t, regs, 10, "each -vs-floor figure of the slowed driver")
	for _, row := range regs {
		assert.Contains(t, row.Key, results.FloorRatioSuffix)
	}
}

// Two runs timed by qemu's instruction counter have no host drift for
// the floor ratio to cancel: their absolute timings gate, which finds a
// slowdown of the driver alone that the ratios, noisy with the floor's
// own samples, may not; --relative keeps the ratios; runs on different
// clocks are warned of.
func TestInstructionClockGatesAbsoluteTimings(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 21))
	run := func(clock string, driverOnly float64) []results.Record {
		recs := floorRun(r, 1, driverOnly)
		for i := range recs {
			recs[i].Host.InstructionClock = clock
		}
		return recs
	}
	const icount = "icount shift=3"
	base, slow := run(icount, 1), run(icount, 1.3)
	res := Compare(base, slow, Options{})
	assert.False(t, res.Relative)
	assert.Equal(t, 30, res.FDR.Tests, "absolute timings, the floor's too, and the ratios all gate")
	assert.Contains(t, res.ClockNote, "both runs timed by qemu's instruction counter (icount shift=3)")
	for _, row := range res.Regressions() {
		assert.NotContains(t, row.Key, "driver=floor", "the floor did not change")
	}
	assert.Len(t, res.Regressions(), 20, "the driver's absolute timings and its ratios")
	var out strings.Builder
	require.NoError(t, res.Write(&out))
	assert.Contains(t, out.String(), res.ClockNote)

	rel := Compare(base, slow, Options{Relative: true})
	assert.True(t, rel.Relative)
	assert.Equal(t, 10, rel.FDR.Tests)
	assert.Contains(t, rel.ClockNote, "as asked (--relative)")

	host := run("", 1)
	mixed := Compare(host, slow, Options{})
	assert.True(t, mixed.Relative, "the host's clock on one side: the default gating")
	assert.Equal(t, "WARNING: BASE timed by the host's clock, NEW by qemu's instruction counter (icount shift=3): their timings are not comparable", mixed.ClockNote)
	half := append(run(icount, 1)[:3], host[3:]...)
	assert.Contains(t, Compare(half, slow, Options{}).ClockNote, "different clocks")
	assert.Empty(t, Compare(host, run("", 1), Options{}).ClockNote)
}

// passedRecords is one run of cases measured in three passes: each pass
// a record of its own, its median moved by a per-pass offset of spread
// between (a fresh mount, another stretch of the machine), 100 samples
// of 5% spread within.
func passedRecords(r *rand.Rand, cases int, between float64, scale func(i int) float64) []results.Record {
	var recs []results.Record
	for i := range cases {
		for pass := 1; pass <= 3; pass++ {
			med := 1e5 * scale(i) * math.Exp(between*r.NormFloat64())
			s := make([]float64, 100)
			for j := range s {
				s[j] = med * math.Exp(0.05*r.NormFloat64())
			}
			rec := noisy(rec(fmt.Sprintf("op%d", i), "ns", "overlay2", s...))
			rec.Scenario, rec.Pass = "lookup", pass
			recs = append(recs, rec)
		}
	}
	return recs
}

// Measurements whose figure moves 10% between mounts: the pooled U test
// would flag most of 100 identical pairs, the pass test none; a 40%
// change of passes that agree within 1% is still called.
func TestPassesKeepMountToMountScatterFromFailing(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 30))
	res := Compare(passedRecords(r, 100, 0.10, one), passedRecords(r, 100, 0.10, one), Options{})
	require.Len(t, res.Rows, 100, "the passes of a measurement are pooled into one row")
	uHits := 0
	for _, row := range res.Rows {
		require.NotNil(t, row.Passes, row.Key)
		assert.Equal(t, [2]int{3, 3}, row.Passes.Passes)
		assert.Equal(t, 300, row.Change.Old.N)
		assert.GreaterOrEqual(t, row.P(), row.Change.P, "the larger p of the two tests")
		assert.Equal(t, Same, row.Verdict, "%s: %s pass p=%.3g", row.Key, row.Change, row.Passes.P)
		if row.Change.P < 0.01 {
			uHits++
		}
	}
	assert.Greater(t, uHits, 50, "the samples alone cry wolf: the test above has teeth")

	slow := func(i int) float64 {
		if i%2 == 0 {
			return 1.4
		}
		return 1
	}
	res = Compare(passedRecords(r, 20, 0.01, one), passedRecords(r, 20, 0.01, slow), Options{})
	for i, row := range res.Rows {
		want := Same
		if i%2 == 0 {
			want = Regressed
			assert.Less(t, row.Detectable(), 0.4, "%s: three passes that agree see 40%%", row.Key)
		}
		assert.Equal(t, want, row.Verdict, "%s: %s", row.Key, row.Change)
	}
}

// Device bytes two blocks apart are the journal's: not called. A byte
// count's floor ratio is shown, not gated: the count gates.
func TestResolutionAndByteRatios(t *testing.T) {
	dev := func(blocks float64) []results.Record {
		d := noisy(rec("first-write-device-bytes", "bytes", "overlay2", blocks*4096, blocks*4096, blocks*4096, blocks*4096, blocks*4096, blocks*4096, blocks*4096, blocks*4096))
		d.Scenario, d.Extra = "copyup", map[string]any{results.ResolutionExtra: 8192.0}
		ratio := noisy(rec("first-write-device-bytes"+results.FloorRatioSuffix, results.FloorRatioUnit, "overlay2", blocks/13, blocks/13, blocks/13, blocks/13, blocks/13, blocks/13, blocks/13, blocks/13))
		ratio.Scenario, ratio.Extra = "copyup", map[string]any{"of": "first-write-device-bytes"}
		return []results.Record{d, ratio}
	}
	res := Compare(dev(29), dev(31), Options{})
	require.Len(t, res.Rows, 2)
	assert.Equal(t, 8192.0, res.Rows[0].Resolution)
	assert.Equal(t, Same, res.Rows[0].Verdict, "two blocks more: within the resolution")
	assert.False(t, res.Rows[0].Ungated, "the count gates")
	assert.True(t, res.Rows[1].Ungated, "a byte count's floor ratio does not")

	res = Compare(dev(29), dev(40), Options{})
	assert.Equal(t, Regressed, res.Rows[0].Verdict, "eleven blocks more is the copy-up's")
	assert.Equal(t, Same, res.Rows[1].Verdict)
}

func TestTraceNoteNamesTheTracedSide(t *testing.T) {
	base := []results.Record{rec("img", "inodes", "vfs", 10)}
	traced := rec("img", "inodes", "vfs", 10)
	traced.Host.TracedFunctions = "ovl_*"
	res := Compare(base, []results.Record{traced}, Options{})
	assert.Equal(t, "NOTE: NEW ran with the kernel's function tracer on ovl_* (run --trace-functions): a slowdown made on purpose", res.TraceNote)
	var out strings.Builder
	require.NoError(t, res.Write(&out))
	assert.Contains(t, out.String(), res.TraceNote)
	assert.Empty(t, Compare(base, base, Options{}).TraceNote)
}
