package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/backing"
)

// recorder is a testing.TB that notes how a helper ended the test instead
// of ending the real one: Fatal and Skip unwind with a panic run catches.
type recorder struct {
	testing.TB
	fatal, skip string
}

type ended struct{}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	panic(ended{})
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	panic(ended{})
}
func (r *recorder) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	panic(ended{})
}
func (r *recorder) Logf(string, ...any) {}

// run calls f with a recorder and returns it once f returned or ended the
// test.
func run(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, ok := p.(ended); !ok {
					panic(p)
				}
			}
		}()
		f(r)
	}()
	return r
}

func TestSkipFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "")
	r := run(t, func(tb testing.TB) { Skip(tb, "no %s here", "mkfs.xfs") })
	assert.Equal(t, "no mkfs.xfs here", r.skip)
	assert.Empty(t, r.fatal)

	t.Setenv("CI", "true")
	r = run(t, func(tb testing.TB) { Skip(tb, "no %s here", "mkfs.xfs") })
	assert.Empty(t, r.skip)
	assert.Contains(t, r.fatal, "no mkfs.xfs here")
	assert.Contains(t, r.fatal, "CI=true")
}

func TestNeedTool(t *testing.T) {
	t.Setenv("CI", "")
	var path string
	r := run(t, func(tb testing.TB) { path = NeedTool(tb, "no-such-tool-here|sh", "dash") })
	assert.Empty(t, r.skip, "the second name is found")
	assert.NotEmpty(t, path)
	r = run(t, func(tb testing.TB) { NeedTool(tb, "no-such-tool-here", "some-package") })
	assert.Equal(t, "no-such-tool-here not installed: apt-get install some-package", r.skip)
}

func TestBackings(t *testing.T) {
	for in, want := range map[string][]backing.Kind{
		"":            AllBackings,
		"ext4":        {backing.Ext4},
		"tmpfs, XFS":  {backing.Tmpfs, backing.Xfs},
		"btrfs,dir":   {backing.Btrfs, backing.Dir},
		" ":           AllBackings,
		"ext4,ext4":   {backing.Ext4, backing.Ext4},
		"tmpfs,btrfs": {backing.Tmpfs, backing.Btrfs},
	} {
		t.Setenv("UNIONBENCH_BACKINGS", in)
		var got []backing.Kind
		r := run(t, func(tb testing.TB) { got = Backings(tb) })
		require.Empty(t, r.fatal, in)
		assert.Equal(t, want, got, in)
	}
	assert.ElementsMatch(t, backing.Kinds, AllBackings, "the default is every kind")
	for _, bad := range []string{"zfs", "ext4,", "ext4:xfs"} {
		t.Setenv("UNIONBENCH_BACKINGS", bad)
		r := run(t, func(tb testing.TB) { Backings(tb) })
		assert.Contains(t, r.fatal, fmt.Sprintf("UNIONBENCH_BACKINGS=%q", bad))
		assert.Contains(t, r.fatal, "want dir, tmpfs, ext4, xfs or btrfs")
	}
}

func TestSuiteCountAndSeed(t *testing.T) {
	t.Setenv("UNIONBENCH_SUITE", "")
	t.Setenv("UNIONBENCH_COUNT", "")
	var suite string
	var count int
	run(t, func(tb testing.TB) { suite, count = Suite(tb), Count(tb) })
	assert.Equal(t, QuickSuite, suite)
	assert.Equal(t, DefaultCount, count)

	t.Setenv("UNIONBENCH_SUITE", "full")
	t.Setenv("UNIONBENCH_COUNT", "15")
	t.Setenv("UNIONBENCH_FAULT_SEED", "42")
	var seed uint64
	run(t, func(tb testing.TB) { suite, count, seed = Suite(tb), Count(tb), FaultSeed(tb) })
	assert.Equal(t, FullSuite, suite)
	assert.Equal(t, 15, count)
	assert.Equal(t, uint64(42), seed)

	for env, bad := range map[string]string{
		"UNIONBENCH_SUITE": "fast", "UNIONBENCH_COUNT": "0", "UNIONBENCH_FAULT_SEED": "-1", "UNIONBENCH_VM_TEST": "yes",
	} {
		t.Setenv(env, bad)
		r := run(t, func(tb testing.TB) { Suite(tb); Count(tb); FaultSeed(tb); VMTest(tb) })
		assert.Contains(t, r.fatal, fmt.Sprintf("%s=%q: want", env, bad))
		t.Setenv(env, "")
	}
}

func TestNarrowBackings(t *testing.T) {
	t.Run("unset", func(t *testing.T) {
		t.Setenv("UNIONBENCH_BACKINGS", "")
		NarrowBackings(t, backing.Tmpfs, backing.Ext4)
		assert.Equal(t, []backing.Kind{backing.Tmpfs, backing.Ext4}, Backings(t))
	})
	t.Run("set", func(t *testing.T) {
		t.Setenv("UNIONBENCH_BACKINGS", "xfs")
		NarrowBackings(t, backing.Tmpfs, backing.Ext4)
		assert.Equal(t, []backing.Kind{backing.Xfs}, Backings(t), "what the user asked for wins")
	})
}

func TestAufsKernelIsTheVariableWhenSet(t *testing.T) {
	k := filepath.Join(t.TempDir(), "bzImage")
	require.NoError(t, os.WriteFile(k, []byte("x"), 0o644))
	t.Setenv("UNIONBENCH_AUFS_KERNEL", k)
	assert.Equal(t, k, AufsKernel(t))
}
