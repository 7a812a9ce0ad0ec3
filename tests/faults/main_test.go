package faults

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
)

// tally is what the summary line reports.
var tally struct {
	injected, survived, badInputs, mountsLeaked, resultsLost atomic.Int64
}

// binary is the unionbench built for this suite: the faults are injected
// into the real program, sandbox re-exec and all.
var binary string

func TestMain(m *testing.M) {
	sandbox.RunTestsFunc(func() int {
		if code, ok := testenv.MainNeedsRoot("faults", "the suite mounts filesystems"); !ok {
			return code
		}
		dir, err := os.MkdirTemp("", "unionbench-faults-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "unionbench")
		build := exec.Command("go", "build", "-o", binary, "github.com/unionbench/unionbench/cmd/unionbench")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "faults: go build:", err)
			return 1
		}
		code := m.Run()
		fmt.Printf("faults: %d faults injected, %d survived, %d bad inputs tried, %d mounts leaked, %d results lost\n",
			tally.injected.Load(), tally.survived.Load(), tally.badInputs.Load(), tally.mountsLeaked.Load(), tally.resultsLost.Load())
		if tally.mountsLeaked.Load() > 0 || tally.resultsLost.Load() > 0 || tally.survived.Load() != tally.injected.Load() {
			code = 1
		}
		return code
	})
}

// started is a unionbench process under test.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
}

// start runs unionbench with args, its output captured.
func start(t *testing.T, args ...string) *started {
	t.Helper()
	s := &started{cmd: exec.Command(binary, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	s.cmd.Env = outsideEnv()
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	return s
}

// outsideEnv is this process's environment without the suite's own
// sandbox variables, which would make unionbench think it is already
// inside a sandbox of its own.
func outsideEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "UNIONBENCH_SANDBOX") {
			env = append(env, e)
		}
	}
	return env
}

// wait waits for the process and returns its exit code (-1 for killed by
// a signal).
func (s *started) wait() int {
	err := s.cmd.Wait()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -2
}

// run runs unionbench to the end.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	s := start(t, args...)
	code = s.wait()
	return s.stdout.String(), s.stderr.String(), code
}

// waitFor polls the process's stderr until it holds want, or the process
// ended, or the timeout passed.
func (s *started) waitFor(want string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(s.stderr.String(), want) {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// hostState reads the mount table and loop devices to compare with later.
func hostState(t *testing.T) sandbox.HostState {
	t.Helper()
	st, err := sandbox.ReadHostState()
	require.NoError(t, err)
	return st
}

// checkNoLeaks waits for the loop devices of workdir to detach and checks
// the mount table is as before; what leaked is counted and fails the test.
func checkNoLeaks(t *testing.T, before sandbox.HostState, workdir string) bool {
	t.Helper()
	// A killed run's namespace is torn down asynchronously: its worker
	// may first have to finish a syscall it was in (sync, drop_caches),
	// then its ext4 is unmounted (journal committed) and only then does
	// the loop device detach. On a loaded 2-CPU VM that took up to ~10 s.
	start := time.Now()
	if err := sandbox.WaitNoLeaks(before, leakTimeout, workdir); err != nil {
		tally.mountsLeaked.Add(1)
		t.Error(err)
		return false
	}
	if took := time.Since(start); took > time.Second {
		t.Logf("the host was back as before after %v", took.Round(time.Millisecond))
	}
	return true
}

// leakTimeout is how long a dead run's mounts and loop devices may take to
// go away before they count as leaked.
const leakTimeout = 30 * time.Second

// checkResults reads a run's results.jsonl, if it was created: every line
// in it must parse. A line that does not is a result lost.
func checkResults(t *testing.T, out string) (recs []results.Record, ok bool) {
	t.Helper()
	path := filepath.Join(out, "results.jsonl")
	// Killed before its first record: nothing was written, nothing lost.
	if st, err := os.Stat(path); os.IsNotExist(err) || (err == nil && st.Size() == 0) {
		return nil, true
	}
	recs, err := results.Read(path)
	if err != nil {
		tally.resultsLost.Add(1)
		t.Errorf("results written before the fault do not parse: %v", err)
		return nil, false
	}
	return recs, true
}

// emptyDir says whether dir has no entries left (or does not exist).
func emptyDir(t *testing.T, dir string) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return true
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) > 0 {
		t.Errorf("%s still holds %s", dir, strings.Join(names, ", "))
		return false
	}
	return true
}

// syncBuffer is a bytes.Buffer safe to read while the process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
