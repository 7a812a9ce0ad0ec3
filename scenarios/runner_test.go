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
	}
}
func (stub) Measure(_ context.Context, env *Env, c Case, n int) ([]Measurement, error) {
	switch c.Get("do") {
	case "fail":
		return []Measurement{{Metric: "partial", Unit: "ns", Samples: []float64{1}}}, errors.New("ENOSPC")
	case "panic":
		panic("boom")
	case "one-of-three":
		return []Measurement{
			{Metric: "a", Unit: "ns", Samples: []float64{1}},
			{Metric: "b", Unit: "ns", Err: errors.New("EIO")},
			{Metric: "c", Unit: "ns", Err: errors.New("no mknod here"), Unsupported: true},
		}, nil
	case "leave-a-mess":
		if _, err := env.TempDir(); err != nil {
			return nil, err
		}
	}
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i + 1)
	}
	return []Measurement{{Metric: "op", Unit: "ns", Samples: s}}, nil
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
	assert.Equal(t, []float64{1, 2, 3}, byKey["vfs/op/ok"].Samples)
	assert.Equal(t, "ENOSPC", byKey["vfs/all/fail"].Error, "a failure is a record with its error")
	assert.Equal(t, []float64{1}, byKey["vfs/partial/fail"].Samples, "what was measured before a failure is kept")
	assert.Contains(t, byKey["vfs/all/panic"].Error, "boom")
	assert.Equal(t, []float64{1, 2, 3}, byKey["vfs/op/leave-a-mess"].Samples)
	assert.Equal(t, []float64{1}, byKey["vfs/a/one-of-three"].Samples, "one metric failing leaves the others standing")
	assert.Equal(t, "EIO", byKey["vfs/b/one-of-three"].Error)
	assert.Equal(t, "no mknod here", byKey["vfs/c/one-of-three"].Error)
	assert.Equal(t, true, byKey["vfs/c/one-of-three"].Extra["unsupported"])
	aufs := byKey["aufs/all/ok"]
	assert.Equal(t, true, aufs.Extra["unsupported"], "an unsupported driver is data: %+v", aufs)
	assert.Equal(t, 3, out.Failed)
	assert.Equal(t, 6, out.Unsupported)
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

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0B": 0, "4KiB": 4096, "64MiB": 64 << 20, "1GiB": 1 << 30, "512": 512} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		if in != "512" {
			assert.Equal(t, in, FormatSize(got), "FormatSize reads back")
		}
	}
	for _, bad := range []string{"10QB", "", "-1KiB", "1.5MiB", "KiB", "2000GiB"} {
		_, err := ParseSize(bad)
		assert.Error(t, err, bad)
	}
}
