package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
)

// Writer appends records to a JSONL file, one line each, and fsyncs after
// every record: a run killed at any point leaves only whole lines.
type Writer struct {
	mu sync.Mutex
	f  *os.File
}

// Create opens (creating or appending to) a results file.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f}, nil
}

// CreateNew creates a results file that must not exist yet: a run never
// appends to another run's results, even when two start at once with the
// same output directory (O_EXCL decides which one gets it).
func CreateNew(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &Writer{f: f}, nil
}

// Write appends one record and syncs it to disk.
func (w *Writer) Write(r *Record) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("results: refusing to write an invalid record: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// One write(2) of the whole line: O_APPEND makes it atomic with
	// respect to other appenders, and a kill cannot split it.
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.f.Write(b); err != nil {
		return err
	}
	return w.f.Sync()
}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }

// LineError names the file and line of a bad record.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Read reads every record of a JSONL results file. Any bad line (truncated,
// garbage, unknown schema, missing field) is an error naming the file and
// line; blank lines are skipped.
func Read(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Decode(f, path)
}

// Decode reads records from r; name is used in errors. Records of an
// older schema come back upgraded to the current one (see Upgrade).
func Decode(r io.Reader, name string) ([]Record, error) {
	var out []Record
	seen := map[string]int{} // run, backing and key -> first line
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for s.Scan() {
		line++
		b := bytes.TrimSpace(s.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return out, &LineError{name, line, fmt.Errorf("not a results record: %v", err)}
		}
		if dec.More() {
			return out, &LineError{name, line, fmt.Errorf("trailing data after the record")}
		}
		if err := rec.Validate(); err != nil {
			return out, &LineError{name, line, err}
		}
		// A run measures each thing once (once a pass): a second record
		// of the same measurement and pass in the same run is a file
		// concatenated with itself or edited by hand, and pooling both
		// would count samples twice.
		id := fmt.Sprint(rec.RunID, "\x00", rec.Backing.Kind, "\x00", rec.Key(), "\x00", rec.Pass)
		if first, dup := seen[id]; dup {
			return out, &LineError{name, line, fmt.Errorf("duplicate record: run %s already has %s%s (line %d)", rec.RunID, rec.Key(), passName(rec.Pass), first)}
		}
		seen[id] = line
		out = append(out, rec)
	}
	if err := s.Err(); err != nil {
		return out, &LineError{name, line + 1, err}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no results records", name)
	}
	Upgrade(out)
	return out, nil
}

// passName names a record's pass in messages: "" for a measurement taken
// once.
func passName(pass int) string {
	if pass == 0 {
		return ""
	}
	return fmt.Sprintf(" in pass %d", pass)
}
