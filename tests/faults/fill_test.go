package faults

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/layerspec"
	"github.com/unionbench/unionbench/reports/results"
)

// smallWorkdir mounts a tmpfs of the given size and inode count as a work
// directory. This test binary runs in a private mount namespace
// (sandbox.RunTestsFunc), so the mount never reaches the host.
func smallWorkdir(t *testing.T, opts string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, unix.Mount("tmpfs", dir, "tmpfs", 0, opts))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// paramOf returns a record's parameter value.
func paramOf(r results.Record, key string) string {
	for _, p := range r.Params {
		if p.Key == key {
			return p.Value
		}
	}
	return ""
}

// TestBackingFillsUpDuringCopyUp runs copyup on a work directory with room
// for the image's 16 MiB files but not for a copy-up of one: the floor
// (a plain copy, which fits) is measured, overlay2's 16 MiB case is
// recorded as failed with ENOSPC, the 4 KiB case after it is measured, and
// the exit code is 1.
func TestBackingFillsUpDuringCopyUp(t *testing.T) {
	work := smallWorkdir(t, "size=44m")
	out := filepath.Join(t.TempDir(), "out")
	before := hostState(t)
	tally.injected.Add(1)
	stdout, stderr, code := run(t, "run", "--workdir", work, "--out", out, "--backing", "dir",
		"--drivers", "overlay2", "--scenarios", "copyup", "--sizes", "16MiB,4KiB", "--count", "1")
	good := assert.Equal(t, 1, code, "stderr: %s", stderr)
	good = assert.Contains(t, stdout, "FAILED") && good
	recs, parsed := checkResults(t, out)
	var full, after int
	for _, r := range recs {
		switch {
		case r.Driver == "overlay2" && paramOf(r, "size") == "16MiB" && paramOf(r, "cache") == "cold":
			if assert.True(t, r.Failed(), "%s %s", r.Metric, paramOf(r, "size")) {
				good = assert.Contains(t, r.Error, "no space left on device") && good
				full++
			}
		case r.Driver == "overlay2" && paramOf(r, "size") == "4KiB":
			good = assert.False(t, r.Failed(), "the run goes on after the failure: %s", r.Error) && good
			after++
		}
	}
	good = assert.Positive(t, full, "a failed 16MiB copy-up record") && good
	good = assert.Positive(t, after, "4KiB measured after it") && good
	good = checkNoLeaks(t, before, work) && good
	good = emptyDir(t, work) && good
	if good && parsed {
		tally.survived.Add(1)
	}
}

// TestInodesRunOutWhileBuildingLayers runs lookup on a work directory
// with 400 inodes: the 64-layer image cannot be built (ENOSPC from
// mkdir/open), is recorded as failed, and the 1-layer case after it is
// measured.
func TestInodesRunOutWhileBuildingLayers(t *testing.T) {
	work := smallWorkdir(t, "size=64m,nr_inodes=400")
	out := filepath.Join(t.TempDir(), "out")
	before := hostState(t)
	tally.injected.Add(1)
	_, stderr, code := run(t, "run", "--workdir", work, "--out", out, "--backing", "dir",
		"--drivers", "overlay2", "--scenarios", "lookup", "--depths", "64,1", "--count", "2")
	good := assert.Equal(t, 1, code, "stderr: %s", stderr)
	recs, parsed := checkResults(t, out)
	var deep, shallow int
	for _, r := range recs {
		if r.Driver != "overlay2" {
			continue
		}
		switch paramOf(r, "depth") {
		case "64":
			if assert.True(t, r.Failed(), "depth 64 on 400 inodes: %s", r.Metric) {
				good = assert.Contains(t, r.Error, "no space left on device") && good
				deep++
			}
		case "1":
			good = assert.False(t, r.Failed(), "depth 1 after the failure: %s", r.Error) && good
			shallow++
		}
	}
	good = assert.Positive(t, deep) && assert.Positive(t, shallow) && good
	good = checkNoLeaks(t, before, work) && good
	good = emptyDir(t, work) && good
	if good && parsed {
		tally.survived.Add(1)
	}
}

// TestBusyMountIsReportedNotRemoved holds a container's merged directory
// busy with a shell whose working directory is inside it: unmount retries,
// then fails naming the busy path and the process; the container's data
// is untouched (nothing removed from under it); once the shell is gone,
// unmount and remove succeed.
func TestBusyMountIsReportedNotRemoved(t *testing.T) {
	fs, err := backing.Create(t.TempDir(), backing.Spec{Kind: backing.Tmpfs, Size: 64 << 20})
	require.NoError(t, err)
	defer fs.Close()
	d, err := drivers.New(drivers.Variant{Driver: "overlay2"}, filepath.Join(fs.Dir, "overlay2"), drivers.Options{})
	require.NoError(t, err)
	defer d.Cleanup()
	require.NoError(t, d.Create(t.Context(), "img", "", &layerspec.Layer{Entries: []layerspec.Entry{{Path: "etc/hostname", Kind: layerspec.File, Size: 10}}}))
	require.NoError(t, drivers.NewContainer(t.Context(), d, "c", "img"))
	merged, err := d.Mount(t.Context(), "c")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(merged, "written"), []byte("container data"), 0o644))

	tally.injected.Add(1)
	shell := exec.Command("sh", "-c", "sleep 60")
	shell.Dir = filepath.Join(merged, "etc")
	// Its own process group, so the shell and its sleep go together.
	shell.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, shell.Start())
	killShell := func() {
		syscall.Kill(-shell.Process.Pid, syscall.SIGKILL)
		shell.Wait()
	}
	defer killShell()

	start := time.Now()
	err = d.Unmount("c")
	took := time.Since(start)
	good := assert.Error(t, err, "unmount of a busy mount must fail, not detach")
	if err != nil {
		good = assert.ErrorIs(t, err, syscall.EBUSY) && good
		good = assert.Contains(t, err.Error(), merged, "the error names the busy path") && good
		good = assert.Contains(t, err.Error(), "sleep", "the error names who holds it") && good
	}
	good = assert.Greater(t, took, 500*time.Millisecond, "it retried before giving up") && good
	t.Logf("gave up after %v: %v", took, err)

	// Remove must not delete anything from under a busy mount.
	err = drivers.RemoveContainer(d, "c")
	good = assert.Error(t, err, "removing a container whose mount is busy must fail") && good
	mounted, _ := mountutil.IsMountPoint(merged)
	good = assert.True(t, mounted, "the merged view is still mounted") && good
	data, rerr := os.ReadFile(filepath.Join(merged, "written"))
	good = assert.NoError(t, rerr) && assert.Equal(t, "container data", string(data), "the container's data is intact") && good

	killShell()
	good = assert.NoError(t, drivers.RemoveContainer(d, "c"), "once the holder is gone the container goes") && good
	entries, _ := os.ReadDir(filepath.Join(fs.Dir, "overlay2"))
	for _, e := range entries {
		good = assert.False(t, strings.HasPrefix(e.Name(), "c"), "container layer %s left", e.Name()) && good
	}
	if good {
		tally.survived.Add(1)
	}
}

// TestTwoRunsInOneWorkdir starts two runs at once in the same work
// directory: each gets its own scratch directory and results directory,
// and each results file holds only its own run. A third run pointed at
// the first one's results directory is refused.
func TestTwoRunsInOneWorkdir(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	outs := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	before := hostState(t)
	tally.injected.Add(1)
	var ps []*started
	for _, o := range outs {
		ps = append(ps, start(t, "run", "--workdir", work, "--out", o, "--drivers", "overlay2,vfs", "--scenarios", "mount,inodes", "--count", "2"))
	}
	good := true
	runIDs := map[string]bool{}
	for i, p := range ps {
		code := p.wait()
		good = assert.Equal(t, 0, code, "run %d: %s", i, p.stderr.String()) && good
		recs, parsed := checkResults(t, outs[i])
		good = parsed && assert.NotEmpty(t, recs) && good
		ids := map[string]bool{}
		for _, r := range recs {
			ids[r.RunID] = true
			runIDs[r.RunID] = true
		}
		good = assert.Len(t, ids, 1, "run %d's results hold one run", i) && good
	}
	good = assert.Len(t, runIDs, 2, "two runs, two run ids") && good
	_, stderr, code := run(t, "run", "--workdir", work, "--out", outs[0], "--scenarios", "mount")
	good = assert.Equal(t, 2, code) && assert.Contains(t, stderr, "already holds results.jsonl") && good
	good = checkNoLeaks(t, before, work) && good
	good = emptyDir(t, work) && good
	if good {
		tally.survived.Add(1)
	}
}

// TestNotRootSaysWhatNeedsRoot runs the commands that mount as an
// unprivileged user: one clear line that says root is needed and how.
func TestNotRootSaysWhatNeedsRoot(t *testing.T) {
	// The test's own temporary directories live in the sandbox's private
	// scratch directory (mode 0700), which nobody cannot enter: the copy
	// of the binary goes to a directory of its own under /tmp.
	dir, err := os.MkdirTemp("/tmp", "unionbench-notroot-")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "unionbench")
	data, err := os.ReadFile(binary)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	for _, args := range [][]string{
		{"run", "--workdir", filepath.Join(dir, "work"), "--out", filepath.Join(dir, "out")},
		{"clean", "--workdir", filepath.Join(dir, "work")},
		{"quirks", "--workdir", filepath.Join(dir, "work"), "--out", filepath.Join(dir, "out")},
	} {
		tally.injected.Add(1)
		cmd := exec.Command(bin, args...)
		cmd.Env = outsideEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		outb, err := cmd.CombinedOutput()
		out := string(outb)
		good := assert.Error(t, err, "%v as nobody", args)
		good = assert.Equal(t, 1, strings.Count(out, "\n"), "one line: %q", out) && good
		good = assert.Contains(t, out, "needs root") && assert.Contains(t, out, "sudo") && good
		good = assert.NoDirExists(t, filepath.Join(dir, "out")) && good
		if good {
			tally.survived.Add(1)
		}
	}
}
