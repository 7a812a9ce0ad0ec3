package faults

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/testenv"
)

// phases are small runs that each spend their time in one part of the
// program: building layers and copying up, building deep stacks and
// looking up, mounting, many containers reading, filling small
// filesystems with layers.
var phases = []struct {
	name string
	args []string
}{
	{"copyup", []string{"--scenarios", "copyup", "--drivers", "overlay2,vfs", "--sizes", "4KiB,16MiB", "--count", "2"}},
	{"lookup", []string{"--scenarios", "lookup", "--drivers", "overlay2,overlay", "--depths", "1,64", "--count", "2"}},
	{"mount", []string{"--scenarios", "mount", "--drivers", "overlay2,fuse-overlayfs", "--depths", "1,64", "--count", "3"}},
	{"pagecache", []string{"--scenarios", "pagecache", "--drivers", "overlay2,vfs", "--sizes", "16MiB", "--count", "2"}},
	{"inodes", []string{"--scenarios", "inodes", "--drivers", "overlay,overlay2", "--count", "2"}},
}

// progressLine matches the plain progress lines a run prints on stderr.
var progressLine = regexp.MustCompile(`(?m)^\[(\d+)/(\d+)\] `)

// seed makes the kill points reproducible: UNIONBENCH_FAULT_SEED, or the
// time (logged).
func seed(t *testing.T) uint64 { return testenv.FaultSeed(t) }

// TestKill9AtRandomPoints kills `unionbench run` with SIGKILL at 25
// points, five in each phase: after a random number of its progress steps
// plus a random delay, or during start-up. After each kill the host has
// the same mounts and no loop device of the run, every result line the
// run wrote parses, and `unionbench clean` leaves the work directory empty.
func TestKill9AtRandomPoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed(t), 0))
	for _, ph := range phases {
		for i := range 5 {
			t.Run(fmt.Sprintf("%s/%d", ph.name, i), func(t *testing.T) {
				dir := t.TempDir()
				work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out")
				before := hostState(t)
				args := append([]string{"run", "--workdir", work, "--out", out}, ph.args...)
				p := start(t, args...)
				// The first kill of each phase lands during start-up (sandbox,
				// backing fs); the others after a random step has begun.
				where := "start-up"
				if i == 0 {
					time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
				} else {
					if !p.waitFor("] ", 60*time.Second) {
						t.Fatalf("no progress within 60 s: %s", p.stderr.String())
					}
					m := progressLine.FindStringSubmatch(p.stderr.String())
					total, _ := strconv.Atoi(m[2])
					step := 1 + rng.IntN(total)
					p.waitFor(fmt.Sprintf("[%d/%d] ", step, total), 60*time.Second)
					delay := time.Duration(rng.IntN(250)) * time.Millisecond
					time.Sleep(delay)
					where = fmt.Sprintf("step %d/%d + %v", step, total, delay)
				}
				tally.injected.Add(1)
				require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
				code := p.wait()
				t.Logf("killed at %s (exit %d)", where, code)

				ok := checkNoLeaks(t, before, work)
				recs, parsed := checkResults(t, out)
				_, stderr, code := run(t, "clean", "--workdir", work)
				assert.Equal(t, 0, code, "clean: %s", stderr)
				clean := emptyDir(t, work)
				if ok && parsed && clean && code == 0 {
					tally.survived.Add(1)
				}
				t.Logf("%d records kept", len(recs))
			})
		}
	}
}

// TestSignalsStopCleanly interrupts runs with SIGINT and SIGTERM while a
// measurement is under way: the run stops within 2 s, exits 130 or 143,
// keeps what it measured (parseable, non-empty), prints its summary, and
// leaves nothing behind, work directory included.
func TestSignalsStopCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, ph := range phases {
			t.Run(fmt.Sprintf("%s/%s", sig, ph.name), func(t *testing.T) {
				dir := t.TempDir()
				work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out")
				before := hostState(t)
				args := append([]string{"run", "--workdir", work, "--out", out}, ph.args...)
				p := start(t, args...)
				// Step 2 begins once step 1's records are written.
				if !p.waitFor("[2/", 60*time.Second) {
					t.Fatalf("no second step within 60 s: %s", p.stderr.String())
				}
				time.Sleep(100 * time.Millisecond)
				tally.injected.Add(1)
				sent := time.Now()
				require.NoError(t, p.cmd.Process.Signal(sig))
				code := p.wait()
				took := time.Since(sent)
				t.Logf("%v: stopped in %v, exit %d", sig, took, code)

				good := assert.Equal(t, 128+int(sig), code, "stderr: %s", p.stderr.String())
				good = assert.Less(t, took, 2*time.Second, "a clean stop within 2 s") && good
				good = assert.Contains(t, p.stderr.String(), "what was measured is kept") && good
				good = assert.Contains(t, p.stdout.String(), "measurements,") && good
				recs, parsed := checkResults(t, out)
				good = assert.NotEmpty(t, recs, "the first step's records are kept") && good
				good = checkNoLeaks(t, before, work) && good
				good = emptyDir(t, work) && good
				if good && parsed {
					tally.survived.Add(1)
				}
			})
		}
	}
}
