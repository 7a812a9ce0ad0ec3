package results

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// ReadAny reads a results file in either of unionbench's formats: JSONL
// (results.jsonl) or Go benchmark format (bench.txt, or the output of
// `go test -bench` on a VM). The format is told from the first non-blank
// byte: a JSONL record starts with '{', a benchmark file never does.
func ReadAny(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%s: no results records", path)
			}
			return nil, err
		}
		if b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r' {
			br.ReadByte()
			continue
		}
		// A .jsonl file is JSON whatever it starts with, so garbage in it
		// is reported with its line rather than as "no benchmark results".
		if b[0] == '{' || strings.HasSuffix(path, ".jsonl") {
			return Decode(br, path)
		}
		return DecodeBench(br, path)
	}
}

// DecodeBench reads Go benchmark format into records, the inverse of
// WriteBench: every line of the same benchmark, unit and host config
// becomes one sample of one record. Names are split into key=value parts;
// op= is the metric, driver= the variant and backing= the backing
// filesystem, the rest are parameters in their order. Names written by
// `go test -bench` without an op= part get the unit as their metric, and
// the trailing -GOMAXPROCS is dropped. Unit metadata lines (better=,
// assume=exact) give the records' Better and Exact; the format has no
// place for a floor, so records read from it have none. A syntax error is a *LineError.
func DecodeBench(r io.Reader, name string) ([]Record, error) {
	br := benchfmt.NewReader(r, name)
	var out []Record
	index := map[string]int{}
	for br.Scan() {
		switch res := br.Result().(type) {
		case *benchfmt.SyntaxError:
			return out, &LineError{name, res.Line, errors.New(res.Msg)}
		case *benchfmt.Result:
			for _, v := range res.Values {
				rec := benchRecord(res, v, name, br.Units())
				value := v.Value
				if v.OrigUnit != "" {
					value = v.OrigValue
				}
				// Iteration counts above one are averages already: one
				// sample each, as benchstat treats them.
				key := rec.RunID + "\x00" + rec.Host.Kernel + "\x00" + string(res.Name) + "\x00" + rec.Unit
				if i, ok := index[key]; ok {
					out[i].Samples = append(out[i].Samples, value)
					continue
				}
				rec.Samples = []float64{value}
				index[key] = len(out)
				out = append(out, rec)
			}
		}
	}
	if err := br.Err(); err != nil {
		return out, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no benchmark results", name)
	}
	return out, nil
}

func benchRecord(res *benchfmt.Result, v benchfmt.Value, file string, units benchfmt.UnitMetadataMap) Record {
	unit := v.Unit
	if v.OrigUnit != "" {
		unit = v.OrigUnit
	}
	rec := Record{
		Schema: SchemaVersion,
		RunID:  res.GetConfig("run"),
		Unit:   unqualified(strings.TrimSuffix(unit, "/op")),
		Status: OK,
		// Without unit metadata (`go test -bench` output) lower is
		// better and samples are noisy, as benchstat assumes.
		Better: Lower,
		Exact:  units.GetAssumption(unit) == benchmath.AssumeExact,
	}
	if units.GetBetter(unit) > 0 {
		rec.Better = Higher
	}
	if rec.RunID == "" {
		rec.RunID = file
	}
	rec.Host.Kernel = res.GetConfig("kernel")
	rec.Host.Distro = res.GetConfig("distro")
	rec.Host.CPU = res.GetConfig("cpu")
	rec.Host.Arch = res.GetConfig("goarch")
	rec.Host.Version = res.GetConfig("unionbench")
	rec.Host.Emulated, _ = strconv.ParseBool(res.GetConfig("emulated"))
	base, parts := res.Name.Parts()
	rec.Scenario = strings.ToLower(string(base))
	for _, p := range parts {
		s := string(p[1:])
		if p[0] == '-' { // -GOMAXPROCS
			continue
		}
		k, val, ok := strings.Cut(s, "=")
		if !ok {
			k, val = "sub", s
		}
		switch k {
		case "op":
			rec.Metric = val
		case "driver":
			rec.Variant = val
			rec.Driver, _, _ = strings.Cut(val, "+")
		case "backing":
			rec.Backing.Kind = val
		default:
			rec.Params = append(rec.Params, P(k, val))
		}
	}
	if rec.Metric == "" {
		rec.Metric = unit
	}
	if rec.Variant == "" {
		rec.Variant, rec.Driver = "unknown", "unknown"
	}
	return rec
}

// unqualified undoes BenchWriter's qualification of a unit whose records
// mean different things in one file ("bytes-lower" for noisy bytes beside
// exact ones): the record's unit is the measured one, its meaning comes
// from the unit metadata.
func unqualified(unit string) string {
	unit = strings.TrimSuffix(unit, "-exact")
	for _, b := range []Better{Lower, Higher} {
		if u, ok := strings.CutSuffix(unit, "-"+string(b)); ok {
			return u
		}
	}
	return unit
}
