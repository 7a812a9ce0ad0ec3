package guest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/internal/vm"
)

// guestBackings are the backing filesystems the suites run on in the guest.
// tmpfs is left out because 6.1's tmpfs refuses user.* xattrs (they came
// in 6.6), which the layer specs set; btrfs is not built into that kernel.
// "dir" is a directory on the guest's ext4 scratch disk.
const guestBackings = "ext4,xfs,dir"

// aufsKernel finds the kernel, skipping (or, under CI, failing) when the
// test cannot run here.
func aufsKernel(t *testing.T) string {
	t.Helper()
	if !testenv.VMTest(t) {
		t.Skip("boots a kernel in qemu for minutes: set UNIONBENCH_VM_TEST=1 to run it")
	}
	testenv.NeedRoot(t, "the guest tests build payloads that mount and boot qemu")
	testenv.NeedTool(t, "qemu-system-x86_64", "qemu-system-x86")
	return testenv.AufsKernel(t)
}

// buildStatic builds pkg's test binary (or, with test false, its program)
// without cgo, so the guest needs no libraries for it.
func buildStatic(t *testing.T, dir, name, pkg string, test bool) string {
	t.Helper()
	out := filepath.Join(dir, name)
	args := []string{"build", "-o", out, pkg}
	if test {
		args = []string{"test", "-c", "-o", out, pkg}
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s: %s", strings.Join(args, " "), b)
	return out
}

// bootOptions are the options unionbench vm would choose here: KVM when it
// works, else software emulation with one CPU.
func bootOptions(t *testing.T, k *vm.Kernel, unionbench string, payloads []string) vm.Options {
	accel, _ := vm.DetectAccel()
	if accel == vm.KVM {
		if err := vm.ProbeKVM(context.Background(), "qemu-system-x86_64", k.Image, 20*time.Second); err != nil {
			accel = vm.TCG
		}
	}
	cpus := 1
	if accel == vm.KVM {
		cpus = 2
	}
	return vm.Options{
		Accel: accel, MemoryMiB: 2048, CPUs: cpus, DiskBytes: 32 << 30,
		Timeout: 20 * time.Minute, BootTimeout: 5 * time.Minute,
		Unionbench: unionbench, Payloads: payloads, WorkDir: t.TempDir(),
		Progress: testWriter{t},
	}
}

// TestConformanceInAufsKernel runs the drivertest conformance suite of
// aufs (with the rest of the aufs package's tests) and of overlay2 in one
// boot of a kernel with aufs built in, and fails unless both ran: counted
// passes and no skipped check, so an aufs that stops mounting in the guest
// is a failure, not a quiet skip.
func TestConformanceInAufsKernel(t *testing.T) {
	kernel := aufsKernel(t)
	bins := t.TempDir()
	unionbench := buildStatic(t, bins, "unionbench", "github.com/unionbench/unionbench/cmd/unionbench", false)
	aufsTest := buildStatic(t, bins, "aufs.test", "github.com/unionbench/unionbench/drivers/aufs", true)
	overlay2Test := buildStatic(t, bins, "overlay2.test", "github.com/unionbench/unionbench/drivers/overlay2", true)

	k, err := vm.OpenKernel(kernel, t.TempDir())
	require.NoError(t, err)
	// Both suites took about a minute each under emulation here; their
	// timeouts bound a mount that never returns (the aufs 6.1 kernel's
	// first mount of a 126-branch union hangs without an oops), and the
	// boot's timeout bounds a test binary that cannot exit from it.
	// CI=true makes drivertest fail, not skip, the drivers CI must run;
	// -test.v=test2json keeps every event parseable even when a test
	// prints.
	env := []string{"CI=true", "UNIONBENCH_BACKINGS=" + guestBackings}
	cmds := []vm.GuestCommand{
		{Program: vm.PayloadPath(aufsTest), Args: []string{"-test.v=test2json", "-test.count=1", "-test.timeout=8m"}, Dir: "aufs", Env: env},
		{Program: vm.PayloadPath(overlay2Test), Args: []string{"-test.v=test2json", "-test.count=1", "-test.timeout=8m", "-test.run=^TestConformance$"}, Dir: "overlay2", Env: env},
	}
	results := filepath.Join(t.TempDir(), "results")
	require.NoError(t, os.MkdirAll(results, 0o755))
	start := time.Now()
	res, err := vm.Boot(context.Background(), k, cmds, results, bootOptions(t, k, unionbench, []string{aufsTest, overlay2Test}))
	// A guest that crashed still wrote what ran before: the suites below
	// say how far they got.
	assert.NoError(t, err, "the boot")
	t.Logf("kernel %s (%s): init ready after %.1fs, aufs tests %.1fs, overlay2 conformance %.1fs, %v in all",
		k.Release, res.Accel, res.BootSeconds, res.Commands[0].Seconds, res.Commands[1].Seconds, time.Since(start).Round(time.Second))

	for i, suite := range []struct{ dir, pkg string }{{"aufs", "drivers/aufs"}, {"overlay2", "drivers/overlay2"}} {
		t.Run(suite.dir, func(t *testing.T) {
			out := filepath.Join(results, suite.dir, "stdout.txt")
			if _, err := os.Stat(out); err != nil {
				t.Fatalf("%s never ran in the guest: %v", suite.pkg, err)
			}
			tests := readTestEvents(t, out, suite.pkg)
			var passed, skipped, failed []string
			for name, action := range tests {
				if !strings.HasPrefix(name, "TestConformance/") {
					if action == "fail" {
						failed = append(failed, name)
					}
					continue
				}
				switch action {
				case "pass":
					passed = append(passed, name)
				case "skip":
					skipped = append(skipped, name)
				case "fail":
					failed = append(failed, name)
				}
			}
			t.Logf("%s in %s: TestConformance %s, %d subtests passed, %d skipped; %d tests of the package in all",
				suite.pkg, k.Release, tests["TestConformance"], len(passed), len(skipped), len(tests))
			assert.Empty(t, failed, "failed tests")
			assert.Empty(t, skipped, "skipped conformance checks: the suite must run, not skip, in this kernel")
			assert.Equal(t, "pass", tests["TestConformance"])
			// Three backings, ten checks each: far fewer means the suite
			// did not run what it says.
			assert.GreaterOrEqual(t, len(passed), 30, "conformance subtests passed")
			assert.Equal(t, 0, res.Commands[i].ExitCode, "%s's exit code in the guest", suite.dir)
		})
	}
}

// event is one line of test2json's output.
type event struct {
	Action string
	Test   string
	Output string
}

// readTestEvents converts a test binary's -test.v=test2json output with
// `go tool test2json` and returns each test's final action (pass, fail,
// skip); the package's own result is under "".
func readTestEvents(t *testing.T, path, pkg string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	conv := exec.Command("go", "tool", "test2json", "-p", pkg)
	conv.Stdin = bytes.NewReader(raw)
	out, err := conv.Output()
	require.NoError(t, err, "go tool test2json")
	tests := map[string]string{}
	var failedOutput []string
	s := bufio.NewScanner(bytes.NewReader(out))
	s.Buffer(make([]byte, 1<<20), 16<<20)
	for s.Scan() {
		var e event
		require.NoError(t, json.Unmarshal(s.Bytes(), &e), "%s", s.Bytes())
		switch e.Action {
		case "pass", "fail", "skip":
			tests[e.Test] = e.Action
		case "output":
			if strings.Contains(e.Output, "--- FAIL") || strings.Contains(e.Output, "Error") {
				failedOutput = append(failedOutput, e.Test+": "+strings.TrimSpace(e.Output))
			}
		}
	}
	require.NoError(t, s.Err())
	require.NotEmpty(t, tests, "no test events in %s:\n%s", path, tail(raw, 2000))
	if tests[""] != "pass" {
		t.Logf("%s did not pass; lines mentioning failures:\n%s", pkg, strings.Join(failedOutput, "\n"))
	}
	return tests
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// testWriter shows the guest's markers in the test log, not the payloads'
// output, which is in the share.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if strings.Contains(line, "unionbench-vm: ") {
			w.t.Log(line)
		}
	}
	return len(p), nil
}
