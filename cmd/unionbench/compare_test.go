package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/reports/compare"
	"github.com/unionbench/unionbench/reports/results"
)

// realRun is a real run of this VM (see reports/testdata/README.md).
var realRun = filepath.Join("..", "..", "reports", "testdata", "small-run")

func readRealRun(t *testing.T) []results.Record {
	t.Helper()
	recs, err := results.Read(filepath.Join(realRun, "results.jsonl"))
	require.NoError(t, err)
	return recs
}

func writeJSONL(t *testing.T, path string, recs []results.Record) {
	t.Helper()
	w, err := results.Create(path)
	require.NoError(t, err)
	for i := range recs {
		require.NoError(t, w.Write(&recs[i]))
	}
	require.NoError(t, w.Close())
}

func writeBench(t *testing.T, path string, recs []results.Record) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, results.WriteBench(&b, recs))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// slowDown returns copies of recs, base and new, with one timing 50%
// slower in new: the first whose samples are tight enough (max < 1.5 min)
// that the slower set does not overlap the old one. With more > 1 that
// timing's samples are first repeated more times on both sides, each
// copy nudged by 0.01% so that none tie: five samples a side cannot show
// a change among hundreds of tests at a 5% false discovery rate.
func slowDown(t *testing.T, recs []results.Record, more int) (base, new []results.Record, key string) {
	t.Helper()
	base, new = slices.Clone(recs), slices.Clone(recs)
	for i := range new {
		r := &new[i]
		if r.Unit != "ns" || r.Failed() || len(r.Samples) < 5 || slices.Max(r.Samples) >= 1.45*slices.Min(r.Samples) {
			continue
		}
		var grown []float64
		for k := range more {
			for _, v := range r.Samples {
				grown = append(grown, v*(1+1e-4*float64(k)))
			}
		}
		base[i].Samples = grown
		r.Samples = slices.Clone(grown)
		for j := range r.Samples {
			r.Samples[j] *= 1.5
		}
		return base, new, compare.Key(r)
	}
	t.Fatal("no timing in the real run is tight enough to slow down")
	return nil, nil, ""
}

// section returns the lines of a titled block of compare's output.
func section(out, title string) []string {
	_, rest, ok := strings.Cut(out, title)
	if !ok {
		return nil
	}
	block, _, _ := strings.Cut(rest, "\n\n")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	return lines[min(len(lines), 2):] // the title's tail and the column header
}

func TestCompareIdenticalExits0(t *testing.T) {
	for _, name := range []string{"results.jsonl", "bench.txt"} {
		p := filepath.Join(realRun, name)
		stdout, stderr, code := unionbench(t, "compare", p, p)
		assert.Equal(t, 0, code, "%s: %s", stderr, stdout)
		assert.Contains(t, stdout, " 0 regressed, 0 now fail")
		assert.NotContains(t, stdout, "REGRESSIONS")
	}
}

func TestCompareOneMetricSlowerExits1NamingIt(t *testing.T) {
	base, slow, key := slowDown(t, readRealRun(t), 8)
	dir := t.TempDir()
	for _, f := range []struct {
		name  string
		write func(*testing.T, string, []results.Record)
	}{{"jsonl", writeJSONL}, {"bench", writeBench}} {
		t.Run(f.name, func(t *testing.T) {
			b, n := filepath.Join(dir, "base."+f.name), filepath.Join(dir, "new."+f.name)
			f.write(t, b, base)
			f.write(t, n, slow)
			// The slowed metric is the floor's own, which only
			// --absolute gates: by default the floor-relative figures
			// judge, and a floor that is slower alone fails nothing.
			stdout, stderr, code := unionbench(t, "compare", b, n)
			require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
			assert.Contains(t, stdout, "relative: timings with a floor-relative figure, and the floor's own, are shown but not gated")
			stdout, stderr, code = unionbench(t, "compare", "--absolute", b, n)
			require.Equal(t, 1, code, "%s\n%s", stdout, stderr)
			regs := section(stdout, "REGRESSIONS")
			require.Len(t, regs, 1, stdout)
			// The bench format has no failed records and no run ids
			// beyond the config, but the key is the same.
			assert.True(t, strings.HasPrefix(regs[0], key+" "), "%q names %q", regs[0], key)
			assert.Contains(t, regs[0], "+50.0%")
			assert.Regexp(t, `\s40\+40\s+regressed$`, regs[0], "sample counts beside the verdict")
			assert.Contains(t, stdout, "FDR q=0.01 over ")
			assert.Contains(t, stderr, "1 regression(s)")
			assert.NotContains(t, stdout, "ONLY IN")
		})
	}
	// Beyond the threshold only: at 60% the same change passes.
	b, n := filepath.Join(dir, "base.jsonl"), filepath.Join(dir, "new.jsonl")
	_, _, code := unionbench(t, "compare", "--absolute", "--threshold", "60", b, n)
	assert.Equal(t, 0, code)
}

// Five samples a side, as the real run has, cannot show even a clean 50%
// change among all its timings: compare says so rather than guessing.
func TestCompareFiveSamplesCannotShowIt(t *testing.T) {
	base, slow, key := slowDown(t, readRealRun(t), 1)
	dir := t.TempDir()
	b, n := filepath.Join(dir, "base.jsonl"), filepath.Join(dir, "new.jsonl")
	writeJSONL(t, b, base)
	writeJSONL(t, n, slow)
	stdout, stderr, code := unionbench(t, "compare", "--all", "--absolute", b, n)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	var line string
	for _, l := range section(stdout, "UNCHANGED:") {
		if strings.HasPrefix(l, key+" ") {
			line = l
		}
	}
	require.NotEmpty(t, line, stdout)
	assert.Regexp(t, `\+50\.0%\s+0\.00794\s+\S+\s+none\s+5\+5\s+~$`, line, "p of a clean 5+5 split, MDE none")
}

func TestCompareListsOneSidedAndQuirks(t *testing.T) {
	base := readRealRun(t)
	dir := t.TempDir()
	quirk := func(variant, id, observed string, posix bool) results.Record {
		r := base[0]
		r.Driver, r.Variant, r.Scenario, r.Metric, r.Unit, r.Params = variant, variant, "quirks", id, "bool", nil
		r.Samples = []float64{1}
		r.Extra = map[string]any{"observed": observed, "posix": posix, "detail": "test"}
		return r
	}
	oldQ := append(slices.Clone(base), quirk("overlay2", "rename-dir", "EXDEV", false), quirk("vfs", "rename-dir", "ok", true))
	newQ := append(slices.Clone(base[1:]), quirk("overlay2", "rename-dir", "ok", true), quirk("vfs", "rename-dir", "ok", true))
	b, n := filepath.Join(dir, "base.jsonl"), filepath.Join(dir, "new.jsonl")
	writeJSONL(t, b, oldQ)
	writeJSONL(t, n, newQ)
	stdout, _, code := unionbench(t, "compare", b, n)
	assert.Equal(t, 1, code, stdout)
	assert.Equal(t, []string{"overlay2/rename-dir  EXDEV  ok"}, section(stdout, "QUIRKS CHANGED"))
	assert.Contains(t, stdout, "ONLY IN BASE (not measured in NEW):\n  "+compare.Key(&base[0])+"\n")
}

func TestCompareBadInputExits2(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(realRun, "results.jsonl"))
	require.NoError(t, err)
	lines := strings.SplitAfter(string(good), "\n")
	truncated := filepath.Join(dir, "truncated.jsonl")
	require.NoError(t, os.WriteFile(truncated, []byte(strings.Join(lines[:3], "")+lines[3][:len(lines[3])/2]), 0o644))
	corrupt := filepath.Join(dir, "corrupt.jsonl")
	require.NoError(t, os.WriteFile(corrupt, []byte(lines[0]+"{\"schema\":1,garbage\n"+lines[1]), 0o644))
	bench, err := os.ReadFile(filepath.Join(realRun, "bench.txt"))
	require.NoError(t, err)
	badBench := filepath.Join(dir, "bad-bench.txt")
	require.NoError(t, os.WriteFile(badBench, append(bench, []byte("BenchmarkCopyup/op=first-write 1 12 ns/op extra\n")...), 0o644))
	benchLines := strings.Count(string(bench), "\n") + 1
	real := filepath.Join(realRun, "results.jsonl")
	cases := map[string]struct {
		args []string
		want string
	}{
		"truncated line":   {[]string{"compare", real, truncated}, truncated + ":4:"},
		"corrupted line":   {[]string{"compare", corrupt, real}, corrupt + ":2:"},
		"corrupted bench":  {[]string{"compare", real, badBench}, badBench + ":" + strconv.Itoa(benchLines) + ":"},
		"missing file":     {[]string{"compare", real, filepath.Join(dir, "nope.jsonl")}, "no such file"},
		"threshold NaN":    {[]string{"compare", "--threshold", "lots", real, real}, `--threshold "lots"`},
		"fdr of 1":         {[]string{"compare", "--fdr", "1", real, real}, `--fdr "1": want a rate above 0 and below 1`},
		"one file":         {[]string{"compare", real}, "want BASE and NEW"},
		"report truncated": {[]string{"report", "-o", filepath.Join(dir, "r"), truncated}, truncated + ":4:"},
		"report no files":  {[]string{"report"}, "want one or more results files"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := unionbench(t, c.args...)
			assertRefused(t, stdout, stderr, code, c.want)
		})
	}
	_, err = os.Stat(filepath.Join(dir, "r"))
	assert.True(t, os.IsNotExist(err), "bad input writes no report")
}
