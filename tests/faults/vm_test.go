package faults

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/testenv"
)

// vmKernel finds the kernel the vm faults boot (any bzImage with virtio
// and 9p built in would do; the aufs kernel CI has is one), or skips
// (fails on CI) when they cannot run here. They boot qemu, so they run
// only when asked, like the other guest tests.
func vmKernel(t *testing.T) string {
	t.Helper()
	if !testenv.VMTest(t) {
		t.Skip("boots a kernel in qemu: set UNIONBENCH_VM_TEST=1 to run it")
	}
	testenv.NeedTool(t, "qemu-system-x86_64", "qemu-system-x86")
	return testenv.AufsKernel(t)
}

var staticBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp(filepath.Dir(binary), "static-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "unionbench")
	build := exec.Command("go", "build", "-o", out, "github.com/unionbench/unionbench/cmd/unionbench")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build (static): %w: %s", err, b)
	}
	return out, nil
})

// startVM starts `unionbench vm` on kernel with its scratch in work and
// cmd as the guest's command. Software emulation always: the kill points
// are about the host's processes, and tcg needs no probe boot.
func startVM(t *testing.T, kernel, work, out string, cmd ...string) *started {
	t.Helper()
	static, err := staticBinary()
	require.NoError(t, err)
	args := []string{"vm", "--accel", "tcg", "--kernel", kernel, "--workdir", work, "--out", out,
		"--unionbench", static, "--timeout", "5m", "--"}
	return start(t, append(args, cmd...)...)
}

// qemusUsing lists the qemu processes whose command line names dir (a
// test's own work directory, so other engineers' guests never match).
func qemusUsing(dir string) []string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var found []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("qemu")) || !bytes.Contains(b, []byte(dir)) {
			continue
		}
		found = append(found, filepath.Base(filepath.Dir(p))+": "+strings.Join(strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00"), " "))
	}
	return found
}

// noQemuLeft waits for qemu to die with its parent (a parent-death signal
// is delivered asynchronously) and reports what still runs.
func noQemuLeft(t *testing.T, work string) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := qemusUsing(work)
		if len(left) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			t.Errorf("qemu still running 10 s after unionbench vm ended: %s", strings.Join(left, "; "))
			for _, l := range left {
				pid, _, _ := strings.Cut(l, ":")
				var n int
				fmt.Sscan(pid, &n)
				syscall.Kill(n, syscall.SIGKILL)
			}
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestVMKill9LeavesNothing kills `unionbench vm` with SIGKILL while the
// guest boots and while a guest command runs: qemu dies with it, and the
// guest's scratch directory (initramfs and sparse disk image) is removed
// by the next `unionbench clean` of the work directory.
func TestVMKill9LeavesNothing(t *testing.T) {
	kernel := vmKernel(t)
	rng := rand.New(rand.NewPCG(seed(t), 1))
	for _, when := range []struct {
		name, marker string
		maxDelay     int // ms after the marker
		cmd          []string
	}{
		{"boot", "unionbench vm: booting", 2000, []string{"drivers"}},
		{"command", "unionbench-vm: start 0", 1500, []string{"quirks", "--drivers", "overlay2"}},
	} {
		t.Run(when.name, func(t *testing.T) {
			dir := t.TempDir()
			work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out")
			before := hostState(t)
			p := startVM(t, kernel, work, out, when.cmd...)
			if !p.waitFor(when.marker, 3*time.Minute) {
				t.Fatalf("no %q within 3 min: %s", when.marker, p.stderr.String())
			}
			delay := time.Duration(rng.IntN(when.maxDelay)) * time.Millisecond
			time.Sleep(delay)
			if when.name == "command" {
				require.NotEmpty(t, qemusUsing(work), "qemu runs while the guest command does")
			}
			tally.injected.Add(1)
			require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
			code := p.wait()
			t.Logf("killed %v after %q (exit %d)", delay, when.marker, code)

			good := noQemuLeft(t, work)
			good = checkNoLeaks(t, before, work) && good
			left, _ := filepath.Glob(filepath.Join(work, "unionbench-*", "scratch.img"))
			if when.name == "command" {
				// The kill left the disk image: clean is what removes it.
				good = assert.Len(t, left, 1, "the killed guest's scratch disk, for clean to find") && good
			}
			stdout, stderr, code := run(t, "clean", "--workdir", work)
			good = assert.Equal(t, 0, code, "clean: %s", stderr) && good
			if len(left) > 0 {
				good = assert.Contains(t, stdout, "removed "+filepath.Dir(left[0]), "clean names what it removed") && good
			}
			good = emptyDir(t, work) && good
			if good {
				tally.survived.Add(1)
			}
		})
	}
}

// TestVMInterruptStopsTheGuest sends SIGINT to `unionbench vm` while a
// guest command runs: it exits 130 within seconds, qemu is gone, and so is
// the guest's scratch directory, without a clean.
func TestVMInterruptStopsTheGuest(t *testing.T) {
	kernel := vmKernel(t)
	dir := t.TempDir()
	work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out")
	before := hostState(t)
	p := startVM(t, kernel, work, out, "quirks", "--drivers", "overlay2")
	if !p.waitFor("unionbench-vm: start 0", 3*time.Minute) {
		t.Fatalf("the guest command did not start within 3 min: %s", p.stderr.String())
	}
	time.Sleep(500 * time.Millisecond)
	tally.injected.Add(1)
	sent := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	code := p.wait()
	took := time.Since(sent)
	t.Logf("SIGINT: stopped in %v, exit %d", took, code)

	good := assert.Equal(t, 130, code, "stderr: %s", p.stderr.String())
	good = assert.Less(t, took, 10*time.Second, "stops within 10 s") && good
	good = assert.Contains(t, p.stderr.String(), "stopping the guest", "says why the guest did not finish") && good
	good = noQemuLeft(t, work) && good
	good = checkNoLeaks(t, before, work) && good
	good = emptyDir(t, work) && good
	if good {
		tally.survived.Add(1)
	}
}
