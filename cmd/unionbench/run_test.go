package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
)

// whyRoot is what needs root, for testenv.NeedRoot.
const whyRoot = "unionbench run mounts filesystems"

func TestRunBadInputIsRefusedBeforeAnythingIsWritten(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
		root bool // checked inside the sandbox, against a driver's limit
	}{
		"unknown scenario":     {args: []string{"--scenarios", "copyup,frob"}, want: `unknown scenario "frob"`},
		"size with a bad unit": {args: []string{"--sizes", "10QB"}, want: `bad size "10QB"`},
		"depth 0":              {args: []string{"--depths", "0"}, want: `bad depth "0"`},
		"count 0":              {args: []string{"--count", "0"}, want: "--count 0: want 1 to 100000"},
		"count not a number":   {args: []string{"--count", "five"}, want: `"five"`},
		"quick and full":       {args: []string{"--quick", "--full"}, want: "choose one"},
		"target-ci of 100":     {args: []string{"--target-ci", "100"}, want: `--target-ci "100": want a percentage from 0 (off) to below 100`},
		"budget of 0":          {args: []string{"--budget", "0s"}, want: `--budget "0s": want a duration above 0`},
		"passes 0":             {args: []string{"--passes", "0"}, want: "--passes 0: want 1 to 20 passes"},
		"backing too small":    {args: []string{"--scenarios", "copyup", "--sizes", "1GiB", "--backing-size", "1GiB"}, want: "--backing-size 1GiB is too small"},
		"unknown backing":      {args: []string{"--backing", "zfs"}, want: `unknown backing filesystem "zfs"`},
		"unknown driver":       {args: []string{"--drivers", "overlay3"}, want: `unknown driver "overlay3"`},
		"depth beyond the limit": {
			args: []string{"--drivers", "overlay2", "--scenarios", "lookup", "--depths", "1,200"},
			want: "--depths 200: overlay2 stacks at most 129 layers", root: true,
		},
		"max-depth beyond the kernel": {
			args: []string{"--drivers", "overlay2", "--scenarios", "lookup", "--max-depth", "600"},
			want: "--max-depth 600", root: true,
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if c.root {
				testenv.NeedRoot(t, whyRoot)
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			args := append([]string{"run", "--out", out, "--workdir", filepath.Join(dir, "work")}, c.args...)
			stdout, stderr, code := unionbench(t, args...)
			assertRefused(t, stdout, stderr, code, c.want)
			assert.NoDirExists(t, out, "bad input must not create the results directory")
		})
	}
}

// metricSamples finds a measurement's samples by driver, metric and params
// ("key=value" pairs, all of which must match), pooled over the records of
// its passes.
func metricSamples(t *testing.T, recs []results.Record, driver, metric string, params ...string) []float64 {
	t.Helper()
	var pooled []float64
	var first *results.Record
	for i, r := range recs {
		if r.Driver != driver || r.Metric != metric {
			continue
		}
		have := map[string]bool{}
		for _, p := range r.Params {
			have[p.Key+"="+p.Value] = true
		}
		all := true
		for _, p := range params {
			all = all && have[p]
		}
		if all && (first == nil || slices.Equal(first.Params, r.Params)) {
			require.Empty(t, r.Error, "%s %s %v failed", driver, metric, params)
			require.NotEmpty(t, r.Samples)
			pooled = append(pooled, r.Samples...) // every pass's record of the first case that matches
			if first == nil {
				first = &recs[i]
			}
		}
	}
	if len(pooled) > 0 {
		return pooled
	}
	require.Failf(t, "no record", "%s %s %v", driver, metric, params)
	return nil
}

func median(t *testing.T, xs []float64) float64 {
	t.Helper()
	m, err := stats.Median(xs)
	require.NoError(t, err)
	return m
}

// TestRunTellsTheKnownStory makes one real run of copyup, inodes and
// pagecache on overlay2, overlay and vfs, checks the files it writes, and
// checks the figures against what is known of these drivers on this kernel.
func TestRunTellsTheKnownStory(t *testing.T) {
	testenv.NeedRoot(t, whyRoot)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	stdout, stderr, code := unionbench(t, "run", "--out", out, "--workdir", filepath.Join(dir, "work"),
		"--drivers", "overlay2,overlay,vfs", "--scenarios", "copyup,inodes,pagecache",
		"--sizes", "1MiB,16MiB", "--count", "3")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Contains(t, stdout, "SCENARIO")
	assert.Contains(t, stdout, " 0 failed, 0 not supported")
	assert.NotContains(t, stderr, "\r", "no progress bar when stderr is not a terminal")
	assert.Contains(t, stderr, "copyup overlay2 size=16MiB/cache=cold")

	recs, err := results.Read(filepath.Join(out, "results.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	kernel := hostinfo.Read().Kernel
	pooled := map[string][]float64{} // timing samples by measurement, the passes pooled
	for _, r := range recs {
		assert.Equal(t, results.SchemaVersion, r.Schema)
		assert.Equal(t, recs[0].RunID, r.RunID)
		assert.Equal(t, kernel, r.Host.Kernel)
		assert.Equal(t, "ext4", string(r.Backing.Kind))
		assert.Empty(t, r.Error)
		if r.Unit == "ns" {
			pooled[r.Key()] = append(pooled[r.Key()], r.Samples...)
			if r.Scenario != "inodes" {
				assert.Len(t, r.Samples, 1, "%s: --count 3 in the default three passes is a sample a pass", r.Key())
				assert.Contains(t, []int{1, 2, 3}, r.Pass, r.Key())
			}
		}
	}
	for k, s := range pooled {
		assert.Len(t, s, 3, "%s: every raw sample is kept", k)
	}

	// bench.txt: one Go benchmark line per sample (benchstat wants the
	// distribution), with the host as config lines.
	f, err := os.Open(filepath.Join(out, "bench.txt"))
	require.NoError(t, err)
	defer f.Close()
	br := benchfmt.NewReader(f, "bench.txt")
	n := 0
	sawKernel := false
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.Result:
			n++
			for _, c := range rec.Config {
				sawKernel = sawKernel || (c.Key == "kernel" && string(c.Value) == kernel)
			}
		case *benchfmt.SyntaxError:
			t.Errorf("bench.txt: %v", rec)
		}
	}
	require.NoError(t, br.Err())
	samples := 0
	for _, r := range recs {
		samples += len(r.Samples)
	}
	assert.Equal(t, samples, n)
	assert.True(t, sawKernel, "bench.txt carries the kernel as a config line")

	// Every record says what it is, and every floor it names was measured
	// in the same run: readers pair and judge by these fields alone.
	floors := map[string]bool{}
	for _, r := range recs {
		if r.Driver == "floor" {
			floors[r.Scenario+" "+r.Unit+" "+r.CaseKey()] = true
		}
	}
	byKey := map[string]results.Record{}
	for _, r := range recs {
		byKey[r.Key()] = r
		assert.Equal(t, results.OK, r.Status, r.Key())
		assert.Contains(t, []results.Better{results.Lower, results.Higher}, r.Better, r.Key())
		// Counts are exact and timings (and their floor ratios) are not;
		// Cached from /proc/meminfo counts bytes but is host-wide, and
		// the bytes a write sends to the device move by a journal block
		// or a few between samples, so both are sampled as noise.
		hostWide := r.Scenario == "pagecache" && strings.HasPrefix(r.Metric, "cache-bytes")
		device := strings.HasSuffix(r.Metric, "-device-bytes")
		assert.Equal(t, r.Unit != "ns" && r.Unit != results.FloorRatioUnit && !hostWide && !device, r.Exact, "%s: counts are exact, timings, floor ratios, device and host-wide figures are not", r.Key())
		if r.Floor != "" {
			assert.True(t, floors[r.Scenario+" "+r.Unit+" "+r.Floor], "%s names floor %s, which the run measured", r.Key(), r.Floor)
		}
	}
	assert.Equal(t, "copy-fsync/size=1MiB/cache=cold", byKey["copyup/first-write/driver=overlay2/size=1MiB/cache=cold"].Floor)
	assert.Equal(t, "copy-fsync/size=1MiB/cache=cold", byKey["copyup/chmod/driver=overlay2/size=1MiB/cache=cold"].Floor)
	assert.Equal(t, "write/size=1MiB/cache=cold", byKey["copyup/second-write/driver=overlay2/size=1MiB/cache=cold"].Floor, "a write to a copied-up file copies nothing: its floor is a plain write")
	assert.Equal(t, results.Higher, byKey["inodes/layers-until-enospc/driver=overlay2/limit=small-fs"].Better)
	assert.Equal(t, results.Lower, byKey["inodes/image-inodes/driver=overlay2/layers=10/dirs=1000/files=20"].Better)
	// bench.txt carries better and exactness as benchfmt unit metadata.
	fromBench, err := results.ReadAny(filepath.Join(out, "bench.txt"))
	require.NoError(t, err)
	for _, b := range fromBench {
		r, ok := byKey[b.Key()]
		if assert.True(t, ok, "bench.txt's %s is in results.jsonl", b.Key()) {
			assert.Equal(t, r.Better, b.Better, b.Key())
			assert.Equal(t, r.Exact, b.Exact, b.Key())
			assert.Equal(t, r.Unit, b.Unit, b.Key())
		}
	}

	// Legacy overlay hard-links every unchanged file but copies every
	// directory into each layer: with many directories it needs several
	// times overlay2's inodes for the same image.
	ov := median(t, metricSamples(t, recs, "overlay", "image-inodes", "dirs=1000"))
	ov2 := median(t, metricSamples(t, recs, "overlay2", "image-inodes", "dirs=1000"))
	flat := median(t, metricSamples(t, recs, "floor", "image-inodes", "dirs=1000"))
	assert.Greater(t, ov, 3*ov2, "overlay %v inodes vs overlay2 %v", ov, ov2)
	assert.GreaterOrEqual(t, ov2, flat, "a layered image never needs fewer inodes than its flattened tree")

	// Copy-up copies the file: it grows with size and stays within a small
	// factor of a plain copy plus fsync of the same file.
	for _, cache := range []string{"cold", "warm"} {
		small := median(t, metricSamples(t, recs, "overlay2", "first-write", "size=1MiB", "cache="+cache))
		large := median(t, metricSamples(t, recs, "overlay2", "first-write", "size=16MiB", "cache="+cache))
		assert.Greater(t, large, small, "cache=%s: 16MiB copy-up %v ns vs 1MiB %v ns", cache, large, small)
		for _, size := range []string{"1MiB", "16MiB"} {
			for _, d := range []string{"overlay2", "overlay"} {
				up := median(t, metricSamples(t, recs, d, "first-write", "size="+size, "cache="+cache))
				floor := median(t, metricSamples(t, recs, "floor", "copy-fsync", "size="+size, "cache="+cache))
				assert.Less(t, up/floor, 3.0, "%s %s cache=%s: copy-up %v ns vs plain copy %v ns", d, size, cache, up, floor)
			}
		}
	}

	// Page cache: overlay2 and overlay read the one lower inode, so its
	// pages are shared; vfs gives every container its own copy of the file.
	for _, d := range []string{"overlay2", "overlay"} {
		copies := median(t, metricSamples(t, recs, d, "cache-copies", "containers=8", "size=16MiB"))
		assert.InDelta(t, 1.0, copies, 0.25, "%s: copies of the file in page cache with 8 containers", d)
	}
	copies := median(t, metricSamples(t, recs, "vfs", "cache-copies", "containers=8", "size=16MiB"))
	assert.InDelta(t, 8.0, copies, 1.0, "vfs: copies of the file in page cache with 8 containers")
}

// TestRunRecordsAFailureAndGoesOn fills the backing fs midway: the cases
// too large for it are recorded as failed with the errno, the others are
// measured, and the exit code says something failed.
func TestRunRecordsAFailureAndGoesOn(t *testing.T) {
	testenv.NeedRoot(t, whyRoot)
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	require.NoError(t, os.Mkdir(small, 0o755))
	// A 48 MiB tmpfs as the work directory, with --backing dir: a 64 MiB
	// file cannot be written. This test binary runs in a private mount
	// namespace (sandbox.RunTests), so the mount goes away with it.
	require.NoError(t, unix.Mount("tmpfs", small, "tmpfs", 0, "size=48m"))
	defer unix.Unmount(small, unix.MNT_DETACH)
	out := filepath.Join(dir, "out")
	stdout, stderr, code := unionbench(t, "run", "--out", out, "--workdir", small, "--backing", "dir",
		"--drivers", "overlay2", "--scenarios", "copyup", "--sizes", "4KiB,64MiB", "--count", "1")
	assert.Equal(t, 1, code, "stderr: %s", stderr)
	assert.Contains(t, stderr, "measurements failed")
	assert.Contains(t, stdout, "failed")

	recs, err := results.Read(filepath.Join(out, "results.jsonl"))
	require.NoError(t, err)
	failed, ok := 0, 0
	for _, r := range recs {
		size := ""
		for _, p := range r.Params {
			if p.Key == "size" {
				size = p.Value
			}
		}
		switch size {
		case "64MiB":
			if assert.True(t, r.Failed(), "%s %s 64MiB on a 48MiB fs", r.Driver, r.Metric) {
				assert.Contains(t, r.Error, "no space left on device")
				failed++
			}
		case "4KiB":
			assert.False(t, r.Failed(), "%s %s 4KiB: %s", r.Driver, r.Metric, r.Error)
			ok++
		}
	}
	assert.Positive(t, failed)
	assert.Positive(t, ok)
	entries, err := os.ReadDir(small)
	require.NoError(t, err)
	assert.Empty(t, entries, "the run removes its scratch state from the work directory")
}

// The full suite lets every driver build as deep as it can (the lookup and
// mount sweeps go to overlay2's kernel limit); an explicit --max-depth wins.
func TestFullSuiteGoesAsDeepAsEachDriverCan(t *testing.T) {
	rp, err := planRun(&runFlags{full: true, backing: "ext4", backingSize: "16GiB", workdir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, drivers.Deepest, rp.plan.MaxDepth)
	rp, err = planRun(&runFlags{full: true, maxDepth: 200, backing: "ext4", backingSize: "16GiB", workdir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, 200, rp.plan.MaxDepth)
	rp, err = planRun(&runFlags{backing: "ext4", backingSize: "16GiB", workdir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, 0, rp.plan.MaxDepth, "the quick suite keeps the drivers' defaults")
}

// A lookup run under --target-ci, in the default three passes: every
// timing of it took its samples in rounds with the floor, a record a
// pass, says why it stopped, and has a floor-relative twin over the same
// rounds.
func TestRunInterleavesLookups(t *testing.T) {
	testenv.NeedRoot(t, whyRoot)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	_, stderr, code := unionbench(t, "run", "--out", out, "--workdir", filepath.Join(dir, "work"), "--backing", "tmpfs",
		"--drivers", "overlay2,vfs", "--scenarios", "lookup", "--depths", "2", "--count", "5", "--target-ci", "10", "--budget", "300ms")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	assert.Contains(t, stderr, "until the 95% CI is within 10%, 300ms a case) in 3 passes")
	recs, err := results.Read(filepath.Join(out, "results.jsonl"))
	require.NoError(t, err)
	byKey := map[string]results.Record{}
	for _, r := range recs {
		byKey[fmt.Sprint(r.Key(), " pass ", r.Pass)] = r
	}
	ratios := 0
	for _, r := range recs {
		require.Equal(t, results.OK, r.Status, r.Key())
		assert.Contains(t, []int{1, 2, 3}, r.Pass, r.Key())
		assert.Len(t, r.Rounds, len(r.Samples), r.Key())
		assert.GreaterOrEqual(t, len(r.Samples), 2, "%s: ceil(5/3) samples a pass at least", r.Key())
		if r.Driver == "floor" {
			assert.Equal(t, results.StopWithDrivers, r.Stopped, r.Key())
			continue
		}
		assert.Contains(t, []results.Stop{results.StopTargetCI, results.StopBudget, results.StopMax}, r.Stopped, r.Key())
		if r.Unit == results.FloorRatioUnit {
			ratios++
			of := byKey[fmt.Sprint(strings.Replace(r.Key(), "-vs-floor/", "/", 1), " pass ", r.Pass)]
			assert.Equal(t, of.Rounds, r.Rounds, "%s: the rounds of %s", r.Key(), of.Key())
		}
	}
	assert.Equal(t, 3*2*2*4, ratios, "three passes, two drivers, cold and warm, four operations")
}

// --trace-functions starts the kernel's function tracer before anything
// is written; where the kernel refuses function tracing (this project's
// VM kernel does), the run says so in one line and leaves no results.
func TestRunTraceFunctionsRefusedOrRecorded(t *testing.T) {
	testenv.NeedRoot(t, whyRoot)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	stdout, stderr, code := unionbench(t, "run", "--out", out, "--workdir", filepath.Join(dir, "work"), "--backing", "tmpfs",
		"--drivers", "overlay2", "--scenarios", "mount", "--depths", "1", "--count", "2", "--trace-functions", "ovl_*")
	if code != 0 {
		assert.Equal(t, 1, code, "stdout: %s\nstderr: %s", stdout, stderr)
		assert.Regexp(t, `^unionbench run: --trace-functions "ovl_\*": .*\n$`, stderr)
		assert.NoDirExists(t, out, "nothing written")
		t.Skipf("this kernel refuses the function tracer: %s", strings.TrimSpace(stderr))
	}
	recs, err := results.Read(filepath.Join(out, "results.jsonl"))
	require.NoError(t, err)
	for _, r := range recs {
		assert.Equal(t, "ovl_*", r.Host.TracedFunctions, r.Key())
	}
	cur, err := os.ReadFile("/sys/kernel/tracing/current_tracer")
	if err == nil {
		assert.Equal(t, "nop\n", string(cur), "the tracer is off again")
	}
}
