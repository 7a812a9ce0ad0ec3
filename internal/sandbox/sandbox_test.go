package sandbox

import (
	"bytes"
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
)

func TestMain(m *testing.M) { RunTests(m) }

const childEnv = "UB_SANDBOX_TEST_CHILD"

// TestSandboxedChild is not a test on its own: TestKill9LeavesNothing runs
// the test binary with childEnv set to play a unionbench run that mounts
// things and starts a helper process, then gets killed.
func TestSandboxedChild(t *testing.T) {
	ready := os.Getenv(childEnv)
	if ready == "" {
		t.Skip("helper for TestKill9LeavesNothing")
	}
	dir := Scratch()
	lower, upper, work, merged := filepath.Join(dir, "l"), filepath.Join(dir, "u"), filepath.Join(dir, "w"), filepath.Join(dir, "m")
	for _, d := range []string{lower, upper, work, merged} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	require.NoError(t, unix.Mount("tmpfs", lower, "tmpfs", 0, "size=1m"))
	require.NoError(t, unix.Mount("overlay", merged, "overlay", 0, "lowerdir="+lower+",upperdir="+upper+",workdir="+work))
	sleeper := exec.Command("sleep", "987654")
	require.NoError(t, sleeper.Start())
	require.NoError(t, os.WriteFile(ready, []byte(dir), 0o644))
	time.Sleep(time.Minute)
}

func TestKill9LeavesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make namespaces and mounts")
	}
	before, err := ReadHostState()
	require.NoError(t, err)
	parent := t.TempDir()
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSandboxedChild$", "-test.v")
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, envInside+"=") && !strings.HasPrefix(e, envScratch+"=") && !strings.HasPrefix(e, "TMPDIR=") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, childEnv+"="+ready, "TMPDIR="+parent)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())

	var scratch string
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(ready)
		scratch = string(b)
		return err == nil && scratch != ""
	}, 20*time.Second, 20*time.Millisecond, "the child never got ready: %s", &out)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	// The mounts lived in the child's namespace only; its helper process
	// died with the pid namespace.
	assert.NoError(t, WaitNoLeaks(before, 10*time.Second, scratch))
	assert.Eventually(t, func() bool { return !processRunning("987654") }, 5*time.Second, 20*time.Millisecond, "the child's helper process outlived it")

	// kill -9 of the parent left its scratch directory; Clean removes it.
	_, err = os.Stat(scratch)
	require.NoError(t, err, "the scratch directory is still there before Clean")
	removed, err := Clean(parent)
	require.NoError(t, err)
	assert.Equal(t, []string{scratch}, removed)
	_, err = os.Stat(scratch)
	assert.True(t, os.IsNotExist(err))
}

func TestCleanSparesLiveRuns(t *testing.T) {
	parent := t.TempDir()
	dir, lock, err := makeScratch(parent)
	require.NoError(t, err)
	removed, err := Clean(parent)
	require.NoError(t, err)
	assert.Empty(t, removed, "a scratch directory whose owner lives is kept")
	lock.Close()
	removed, err = Clean(parent)
	require.NoError(t, err)
	assert.Equal(t, []string{dir}, removed)
	require.NoError(t, os.Mkdir(filepath.Join(parent, "not-ours"), 0o755))
	removed, err = Clean(parent)
	require.NoError(t, err)
	assert.Empty(t, removed, "directories without the scratch prefix are never touched")
}

func TestInsideIsReallyPrivate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not in a sandbox without root")
	}
	require.True(t, Inside())
	self, err := os.Readlink("/proc/self/ns/mnt")
	require.NoError(t, err)
	assert.NotEqual(t, os.Getenv(envInside), self, "runs in its own mount namespace")
	assert.Equal(t, 1, os.Getppid(), "runs as the child of the pid namespace's init")
}

// Orphans in the sandbox (daemons that double-fork, as fuse-overlayfs does)
// are reaped by its init instead of piling up as zombies.
func TestOrphansAreReaped(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not in a sandbox without root")
	}
	// The shell forks a short-lived grandchild and exits at once, so the
	// grandchild is reparented to the namespace's init.
	out, err := exec.Command("sh", "-c", "sleep 0.2 & echo $!").Output()
	require.NoError(t, err)
	hostPid := strings.TrimSpace(string(out)) // a pid in our namespace
	require.NotEmpty(t, hostPid)
	time.Sleep(600 * time.Millisecond)
	// /proc is the host's; find any zombie whose parent is our init.
	self, err := os.Readlink("/proc/self")
	require.NoError(t, err)
	initPid := ppidOf(t, self)
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) > 1 && fields[0] == "Z" && fields[1] == initPid {
			t.Errorf("zombie %s left under the sandbox init", p)
		}
	}
}

func ppidOf(t *testing.T, pid string) string {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	require.NoError(t, err)
	return strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))[1]
}

func processRunning(arg string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(arg)) && !bytes.Contains(b, []byte("test.run")) {
			return true
		}
	}
	return false
}
