// Package dataset turns results records from one or many files into what
// reports are made of: host groups (one kernel, distro, CPU, emulation
// and backing filesystem each) holding measurements whose samples are
// pooled across the runs of that group, each with its statistics and its
// floor (the same operation on the backing filesystem itself).
//
// Runs on different hosts are never pooled: a measurement exists once per
// group, and plots draw each group on its own axes, so an emulated CPU's
// timings never share an axis with native ones. It is not a general query
// engine; compare pairs measurements across files on its own.
package dataset

import (
	"fmt"
	"slices"
	"strings"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
)

// FloorDriver is the driver name of baseline measurements.
const FloorDriver = "floor"

// HostKey is what makes two runs' numbers comparable at all.
type HostKey struct {
	Kernel, Distro, CPU string
	Emulated            bool
	Backing             string
}

// Run is one run's facts, for the host table.
type Run struct {
	ID      string
	File    string
	Host    results.Host
	Backing results.Backing
	// MountOptions maps each variant to its mount options.
	MountOptions map[string][]string
	Records      int
}

// Measurement is one measurement of one group: the samples of every
// record with the same scenario, metric, variant and parameters.
type Measurement struct {
	Scenario, Metric, Driver, Variant, Unit string
	Params                                  []results.Param
	Samples                                 []float64
	// Errors are the errors of failed records and the reasons of
	// unsupported ones; their partial samples are left out of the
	// statistics.
	Errors      []string
	Unsupported bool
	// Better, Exact and Floor are the first measured record's
	// (results.Record):
	// which direction is better, whether the samples are exact counts,
	// and the CaseKey of the floor it is compared with.
	Better results.Better
	Exact  bool
	Floor  string
	// Extra is the first record's scenario-specific detail.
	Extra   map[string]any
	Summary stats.Summary
	// Passes are the samples pass by pass (results.Record.Pass), of
	// every run pooled here; empty when the records have no passes.
	Passes results.Passes
}

// Failed reports whether no record of the measurement succeeded.
func (m *Measurement) Failed() bool { return len(m.Samples) == 0 }

// Param returns a parameter's value, "" when absent.
func (m *Measurement) Param(key string) string {
	for _, p := range m.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// ParamString is the parameters as "size=4KiB cache=cold".
func (m *Measurement) ParamString() string {
	var s []string
	for _, p := range m.Params {
		s = append(s, p.Key+"="+p.Value)
	}
	return strings.Join(s, " ")
}

// Group is the measurements of one host configuration.
type Group struct {
	Key HostKey
	// Label names the group in plots and headings, with only as much
	// detail as tells it apart from the other groups.
	Label        string
	Runs         []*Run
	Measurements []*Measurement
	byKey        map[string]*Measurement
}

// Set is every group of a report.
type Set struct {
	Files  []string
	Groups []*Group
}

// Load reads results files (JSONL or Go benchmark format) into a Set.
func Load(paths ...string) (*Set, error) {
	var all []results.Record
	var from []string // the file of each record, for the host table
	for _, p := range paths {
		recs, err := results.ReadAny(p)
		if err != nil {
			return nil, err
		}
		all = append(all, recs...)
		for range recs {
			from = append(from, p)
		}
	}
	s := build(all, from)
	s.Files = paths
	return s, nil
}

// New groups records, keeping the order they came in.
func New(recs []results.Record) *Set { return build(recs, nil) }

// FromFile groups records already read from file (a run reporting on its
// own results): the host table names the file.
func FromFile(file string, recs []results.Record) *Set {
	from := make([]string, len(recs))
	for i := range from {
		from[i] = file
	}
	s := build(recs, from)
	s.Files = []string{file}
	return s
}

func build(recs []results.Record, from []string) *Set {
	s := &Set{}
	groups := map[HostKey]*Group{}
	runs := map[string]*Run{}
	for i := range recs {
		r := &recs[i]
		file := ""
		if from != nil {
			file = from[i]
		}
		k := HostKey{Kernel: r.Host.Kernel, Distro: r.Host.Distro, CPU: r.Host.CPU, Emulated: r.Host.Emulated, Backing: r.Backing.Kind}
		g := groups[k]
		if g == nil {
			g = &Group{Key: k, byKey: map[string]*Measurement{}}
			groups[k] = g
			s.Groups = append(s.Groups, g)
		}
		runKey := fmt.Sprint(k, "\x00", r.RunID)
		run := runs[runKey]
		if run == nil {
			run = &Run{ID: r.RunID, File: file, Host: r.Host, Backing: r.Backing, MountOptions: map[string][]string{}}
			runs[runKey] = run
			g.Runs = append(g.Runs, run)
		}
		run.Records++
		run.MountOptions[r.Variant] = r.MountOptions
		g.add(r)
	}
	for _, g := range s.Groups {
		for _, m := range g.Measurements {
			m.Summary = stats.Summarize(m.Samples)
		}
	}
	s.label()
	return s
}

func (g *Group) add(r *results.Record) {
	key := r.Key() + "\x00" + r.Unit
	m := g.byKey[key]
	if m == nil {
		m = &Measurement{Scenario: r.Scenario, Metric: r.Metric, Driver: r.Driver, Variant: r.Variant,
			Unit: r.Unit, Params: r.Params, Extra: r.Extra, Better: r.Better, Exact: r.Exact, Floor: r.Floor}
		g.byKey[key] = m
		g.Measurements = append(g.Measurements, m)
	}
	if !r.Failed() && len(m.Samples) == 0 {
		// The first record measured says what the samples are (a failed
		// one before it may not know).
		m.Better, m.Exact, m.Floor = r.Better, r.Exact, r.Floor
	}
	if r.Failed() {
		m.Errors = append(m.Errors, r.Why())
		if r.Status == results.Unsupported {
			m.Unsupported = true
		}
		return
	}
	m.Samples = append(m.Samples, r.Samples...)
	m.Passes.Add(r)
}

// label gives each group the shortest name that tells it apart.
func (s *Set) label() {
	differ := func(f func(HostKey) string) bool {
		for _, g := range s.Groups {
			if f(g.Key) != f(s.Groups[0].Key) {
				return true
			}
		}
		return false
	}
	distro := differ(func(k HostKey) string { return k.Distro })
	cpu := differ(func(k HostKey) string { return k.CPU })
	back := differ(func(k HostKey) string { return string(k.Backing) })
	for _, g := range s.Groups {
		parts := []string{"kernel " + g.Key.Kernel}
		if g.Key.Kernel == "" {
			parts[0] = "unknown kernel"
		}
		if distro {
			parts = append(parts, g.Key.Distro)
		}
		if cpu {
			parts = append(parts, g.Key.CPU)
		}
		if back {
			parts = append(parts, "on "+string(g.Key.Backing))
		}
		if g.Key.Emulated {
			parts = append(parts, "EMULATED CPU")
		}
		g.Label = strings.Join(parts, ", ")
	}
}

// Select returns the measurements of a scenario and metric whose
// parameters include every key=value of where, in their original order.
func (g *Group) Select(scenario, metric string, where ...results.Param) []*Measurement {
	var out []*Measurement
	for _, m := range g.Measurements {
		if m.Scenario == scenario && m.Metric == metric && hasAll(m.Params, where) {
			out = append(out, m)
		}
	}
	return out
}

// Scenario returns every measurement of a scenario.
func (g *Group) Scenario(name string) []*Measurement {
	var out []*Measurement
	for _, m := range g.Measurements {
		if m.Scenario == name {
			out = append(out, m)
		}
	}
	return out
}

// Variants returns the variants of a list of measurements, floor last,
// in first-seen order otherwise.
func Variants(ms []*Measurement) []string {
	var out []string
	floor := false
	for _, m := range ms {
		if m.Driver == FloorDriver || m.Variant == FloorDriver {
			floor = true
			continue
		}
		if !slices.Contains(out, m.Variant) {
			out = append(out, m.Variant)
		}
	}
	if floor {
		out = append(out, FloorDriver)
	}
	return out
}

// Floor returns the baseline a measurement is compared with: the floor
// measurement of the same scenario and unit whose CaseKey is the
// measurement's Floor; nil when it names none or is a floor itself.
func (g *Group) Floor(m *Measurement) *Measurement {
	if m.Driver == FloorDriver || m.Floor == "" {
		return nil
	}
	for _, f := range g.Measurements {
		if f.Driver == FloorDriver && f.Scenario == m.Scenario && f.Unit == m.Unit && f.CaseKey() == m.Floor {
			return f
		}
	}
	return nil
}

// CaseKey is the measurement's metric and parameters, as a record's
// Floor names them (results.CaseKey).
func (m *Measurement) CaseKey() string { return results.CaseKey(m.Metric, m.Params...) }

func hasAll(have, want []results.Param) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
