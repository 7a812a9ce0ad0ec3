package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzDecode: any file is refused with a file:line error (or "no results
// records") or gives valid records that survive a round trip; the reader
// never panics. DecodeBench gets the same input.
func FuzzDecode(f *testing.F) {
	good := `{"schema":1,"run_id":"r","time":"2026-11-28T00:00:00Z","host":{},"backing":{"kind":"ext4"},"driver":"overlay2","variant":"overlay2","scenario":"copyup","metric":"first-write","params":[{"key":"size","value":"4KiB"}],"unit":"ns","samples":[1,2,3]}`
	for _, s := range []string{
		good + "\n",
		good + "\n" + good + "\n",
		good[:40],
		strings.Replace(good, `"schema":1`, `"schema":2`, 1),
		strings.Replace(good, `"schema":1`, `"schema":2,"status":"ok","better":"higher","exact":true,"floor":"copy-fsync/size=4KiB"`, 1),
		strings.Replace(good, `"schema":1`, `"schema":2,"status":"unsupported","reason":"no aufs"`, 1),
		strings.Replace(good, `"schema":1`, `"schema":2,"status":"maybe","better":"lower"`, 1),
		"Unit ns/op better=higher assume=exact\nBenchmarkX/op=w1 1 2 ns/op\n",
		strings.Replace(good, `"samples":[1,2,3]`, `"samples":[],"error":"ENOSPC"`, 1),
		"\n\n",
		"BenchmarkCopyUp/driver=overlay2/size=4KiB 1 1000 ns/op\n",
		"kernel: 6.1\nBenchmarkX 1 2 ns/op\nBenchmarkX 1 oops ns/op\n",
		"\xff\xfe\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := Decode(bytes.NewReader(b), "f.jsonl")
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) && !strings.Contains(err.Error(), "no results records") {
				t.Fatalf("error without file and line: %v", err)
			}
		} else {
			var buf bytes.Buffer
			for i := range recs {
				if err := recs[i].Validate(); err != nil {
					t.Fatalf("Decode returned an invalid record: %v", err)
				}
				line, err := json.Marshal(&recs[i])
				if err != nil {
					t.Fatal(err)
				}
				buf.Write(append(line, '\n'))
			}
			again, err := Decode(&buf, "again.jsonl")
			if err != nil || len(again) != len(recs) {
				t.Fatalf("round trip: %d records, then %d, %v", len(recs), len(again), err)
			}
		}
		DecodeBench(bytes.NewReader(b), "f.txt") // must not panic
	})
}
