package scenarios

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
)

func TestMain(m *testing.M) { sandbox.RunTests(m) }

// stub is a scenario whose cases say how to behave, to test what the
// runner does with failures, panics and floors. It measures nothing.
type stub struct{}

func (stub) Name() string { return "stub" }
func (stub) Cases(Suite) []Case {
	return []Case{
		{Params: []results.Param{results.P("size", "4KiB")}, Floor: true},
		{Params: []results.Param{results.P("size", "4KiB"), results.P("do", "ok")}},
		{Params: []results.Param{results.P("size", "4KiB"), results.P("do", "fail")}},
		{Params: []results.Param{results.P("size", "4KiB"), results.P("do", "panic")}},
		{Params: []results.Param{results.P("size", "4KiB"), results.P("do", "leave-a-mess")}},
		{Params: []results.Param{results.P("size", "4KiB"), results.P("do", "one-of-three")}},
		{Params: []results.Param{results.P("size", "4KiB"), results.P("do", "no-direction")}},
	}
}
func (stub) Measure(_ context.Context, env *Env, c Case, n int) ([]Measurement, error) {
	switch c.Get("do") {
	case "fail":
		return []Measurement{{Metric: "partial", Unit: "ns", Better: results.Lower, Samples: []float64{1}}}, errors.New("ENOSPC")
	case "panic":
		panic("boom")
	case "one-of-three":
		return []Measurement{
			{Metric: "a", Unit: "ns", Better: results.Lower, Samples: []float64{1}},
			{Metric: "b", Unit: "ns", Err: errors.New("EIO")},
			{Metric: "c", Unit: "ns", Err: errors.New("no mknod here"), Status: results.Unsupported},
		}, nil
	case "no-direction":
		return []Measurement{{Metric: "d", Unit: "ns", Samples: []float64{1}}}, nil
	case "leave-a-mess":
		if _, err := env.TempDir(); err != nil {
			return nil, err
		}
	}
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i + 1)
	}
	// What the measurement is travels into the record as the scenario
	// said, whatever the metric is called.
	m := Measurement{Metric: "op", Unit: "layers", Samples: s, Better: results.Higher, Exact: true}
	if !c.Floor {
		m.Floor = results.CaseKey("op", results.P("size", "4KiB"))
	}
	return []Measurement{m}, nil
}

func TestRunRecordsFailuresAndGoesOn(t *testing.T) {
	testenv.NeedRoot(t, "the runner builds drivers on a tmpfs")
	fs, err := backing.Create(t.TempDir(), backing.Spec{Kind: backing.Tmpfs, Size: 64 << 20})
	require.NoError(t, err)
	defer fs.Close()
	p := &Plan{RunID: "t", Scenarios: []Scenario{stub{}}, Suite: Quick, Count: 3, FS: fs,
		Variants: []drivers.Variant{{Driver: "vfs"}, {Driver: "aufs"}}}
	var recs []results.Record
	out, err := Run(context.Background(), p, func(r *results.Record) error {
		require.NoError(t, r.Validate())
		recs = append(recs, *r)
		return nil
	}, nil)
	require.NoError(t, err)
	byKey := map[string]results.Record{}
	for _, r := range recs {
		byKey[r.Variant+"/"+r.Metric+"/"+r.Params[len(r.Params)-1].Value] = r
	}
	assert.Equal(t, []float64{1, 2, 3}, byKey["floor/op/4KiB"].Samples, "the floor is measured once, as driver floor")
	ok := byKey["vfs/op/ok"]
	assert.Equal(t, []float64{1, 2, 3}, ok.Samples)
	assert.Equal(t, results.OK, ok.Status)
	assert.Equal(t, results.Higher, ok.Better)
	assert.True(t, ok.Exact)
	assert.Equal(t, "op/size=4KiB", ok.Floor)
	assert.Empty(t, byKey["floor/op/4KiB"].Floor)
	assert.Equal(t, results.Failed, byKey["vfs/all/fail"].Status)
	assert.Equal(t, "ENOSPC", byKey["vfs/all/fail"].Error, "a failure is a record with its error")
	assert.Equal(t, []float64{1}, byKey["vfs/partial/fail"].Samples, "what was measured before a failure is kept")
	assert.Equal(t, results.Failed, byKey["vfs/partial/fail"].Status)
	assert.Contains(t, byKey["vfs/all/panic"].Error, "boom")
	assert.Equal(t, []float64{1, 2, 3}, byKey["vfs/op/leave-a-mess"].Samples)
	assert.Equal(t, []float64{1}, byKey["vfs/a/one-of-three"].Samples, "one metric failing leaves the others standing")
	assert.Equal(t, "EIO", byKey["vfs/b/one-of-three"].Error)
	assert.Equal(t, results.Unsupported, byKey["vfs/c/one-of-three"].Status)
	assert.Equal(t, "no mknod here", byKey["vfs/c/one-of-three"].Reason)
	assert.Equal(t, results.Failed, byKey["vfs/d/no-direction"].Status, "a metric must say which way is better")
	assert.Contains(t, byKey["vfs/d/no-direction"].Error, "direction")
	aufs := byKey["aufs/all/ok"]
	assert.Equal(t, results.Unsupported, aufs.Status, "an unsupported driver is data: %+v", aufs)
	assert.Contains(t, aufs.Reason, "/proc/filesystems")
	assert.NotContains(t, aufs.Reason, drivers.ErrNotSupported.Error(), "the reason, not the sentinel")
	assert.Equal(t, 4, out.Failed)
	assert.Equal(t, 7, out.Unsupported)
	left, err := os.ReadDir(fs.Dir)
	require.NoError(t, err)
	assert.Empty(t, left, "the runner removes what a step left on the backing fs")
}

func TestOverrideReplacesSweepValues(t *testing.T) {
	p := &Plan{Sizes: []int64{1 << 20, 2 << 20}, Depths: []int{3}}
	got := p.Override([]Case{
		{Params: []results.Param{results.P("size", "4KiB"), results.P("cache", "cold")}},
		{Params: []results.Param{results.P("size", "64KiB"), results.P("cache", "cold")}},
		{Params: []results.Param{results.P("depth", "1")}},
		{Params: []results.Param{results.P("depth", "8")}},
		{Params: []results.Param{results.P("containers", "2")}},
	})
	var names []string
	for _, c := range got {
		names = append(names, c.Name())
	}
	assert.Equal(t, []string{"size=1MiB/cache=cold", "size=2MiB/cache=cold", "depth=3", "containers=2"}, names)
}
