package guest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/internal/vm"
	"github.com/unionbench/unionbench/reports/results"
)

// ciRunArgs cut the quick suite to what software emulation on a shared CI
// machine finishes in minutes: two samples, two file sizes (copyup,
// pagecache), and the depths where aufs's remount appends begin to show
// (64 Docker-length branches are more than a page).
var ciRunArgs = []string{"--quick", "--count", "2", "--sizes", "4KiB,1MiB", "--depths", "1,16,64"}

// scenariosPerDriver are the scenarios every union driver must come back
// with, measured.
var scenariosPerDriver = []string{"copyup", "lookup", "mount", "inodes", "pagecache", "quirks"}

// guestDrivers are the drivers compared in the aufs kernel: aufs as Docker
// mounts it, its dirren variant where this unionbench has one, and both
// overlay drivers.
func guestDrivers() []string {
	list := []string{"aufs"}
	if r, ok := drivers.Lookup("aufs"); ok {
		for _, v := range r.Variants {
			if slices.Equal(v, []string{"dirren"}) {
				list = append(list, "aufs+dirren")
			}
		}
	}
	return append(list, "overlay", "overlay2")
}

// TestQuirksAndRunInAufsKernel runs `unionbench vm -- quirks -- run` in
// the aufs kernel, as a user would, and checks what comes back: every
// record was measured on that kernel (emulated when qemu had no KVM), and
// every driver has measurements of every scenario, none failed.
func TestQuirksAndRunInAufsKernel(t *testing.T) {
	kernel := aufsKernel(t)
	bins := t.TempDir()
	unionbench := buildStatic(t, bins, "unionbench", "github.com/unionbench/unionbench/cmd/unionbench", false)
	k, err := vm.OpenKernel(kernel, t.TempDir())
	require.NoError(t, err)

	list := strings.Join(guestDrivers(), ",")
	out := filepath.Join(t.TempDir(), "vm")
	args := []string{"vm", "--kernel", kernel, "--unionbench", unionbench, "--out", out, "--workdir", t.TempDir(),
		"--timeout", "40m", "--", "quirks", "--drivers", list, "--", "run", "--drivers", list}
	args = append(args, ciRunArgs...)
	cmd := exec.Command(unionbench, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	stdout, err := cmd.Output()
	t.Logf("unionbench %s: %v\n%s", strings.Join(args, " "), time.Since(start).Round(time.Second), stdout)
	require.NoError(t, err, "stderr (last 3000 bytes):\n%s", tail([]byte(stderr.String()), 3000))

	var recs []results.Record
	for _, f := range []string{"quirks", "run"} {
		r, err := results.ReadAny(filepath.Join(out, k.Release, f, "results.jsonl"))
		require.NoError(t, err, f)
		recs = append(recs, r...)
	}
	emulated := strings.Contains(stderr.String(), "accel tcg")
	measured := map[string]int{}
	for _, r := range recs {
		require.Equal(t, k.Release, r.Host.Kernel, "%s", r.Key())
		require.True(t, strings.HasPrefix(r.Host.Kernel, "6.1.192"), "%s: kernel %s", r.Key(), r.Host.Kernel)
		require.Equal(t, emulated, r.Host.Emulated, "%s: emulated", r.Key())
		assert.False(t, r.Failed(), "%s: %s", r.Key(), r.Error)
		if len(r.Samples) > 0 {
			measured[r.Variant+" "+r.Scenario]++
		}
	}
	for _, d := range guestDrivers() {
		for _, s := range scenariosPerDriver {
			assert.Positive(t, measured[d+" "+s], "%s has no %s measurements", d, s)
		}
	}
	t.Logf("%d records; per variant and scenario: %v", len(recs), measured)
	if os.Getenv("UNIONBENCH_KEEP_VM_RESULTS") != "" {
		keep := os.Getenv("UNIONBENCH_KEEP_VM_RESULTS")
		require.NoError(t, os.CopyFS(keep, os.DirFS(out)))
		t.Logf("results copied to %s", keep)
	}
}
