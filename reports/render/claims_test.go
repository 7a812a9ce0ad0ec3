package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/reports/dataset"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/units"
)

// host is the group every synthetic record belongs to unless a test says
// otherwise.
var host = results.Host{Kernel: "6.1.192-aufs", CPU: "qemu", Emulated: true}

func claimRec(h results.Host, scenario, metric, driver, unit string, exact bool, params []results.Param, samples ...float64) results.Record {
	return results.Record{Schema: results.SchemaVersion, RunID: "r", Host: h, Backing: results.Backing{Kind: "ext4"},
		Scenario: scenario, Metric: metric, Driver: driver, Variant: driver, Params: params, Unit: unit,
		Samples: samples, Status: results.OK, Better: results.Lower, Exact: exact}
}

// timing is eight noisy samples around v (±2%): enough for a 95%
// confidence interval of the median, so two timings a few percent apart
// are told apart and two equal ones are not.
func timing(v float64) []float64 {
	var s []float64
	for i := range 8 {
		s = append(s, v*(0.98+0.005*float64(i)))
	}
	return s
}

func ps(kv ...string) []results.Param {
	var out []results.Param
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, results.P(kv[i], kv[i+1]))
	}
	return out
}

// lookupRecs is aufs and overlay2 cold stats at depth 1 and 64.
func lookupRecs(aufs1, aufs64, ov1, ov64 float64) []results.Record {
	r := func(drv, depth string, v float64) results.Record {
		return claimRec(host, "lookup", "stat", drv, "ns", false, ps("depth", depth, "cache", "cold"), timing(v)...)
	}
	return []results.Record{r("aufs", "1", aufs1), r("aufs", "64", aufs64), r("overlay2", "1", ov1), r("overlay2", "64", ov64),
		// warm stats do not bear on the claim: a warm dentry cache
		// answers whatever the depth.
		claimRec(host, "lookup", "stat", "aufs", "ns", false, ps("depth", "64", "cache", "warm"), timing(1)...)}
}

func copyupRecs(aufs, overlay2, overlay float64) []results.Record {
	r := func(drv string, v float64) results.Record {
		return claimRec(host, "copyup", "first-write", drv, "ns", false, ps("size", "1MiB", "cache", "cold"), timing(v)...)
	}
	return []results.Record{r("aufs", aufs), r("overlay2", overlay2), r("overlay", overlay)}
}

func pagecacheRecs(copies map[string]float64) []results.Record {
	var out []results.Record
	for _, drv := range []string{"aufs", "overlay", "overlay2", "vfs"} {
		if v, ok := copies[drv]; ok {
			out = append(out,
				claimRec(host, "pagecache", "cache-copies", drv, "ratio", true, ps("containers", "1", "size", "32MiB"), 1, 1, 1),
				claimRec(host, "pagecache", "cache-copies", drv, "ratio", true, ps("containers", "8", "size", "32MiB"), v, v, v))
		}
	}
	return out
}

func inodeRecs(overlay, overlay2, layersOverlay, layersOverlay2 float64) []results.Record {
	shape := ps("layers", "10", "dirs", "1000", "files", "20")
	limit := ps("limit", "small-fs")
	fits := func(drv string, v float64) results.Record {
		r := claimRec(host, "inodes", "layers-until-enospc", drv, "count", true, limit, v)
		r.Better = results.Higher
		return r
	}
	return []results.Record{
		claimRec(host, "inodes", "image-inodes", "overlay", "inodes", true, shape, overlay),
		claimRec(host, "inodes", "image-inodes", "overlay2", "inodes", true, shape, overlay2),
		fits("overlay", layersOverlay), fits("overlay2", layersOverlay2),
	}
}

func deviceRecs(drv string, small, large float64) []results.Record {
	r := func(metric, unit, size string, exact bool, samples ...float64) results.Record {
		return claimRec(host, "copyup", metric, drv, unit, exact, ps("size", size, "cache", "cold"), samples...)
	}
	return []results.Record{
		r("first-write", "ns", "4KiB", false, timing(1e6)...),
		r("first-write", "ns", "1MiB", false, timing(4e6)...),
		r("first-write-device-bytes", "bytes", "4KiB", true, small, small, small),
		r("first-write-device-bytes", "bytes", "1MiB", true, large, large, large),
	}
}

func mountRecs(d1, d64 float64) []results.Record {
	return []results.Record{
		claimRec(host, "mount", "mount", "overlay2", "ns", false, ps("depth", "1"), timing(d1)...),
		claimRec(host, "mount", "mount", "overlay2", "ns", false, ps("depth", "64"), timing(d64)...),
	}
}

// mountRecsN is mountRecs with n samples each, too few for a CI.
func mountRecsN(n int, d1, d64 float64) []results.Record {
	recs := mountRecs(d1, d64)
	for i := range recs {
		recs[i].Samples = recs[i].Samples[:n]
	}
	return recs
}

// claimRows renders report.md of recs and returns, per claim text, its
// row's cells (measurements, verdict) of the named group's table.
func claimRows(t *testing.T, recs []results.Record) map[string]map[string][2]string {
	t.Helper()
	r, err := Build(dataset.New(recs))
	require.NoError(t, err)
	var md bytes.Buffer
	require.NoError(t, r.Markdown(&md))
	out := map[string]map[string][2]string{}
	group := ""
	for _, line := range strings.Split(md.String(), "\n") {
		if g, ok := strings.CutPrefix(line, "### Claims on "); ok {
			group = g
			out[group] = map[string][2]string{}
			continue
		}
		if strings.HasPrefix(line, "## Hosts") {
			break
		}
		for _, cl := range Claims {
			if strings.HasPrefix(line, "| "+cl.Text+" |") {
				cells := strings.Split(strings.Trim(line, "| "), " | ")
				require.Len(t, cells, 4, line)
				out[group][cl.Text] = [2]string{cells[2], cells[3]}
			}
		}
	}
	return out
}

// only is the rows of the single group of recs.
func only(t *testing.T, recs []results.Record) map[string][2]string {
	t.Helper()
	rows := claimRows(t, recs)
	require.Len(t, rows, 1)
	for _, r := range rows {
		require.Len(t, r, len(Claims), "every claim has a row")
		return r
	}
	return nil
}

func TestClaimVerdicts(t *testing.T) {
	c1, c2, c3, c4, c5, c6 := Claims[0].Text, Claims[1].Text, Claims[2].Text, Claims[3].Text, Claims[4].Text, Claims[5].Text
	for _, tc := range []struct {
		name  string
		recs  []results.Record
		claim string
		// verdict is the start of the verdict cell; evidence what the
		// measurements cell must contain.
		verdict, evidence string
	}{
		{"lookup supported", lookupRecs(30e3, 250e3, 27e3, 184e3), c1, "supported", "dentry-cold stat, depth 1 → 64: aufs 29.93µs [29.4µs, 30.3µs] → 249.4µs [245µs, 252.5µs]; overlay2 26.93µs [26.46µs, 27.27µs] → 183.5µs [180.3µs, 185.8µs]"},
		{"lookup contradicted: flat with depth", lookupRecs(30e3, 30e3, 27e3, 184e3), c1, "contradicted: aufs is not slower than overlay2", ""},
		{"lookup contradicted: faster than overlay2", lookupRecs(30e3, 100e3, 27e3, 184e3), c1, "contradicted: aufs is not slower than overlay2 at depth 64", "overlay2 26.93µs [26.46µs, 27.27µs] → 183.5µs"},
		{"lookup shrinking", lookupRecs(250e3, 30e3, 27e3, 184e3), c1, "contradicted: aufs stat at depth 64 is not slower than at depth 1", ""},
		{"lookup without aufs", lookupRecs(30e3, 250e3, 27e3, 184e3)[2:4], c1, "not measured: no aufs lookup results", ""},
		{"lookup one depth", lookupRecs(30e3, 250e3, 27e3, 184e3)[1:4], c1, "not measured: aufs lookup measured at one depth only", ""},

		{"copy-up supported", copyupRecs(9e6, 4e6, 5e6), c2, "supported", "size=1MiB cache=cold: aufs 8.977ms [8.82ms, 9.09ms], overlay2 3.99ms [3.92ms, 4.04ms]"},
		{"copy-up contradicted", copyupRecs(3e6, 4e6, 5e6), c2, "contradicted", "aufs 2.993ms [2.94ms, 3.03ms], overlay 4.987ms"},
		{"copy-up within noise", copyupRecs(4e6, 4e6, 2e6), c2, "inconclusive: the difference is within the noise", ""},
		{"copy-up without aufs", copyupRecs(9e6, 4e6, 5e6)[1:], c2, "not measured: no aufs copyup results", ""},

		{"page cache supported", pagecacheRecs(map[string]float64{"aufs": 1, "overlay2": 1, "overlay": 1, "vfs": 8}), c3, "supported", "vfs: 8 copies for 8 containers"},
		{"page cache, vfs absent", pagecacheRecs(map[string]float64{"aufs": 1, "overlay2": 1}), c3, "supported: not measured for overlay, vfs", ""},
		{"page cache contradicted", pagecacheRecs(map[string]float64{"aufs": 8, "overlay2": 1, "vfs": 8}), c3, "contradicted: aufs keep a copy per container", "aufs: 8 copies"},
		{"page cache vfs shares", pagecacheRecs(map[string]float64{"overlay2": 1, "vfs": 1}), c3, "contradicted: vfs shares", ""},
		{"page cache one container", pagecacheRecs(map[string]float64{"overlay2": 1})[:1], c3, "not measured: no pagecache results", ""},

		{"inodes supported", inodeRecs(11000, 1576, 20, 115), c4, "supported", "overlay 11000 inodes, overlay2 1576 inodes"},
		{"inodes contradicted", inodeRecs(1500, 1576, 120, 115), c4, "contradicted", ""},
		{"inodes equal", inodeRecs(1576, 1576, 20, 115)[:2], c4, "contradicted: overlay uses no more inodes", ""},
		{"inodes without overlay", inodeRecs(11000, 1576, 20, 115)[1:2], c4, "not measured: no overlay inodes results", ""},

		{"whole file supported", deviceRecs("overlay2", 118784, 1171456), c5, "supported", "wrote 1.117 MiB, first write 4KiB → 1MiB from 997.5µs [980µs, 1.01ms] to 3.99ms [3.92ms, 4.04ms]"},
		{"whole file contradicted", deviceRecs("overlay2", 118784, 120000), c5, "contradicted: overlay2 wrote less than half the file", ""},
		{"whole file, vfs only", deviceRecs("vfs", 20480, 20480), c5, "not measured: no copy-up device-bytes results", ""},

		{"mount supported", mountRecs(1e6, 3e6), c6, "supported", "depth 1 → 64"},
		{"mount contradicted", mountRecs(3e6, 1e6), c6, "contradicted", ""},
		{"mount not measured", nil, c6, "not measured: no overlay2 mount results", ""},
		// Too few samples for a confidence interval: five a side reach
		// significance by Mann-Whitney, three cannot.
		{"mount, five samples", mountRecsN(5, 1e6, 3e6), c6, "supported", "depth 1 → 64: overlay2 990µs → 2.97ms"},
		{"mount, three samples", mountRecsN(3, 1e6, 3e6), c6, "inconclusive: the difference is within the noise", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A record of another scenario keeps the report from being
			// empty when a case has no records at all.
			recs := append(tc.recs, claimRec(host, "other", "x", "overlay2", "ns", false, nil, 1))
			row := only(t, recs)[tc.claim]
			assert.True(t, strings.HasPrefix(row[1], tc.verdict), "verdict %q, want %q", row[1], tc.verdict)
			assert.Contains(t, row[0], tc.evidence)
		})
	}
}

// A claim compares only measurements of one host group: aufs timed on an
// emulated CPU is never set against overlay2 timed natively.
func TestClaimsStayInTheirGroup(t *testing.T) {
	recs := lookupRecs(30e3, 250e3, 27e3, 184e3)
	native := results.Host{Kernel: "6.18.44", CPU: "AMD EPYC"}
	for i := range recs {
		if recs[i].Driver == "overlay2" {
			recs[i].Host = native
		}
	}
	rows := claimRows(t, recs)
	require.Len(t, rows, 2)
	var emulated, nativeRows map[string][2]string
	for label, r := range rows {
		if strings.Contains(label, "EMULATED") {
			emulated = r
		} else {
			nativeRows = r
		}
	}
	require.NotNil(t, emulated)
	require.NotNil(t, nativeRows)
	assert.Equal(t, "not measured: aufs grows with depth; no overlay2 lookup results", emulated[Claims[0].Text][1])
	assert.Equal(t, "not measured: no aufs lookup results", nativeRows[Claims[0].Text][1])
	assert.Contains(t, emulated[Claims[0].Text][0], "aufs 29.93µs", "the emulated group's own aufs figures")
	assert.NotContains(t, emulated[Claims[0].Text][0], "overlay2")
}

// An aufs the host cannot mount says so, with the reason its records give.
func TestClaimNamesUnsupportedDriver(t *testing.T) {
	na := claimRec(host, "copyup", "first-write", "aufs", "ns", false, ps("size", "1MiB", "cache", "cold"))
	na.Status, na.Samples, na.Reason = results.Unsupported, nil, "aufs is not in /proc/filesystems"
	row := only(t, append(copyupRecs(9e6, 4e6, 5e6)[1:], na))[Claims[1].Text]
	assert.Equal(t, "not measured: aufs unsupported here (aufs is not in /proc/filesystems)", row[1])

	failed := na
	failed.Status, failed.Reason, failed.Error = results.Failed, "", "open: EIO"
	row = only(t, append(copyupRecs(9e6, 4e6, 5e6)[1:], failed))[Claims[1].Text]
	assert.Equal(t, "not measured: aufs copyup failed (open: EIO)", row[1])
}

// The committed real run (overlay2 and vfs, copyup and inodes): no aufs,
// no legacy overlay, no pagecache, so only claim 5 has a verdict, read
// from the run's own medians.
func TestClaimsOnSmallRun(t *testing.T) {
	s, err := dataset.Load("../testdata/small-run/results.jsonl")
	require.NoError(t, err)
	require.Len(t, s.Groups, 1)
	r, err := Build(s)
	require.NoError(t, err)
	var md bytes.Buffer
	require.NoError(t, r.Markdown(&md))
	text := md.String()
	claims := strings.Index(text, "## Claims")
	require.GreaterOrEqual(t, claims, 0)
	assert.Less(t, claims, strings.Index(text, "## Hosts"), "the report opens with the claims")

	got := map[string][2]string{}
	for _, row := range r.Groups[0].Claims.Rows {
		got[row[0].Text] = [2]string{row[2].Text, row[3].Text}
	}
	assert.Equal(t, "not measured: no aufs lookup results", got[Claims[0].Text][1])
	assert.Equal(t, "not measured: no aufs copyup results", got[Claims[1].Text][1])
	assert.Equal(t, "not measured: no pagecache results", got[Claims[2].Text][1])
	assert.Equal(t, "not measured: no overlay inodes results", got[Claims[3].Text][1])
	assert.Equal(t, "supported", got[Claims[4].Text][1])
	assert.Equal(t, "not measured: no overlay2 mount results", got[Claims[5].Text][1])

	// The evidence is the run's own median, as the measurement table
	// shows it.
	dev := s.Groups[0].Select("copyup", "first-write-device-bytes", results.P("size", "1MiB"), results.P("cache", "cold"))
	var ov2 *dataset.Measurement
	for _, m := range dev {
		if m.Variant == "overlay2" {
			ov2 = m
		}
	}
	require.NotNil(t, ov2)
	assert.Contains(t, got[Claims[4].Text][0], fmt.Sprintf("a 1MiB file (cache=cold) wrote %s", units.Format(ov2.Summary.Median, "bytes")))
	assert.NotContains(t, got[Claims[4].Text][0], "vfs", "vfs has nothing to copy up")

	var html bytes.Buffer
	require.NoError(t, r.HTML(&html, nil))
	assert.Contains(t, html.String(), `<h2 id="claims">Claims</h2>`)
	assert.Less(t, strings.Index(html.String(), `id="claims"`), strings.Index(html.String(), `id="hosts"`))
}
