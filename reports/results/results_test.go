package results

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/perf/benchfmt"
)

func sample(metric string, samples ...float64) Record {
	return Record{
		Schema: SchemaVersion, RunID: "r1", Time: time.Unix(1, 0).UTC(),
		Host:    Host{Kernel: "6.1.0-13-amd64", Distro: "Debian GNU/Linux 12", CPU: "Test CPU"},
		Backing: Backing{Kind: "ext4"},
		Driver:  "overlay2", Variant: "overlay2+metacopy=on", MountOptions: []string{"metacopy=on"},
		Scenario: "copyup", Metric: metric, Unit: "ns",
		Params:  []Param{P("size", "4KiB"), P("cache", "cold")},
		Samples: samples, Status: OK, Better: Lower,
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "results.jsonl")
	w, err := Create(p)
	require.NoError(t, err)
	a, b := sample("first-write", 1, 2, 3), sample("chmod", 4)
	require.NoError(t, w.Write(&a))
	require.NoError(t, w.Write(&b))
	require.NoError(t, w.Close())
	got, err := Read(p)
	require.NoError(t, err)
	assert.Equal(t, []Record{a, b}, got)
	assert.Equal(t, "copyup/first-write/driver=overlay2+metacopy=on/size=4KiB/cache=cold", a.Key())
}

func TestWriterRefusesInvalidRecords(t *testing.T) {
	w, err := Create(filepath.Join(t.TempDir(), "r.jsonl"))
	require.NoError(t, err)
	defer w.Close()
	r := sample("x")
	assert.ErrorContains(t, w.Write(&r), "status ok without samples")
}

func TestReadNamesFileAndLine(t *testing.T) {
	good := sample("first-write", 1)
	var buf bytes.Buffer
	line, err := jsonLine(&good)
	require.NoError(t, err)
	cases := map[string]struct {
		content string
		line    int
		want    string
	}{
		"truncated last line": {line + line[:len(line)/2], 2, "not a results record"},
		"garbage":             {line + "\x00\x01\x02garbage\n", 2, "not a results record"},
		"future schema":       {strings.Replace(line, `"schema":2`, `"schema":99`, 1), 1, "newer than this unionbench"},
		"missing field":       {strings.Replace(line, `"metric":"first-write",`, ``, 1), 1, "missing metric"},
		"unknown field":       {strings.Replace(line, `"schema":2`, `"schema":2,"bogus":true`, 1), 1, "bogus"},
		// Schema 1 had no reason: read as one, the line became an ok
		// record with a reason, which nothing writes (found by FuzzDecode).
		"schema 1 with a schema 2 field": {strings.Replace(line, `"schema":2`, `"schema":1`, 1), 1, "schema 1 record with status, a schema 2 field"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.jsonl")
			require.NoError(t, os.WriteFile(p, []byte(c.content), 0o644))
			_, err := Read(p)
			var le *LineError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, c.line, le.Line)
			assert.Contains(t, err.Error(), p+":")
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err = Decode(&buf, "empty.jsonl")
	assert.ErrorContains(t, err, "no results records")
}

func jsonLine(r *Record) (string, error) {
	p := filepath.Join(os.TempDir(), "line.jsonl")
	defer os.Remove(p)
	w, err := Create(p)
	if err != nil {
		return "", err
	}
	if err := w.Write(r); err != nil {
		return "", err
	}
	w.Close()
	b, err := os.ReadFile(p)
	return string(b), err
}

// bench.txt must parse with golang.org/x/perf/benchfmt (what benchstat
// uses), with every name part a key=value and the host facts as config.
func TestBenchFormatParsesWithBenchfmt(t *testing.T) {
	recs := []Record{sample("first-write", 1000, 1100), sample("chmod", 50)}
	failed := sample("second-write")
	failed.Status, failed.Error = Failed, "ENOSPC"
	recs = append(recs, failed)
	var buf bytes.Buffer
	require.NoError(t, WriteBench(&buf, recs))
	r := benchfmt.NewReader(&buf, "bench.txt")
	var names []string
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		names = append(names, string(res.Name))
		assert.Equal(t, "6.1.0-13-amd64", string(res.GetConfig("kernel")))
		base, parts := res.Name.Parts()
		assert.Equal(t, "Copyup", string(base))
		for _, p := range parts {
			assert.Contains(t, string(p), "=", "every name part is key=value")
		}
		require.Len(t, res.Values, 1)
		assert.Equal(t, "sec/op", res.Values[0].Unit, "ns/op is read as time")
	}
	require.NoError(t, r.Err())
	assert.Equal(t, []string{
		"Copyup/op=first-write/driver=overlay2+metacopy=on/backing=ext4/size=4KiB/cache=cold",
		"Copyup/op=first-write/driver=overlay2+metacopy=on/backing=ext4/size=4KiB/cache=cold",
		"Copyup/op=chmod/driver=overlay2+metacopy=on/backing=ext4/size=4KiB/cache=cold",
	}, names, "one line per sample; failed measurements are left out")
}

// DecodeBench is WriteBench's inverse: the same keys and samples come
// back, so compare pairs bench.txt files as it pairs JSONL.
func TestDecodeBenchRoundTrip(t *testing.T) {
	recs := []Record{sample("first-write", 1000, 1100, 1200), sample("chmod", 50)}
	var buf bytes.Buffer
	require.NoError(t, WriteBench(&buf, recs))
	got, err := DecodeBench(&buf, "bench.txt")
	require.NoError(t, err)
	require.Len(t, got, 2)
	for i, r := range got {
		assert.Equal(t, recs[i].Key(), r.Key())
		assert.Equal(t, recs[i].Samples, r.Samples)
		assert.Equal(t, "ns", r.Unit)
		assert.Equal(t, "6.1.0-13-amd64", r.Host.Kernel)
		assert.Equal(t, "r1", r.RunID)
		assert.Equal(t, "overlay2", r.Driver)
	}
	_, err = DecodeBench(strings.NewReader("BenchmarkX 1 2 ns/op\nBenchmarkX 1 oops ns/op\n"), "b.txt")
	var le *LineError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, 2, le.Line)
}

// A schema-1 line is read with the meaning schema 1's conventions gave
// it, and the conventions live nowhere else.
func TestUpgradeSchema1(t *testing.T) {
	const head = `{"schema":1,"run_id":"r","time":"2026-11-28T00:00:00Z","host":{"kernel":"6.1"},"backing":{"kind":"ext4"},`
	lines := []string{
		head + `"driver":"floor","variant":"floor","scenario":"copyup","metric":"copy-fsync","params":[{"key":"size","value":"4KiB"}],"unit":"ns","samples":[5,6]}`,
		head + `"driver":"overlay2","variant":"overlay2","scenario":"copyup","metric":"first-write","params":[{"key":"size","value":"4KiB"},{"key":"cache","value":"cold"}],"unit":"ns","samples":[7,9]}`,
		head + `"driver":"overlay2","variant":"overlay2","scenario":"copyup","metric":"second-write","params":[{"key":"size","value":"4KiB"}],"unit":"ns","samples":[1,1]}`,
		head + `"driver":"vfs","variant":"vfs","scenario":"inodes","metric":"layers-until-enospc","params":[],"unit":"count","samples":[35]}`,
		head + `"driver":"aufs","variant":"aufs","scenario":"copyup","metric":"all","params":[],"unit":"n/a","samples":[],"error":"aufs is not in /proc/filesystems","extra":{"unsupported":true}}`,
		head + `"driver":"vfs","variant":"vfs","scenario":"copyup","metric":"chmod","params":[],"unit":"ns","samples":[],"error":"EIO"}`,
	}
	recs, err := Decode(strings.NewReader(strings.Join(lines, "\n")), "old.jsonl")
	require.NoError(t, err)
	for _, r := range recs {
		assert.Equal(t, SchemaVersion, r.Schema)
		assert.NoError(t, r.Validate())
	}
	assert.Equal(t, OK, recs[0].Status)
	assert.Equal(t, "copy-fsync/size=4KiB", recs[1].Floor)
	assert.Equal(t, Lower, recs[1].Better)
	assert.False(t, recs[1].Exact, "varying samples")
	assert.Equal(t, "", recs[2].Floor, "second-write has no floor")
	assert.True(t, recs[2].Exact, "constant samples were compared as exact")
	assert.Equal(t, Higher, recs[3].Better)
	assert.Equal(t, Unsupported, recs[4].Status)
	assert.Equal(t, "aufs is not in /proc/filesystems", recs[4].Reason)
	assert.Empty(t, recs[4].Error)
	assert.NotContains(t, recs[4].Extra, "unsupported")
	assert.Equal(t, Failed, recs[5].Status)
	assert.Equal(t, "EIO", recs[5].Why())
}

// Better and Exact travel through bench.txt as benchfmt unit metadata,
// whatever the metric is called; a unit whose meaning differs between
// records gets a name of its own, so the file stays one benchfmt reads.
func TestBenchUnitMetadata(t *testing.T) {
	fits := sample("w1", 35, 36)
	fits.Unit, fits.Better = "count", Higher
	inodes := sample("img", 7, 9)
	inodes.Unit, inodes.Exact = "inodes", true
	other := sample("odd", 3)
	other.Unit = "count" // lower is better, unlike fits
	var buf bytes.Buffer
	require.NoError(t, WriteBench(&buf, []Record{sample("t", 1, 2), fits, inodes, other}))
	assert.Contains(t, buf.String(), "Unit ns/op better=lower assume=nothing\n")
	assert.Contains(t, buf.String(), "Unit count/op better=higher assume=exact\n"[:len("Unit count/op better=higher")])
	assert.Contains(t, buf.String(), "Unit inodes/op better=lower assume=exact\n")
	got, err := DecodeBench(&buf, "bench.txt")
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, Lower, got[0].Better)
	assert.False(t, got[0].Exact)
	assert.Equal(t, Higher, got[1].Better)
	assert.Equal(t, "w1", got[1].Metric)
	assert.Equal(t, Lower, got[2].Better)
	assert.True(t, got[2].Exact)
	assert.Equal(t, Lower, got[3].Better, "a unit that means two things is split, not contradicted")
	assert.Equal(t, "count", got[3].Unit, "and read back as the unit that was measured")
	noisy := sample("cached", 5, 6)
	noisy.Unit = "inodes" // noisy, unlike the exact inodes before it
	buf.Reset()
	require.NoError(t, WriteBench(&buf, []Record{inodes, noisy}))
	got, err = DecodeBench(&buf, "bench.txt")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, []string{"inodes", "inodes"}, []string{got[0].Unit, got[1].Unit})
	assert.Equal(t, []bool{true, false}, []bool{got[0].Exact, got[1].Exact})
	for _, r := range got {
		assert.Equal(t, OK, r.Status)
		assert.NoError(t, r.Validate())
	}
}

// Passes keeps one group per run and pass: pass 1 of two runs in one file
// are two passes, not one, and records taken once are left out.
func TestPassesGroupByRunAndPass(t *testing.T) {
	var p Passes
	for _, r := range []Record{
		{RunID: "a", Pass: 1, Samples: []float64{1, 2}},
		{RunID: "a", Pass: 2, Samples: []float64{3}},
		{RunID: "b", Pass: 1, Samples: []float64{4}},
		{RunID: "a", Pass: 1, Samples: []float64{5}},
		{RunID: "a", Samples: []float64{6}},
	} {
		p.Add(&r)
	}
	assert.Equal(t, [][]float64{{1, 2, 5}, {3}, {4}}, p.Samples)
}
