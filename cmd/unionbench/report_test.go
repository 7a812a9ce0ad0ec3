package main

import (
	"bufio"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/render"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
	"github.com/unionbench/unionbench/reports/units"
)

// resultsForReport is a real results file: made by `unionbench run` here
// when the test runs as root (the run also writes its own report, checked
// too), the committed one from this VM otherwise.
func resultsForReport(t *testing.T) string {
	t.Helper()
	if !testenv.Root() {
		t.Log("not root: using the committed real run")
		return filepath.Join(realRun, "results.jsonl")
	}
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr, code := unionbench(t, "run", "--drivers", "overlay2,vfs", "--scenarios", "copyup,inodes",
		"--sizes", "4KiB,1MiB", "--count", "3", "--out", out, "--workdir", t.TempDir())
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	assert.Contains(t, stdout, "report: "+filepath.Join(out, "report", "report.html"))
	checkReport(t, filepath.Join(out, "report"), filepath.Join(out, "results.jsonl"))
	return filepath.Join(out, "results.jsonl")
}

func TestReportFromRealRun(t *testing.T) {
	in := resultsForReport(t)
	dir := filepath.Join(t.TempDir(), "report")
	start := time.Now()
	stdout, stderr, code := unionbench(t, "report", "-o", dir, in)
	t.Logf("unionbench report took %v", time.Since(start))
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "report: "+filepath.Join(dir, "report.html")+"\n", stdout)
	checkReport(t, dir, in)
}

// checkReport checks every section of a report and every number of its
// measurement tables against the raw samples of the results file.
func checkReport(t *testing.T, dir, in string) {
	t.Helper()
	mdb, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	md := append([]byte("\n"), mdb...) // every heading starts a line
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	recs, err := results.Read(in)
	require.NoError(t, err)

	for _, h := range []string{"# unionbench report", "## Claims", "## Hosts", "## Figures", "## Measurements", "## Quirks", "#### copyup", "#### inodes"} {
		assert.Contains(t, string(md), "\n"+h+"\n", "report.md has %q", h)
	}
	for _, id := range []string{`id="claims"`, `id="hosts"`, `id="figures"`, `id="measurements"`, `id="quirks"`} {
		assert.Contains(t, string(html), id)
	}
	assert.Contains(t, string(md), "| "+recs[0].RunID+" |", "the host table names the run")
	assert.Contains(t, string(md), "| "+recs[0].Host.Kernel+" |")
	assert.Contains(t, string(md), "| "+in+" |", "and the file it came from")

	// Figures: each one's PNG exists for the Markdown and its SVG is
	// inlined in the HTML, which fetches nothing.
	figs := regexp.MustCompile(`!\[[^]]*\]\((plots/[a-z0-9-]+)\.png\)`).FindAllStringSubmatch(string(md), -1)
	var names []string
	for _, f := range figs {
		names = append(names, filepath.Base(f[1]))
		for _, ext := range []string{".png", ".svg"} {
			st, err := os.Stat(filepath.Join(dir, f[1]+ext))
			if assert.NoError(t, err) {
				assert.Greater(t, st.Size(), int64(5000), f[1]+ext)
			}
		}
		assert.Contains(t, string(html), `id="fig-`+filepath.Base(f[1])+`"`)
	}
	assert.Equal(t, []string{"copyup-first-write", "copyup-chmod", "copyup-second-write", "inodes"}, names)
	assert.Equal(t, len(figs), strings.Count(string(html), "<svg"), "every figure inlined as SVG")
	for _, fetch := range []string{`src="http`, `href="http`, "@import", "url(http", "<script", "<link"} {
		assert.NotContains(t, string(html), fetch, "self-contained")
	}

	// Every table row against the raw samples.
	type key struct{ scenario, metric, variant, params string }
	raw := map[key][]float64{}
	unit := map[key]string{}
	floorOf := map[key]string{}   // a record's Floor
	floorCase := map[string]key{} // scenario and CaseKey of a floor record
	var want []key
	for _, r := range recs {
		var ps []string
		for _, p := range r.Params {
			ps = append(ps, p.Key+"="+p.Value)
		}
		k := key{r.Scenario, r.Metric, r.Variant, strings.Join(ps, " ")}
		if _, ok := unit[k]; !ok {
			want = append(want, k)
		}
		raw[k] = append(raw[k], r.Samples...)
		unit[k] = r.Unit
		floorOf[k] = r.Floor
		if r.Driver == dataset.FloorDriver {
			floorCase[r.Scenario+"\x00"+r.CaseKey()] = k
		}
	}
	median := func(xs []float64) float64 {
		s := slices.Sorted(slices.Values(xs))
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	nearestRank := func(xs []float64, p float64) float64 {
		s := slices.Sorted(slices.Values(xs))
		return s[int(math.Ceil(p/100*float64(len(s))))-1]
	}
	var got []key
	scenario := ""
	sc := bufio.NewScanner(strings.NewReader(string(md)))
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutPrefix(line, "#### "); ok {
			scenario = s
			continue
		}
		if strings.HasPrefix(line, "## Quirks") {
			break
		}
		if scenario == "" || !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| metric |") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		require.Len(t, cells, len(render.MetricColumns), line)
		k := key{scenario, cells[0], cells[1], cells[2]}
		got = append(got, k)
		xs, u := raw[k], unit[k]
		require.NotEmpty(t, xs, "a row for every measurement and no other: %v", k)
		assert.Equal(t, units.Format(median(xs), u), cells[3], "median %v", k)
		assert.Equal(t, units.Format(nearestRank(xs, 95), u), cells[4], "p95 %v", k)
		if s := stats.Summarize(xs); s.HasCI() {
			assert.Equal(t, units.Format(s.Lo, u)+" … "+units.Format(s.Hi, u), cells[5], "CI %v", k)
			assert.LessOrEqual(t, s.Lo, median(xs))
			assert.GreaterOrEqual(t, s.Hi, median(xs))
		} else {
			assert.Equal(t, "n/a", cells[5], "fewer than 6 samples: no 95%% interval %v", k)
		}
		assert.Equal(t, strconv.Itoa(len(xs)), cells[6], "n %v", k)
		ratio := "—"
		if k.variant != dataset.FloorDriver {
			fk, named := floorCase[k.scenario+"\x00"+floorOf[k]]
			if f := raw[fk]; named && len(f) > 0 && unit[fk] == u {
				ratio = render.FormatRatio(median(xs) / median(f))
			}
		}
		assert.Equal(t, ratio, cells[7], "ratio to floor %v", k)
	}
	assert.ElementsMatch(t, want, got, "one table row per measurement")
}

// chromiumBinary finds headless Chromium; without it the test fails in CI
// (CI=true) and skips elsewhere.
func chromiumBinary(t *testing.T) string {
	return testenv.NeedTool(t, "chromium|chromium-browser|google-chrome", "chromium")
}

// The HTML report loads and draws in a real browser: a screenshot of it
// is a page with tables and plots, not a blank or an error page.
func TestReportHTMLInChromium(t *testing.T) {
	chromium := chromiumBinary(t)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "report")
	_, stderr, code := unionbench(t, "report", "-o", dir, filepath.Join(realRun, "results.jsonl"))
	require.Equal(t, 0, code, stderr)
	shot := filepath.Join(tmp, "shot.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(tmp, "profile"), "--window-size=1280,2400",
		"--screenshot="+shot, "file://"+filepath.Join(dir, "report.html"))
	// Chromium writes crash reports and caches under HOME: keep them in
	// the test's directory.
	cmd.Env = append(os.Environ(), "HOME="+tmp, "XDG_CONFIG_HOME="+tmp, "XDG_CACHE_HOME="+tmp)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("chromium screenshot took %v", time.Since(start))
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	assert.Equal(t, 1280, b.Dx())
	assert.Equal(t, 2400, b.Dy())
	colors := map[[3]uint32]bool{}
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r>>8 < 200 || g>>8 < 200 || bl>>8 < 200 {
				ink++
			}
		}
	}
	assert.Greater(t, len(colors), 50, "text, tables and coloured plot lines, not a blank page")
	assert.Greater(t, float64(ink)/float64(b.Dx()*b.Dy()/4), 0.02, "enough drawn on the page")
}

// benchstat reads bench.txt as unionbench writes it, unchanged.
func TestReportBenchTxtReadsInBenchstat(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run benchstat with")
	}
	bench, err := filepath.Abs(filepath.Join(realRun, "bench.txt"))
	require.NoError(t, err)
	// The module's own golang.org/x/perf: no network, the version the
	// bench.txt tests were written against.
	cmd := exec.Command(goBin, "run", "golang.org/x/perf/cmd/benchstat", "-row", ".name", "-col", "/driver", bench)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	s := string(out)
	assert.Contains(t, s, "overlay2")
	assert.Contains(t, s, "vfs")
	assert.Contains(t, s, "sec/op", "ns/op is read as time")
	assert.Contains(t, s, "kernel: ")
	assert.NotContains(t, s, "parsing", "no parse errors")
}
