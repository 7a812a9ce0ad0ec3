package results

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"
)

// BenchName is a record's Go benchmark name:
// BenchmarkCopyup/op=first-write/driver=overlay2/backing=ext4/size=4KiB/cache=cold.
// Every part is key=value so benchstat can split and group by any of them.
func BenchName(r *Record) string {
	var b strings.Builder
	b.WriteString("Benchmark")
	b.WriteString(title(r.Scenario))
	fmt.Fprintf(&b, "/op=%s/driver=%s/backing=%s", clean(r.Metric), clean(r.Variant), clean(r.Backing.Kind))
	for _, p := range r.Params {
		fmt.Fprintf(&b, "/%s=%s", clean(p.Key), clean(p.Value))
	}
	return b.String()
}

// benchUnit maps a record unit to a benchmark unit: timings become ns/op so
// benchstat treats them as time.
func benchUnit(u string) string {
	if u == "ns" {
		return "ns/op"
	}
	return clean(u) + "/op"
}

// WriteBench writes records in Go benchmark format (see BenchWriter).
func WriteBench(w io.Writer, recs []Record) error {
	bw := NewBenchWriter(w)
	for i := range recs {
		if err := bw.Write(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// BenchWriter writes records in Go benchmark format as they come: the host
// facts as config lines (written again whenever they change, as when
// several runs are merged), each unit's meaning as a benchfmt unit
// metadata line before its first use (`Unit ns/op better=lower
// assume=nothing`, `Unit inodes/op better=lower assume=exact`), then one
// line per sample (iteration count 1), which is what benchstat expects of
// repeated runs. Measurements that were not made are skipped: benchstat
// has no notion of them.
type BenchWriter struct {
	w      io.Writer
	config map[string]string
	units  map[string]string // bench unit -> its metadata as written
}

// NewBenchWriter writes to w.
func NewBenchWriter(w io.Writer) *BenchWriter {
	return &BenchWriter{w: w, units: map[string]string{}}
}

// Write writes one record.
func (bw *BenchWriter) Write(r *Record) error {
	if r.Failed() {
		return nil
	}
	cfg := Config(r)
	if err := writeConfig(bw.w, bw.config, cfg); err != nil {
		return err
	}
	bw.config = cfg
	unit, meta := benchUnit(r.Unit), unitMeta(r)
	if have, ok := bw.units[unit]; ok && have != meta {
		// benchfmt's unit metadata holds for a whole file: a record
		// whose unit means something else than the same unit's earlier
		// records gets a unit of its own rather than a contradiction.
		qualified := r.Unit + "-" + string(r.Better)
		if r.Exact {
			qualified += "-exact"
		}
		unit = benchUnit(qualified)
	}
	if _, ok := bw.units[unit]; !ok {
		if _, err := fmt.Fprintf(bw.w, "Unit %s %s\n", unit, meta); err != nil {
			return err
		}
		bw.units[unit] = meta
	}
	name := BenchName(r)
	for _, s := range r.Samples {
		if _, err := fmt.Fprintf(bw.w, "%s 1 %g %s\n", name, s, unit); err != nil {
			return err
		}
	}
	return nil
}

// unitMeta is a record's meaning as benchfmt unit metadata.
func unitMeta(r *Record) string {
	assume := "nothing"
	if r.Exact {
		assume = "exact"
	}
	return "better=" + string(r.Better) + " assume=" + assume
}

// writeConfig writes the config lines of cfg that differ from last.
func writeConfig(w io.Writer, last, cfg map[string]string) error {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if last != nil && last[k] == cfg[k] {
			continue
		}
		if _, err := fmt.Fprintf(w, "%s: %s\n", k, cfg[k]); err != nil {
			return err
		}
	}
	return nil
}

// Config is the benchmark config (key: value lines) of a record's host.
func Config(r *Record) map[string]string {
	one := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	return map[string]string{
		"goos":       "linux",
		"kernel":     one(r.Host.Kernel),
		"distro":     one(r.Host.Distro),
		"cpu":        one(r.Host.CPU),
		"emulated":   fmt.Sprint(r.Host.Emulated),
		"unionbench": one(r.Host.Version),
		"run":        r.RunID,
	}
}

func title(s string) string {
	if s == "" {
		return "Unnamed"
	}
	r := []rune(clean(s))
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// clean makes a string safe inside a benchmark name: no spaces, and no
// slash inside a part.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '/' {
			return '_'
		}
		return r
	}, s)
}
