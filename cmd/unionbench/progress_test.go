package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/results"
)

// tinyRun is a cheap real run: mount's floor and two mount steps of
// overlay2, on tmpfs. The second (300 mounts of 64 lowers, about 1 ms
// each) takes long enough, some hundreds of milliseconds, for the bar to
// be drawn more than once.
func tinyRun(dir string) []string {
	return []string{"run", "--drivers", "overlay2", "--scenarios", "mount", "--depths", "1,64", "--count", "300", "--passes", "1",
		"--backing", "tmpfs", "--workdir", filepath.Join(dir, "work"), "--out", filepath.Join(dir, "out")}
}

// cliCommand is the test binary acting as unionbench (see TestMain).
func cliCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "UNIONBENCH_SANDBOX") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, cliEnv+"=1", "TERM=xterm")
	return cmd
}

// underTerminal runs args with stdin, stdout and stderr on a new
// pseudo-terminal of the given size (nil: left unsized, 0x0) and returns
// everything the terminal showed.
func underTerminal(t *testing.T, size *pty.Winsize, args ...string) string {
	t.Helper()
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	if size != nil {
		require.NoError(t, pty.Setsize(ptmx, size))
	}
	cmd := cliCommand(args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty // as a user at a terminal has them
	require.NoError(t, cmd.Start())
	tty.Close() // the child holds it now: EOF (EIO) on ptmx once it exits
	var screen bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&screen, ptmx); close(copied) }()
	err = cmd.Wait()
	<-copied
	require.NoError(t, err, "run under a terminal: %s", screen.String())
	return screen.String()
}

// On a terminal the progress is an mpb bar, redrawn in place, that names
// the scenario, driver and case, counts steps and gives an ETA; and it has
// drawn its last frame before the summary table is printed.
func TestProgressBarOnATerminal(t *testing.T) {
	testenv.NeedRoot(t, whyRoot)
	out := underTerminal(t, &pty.Winsize{Rows: 40, Cols: 160}, tinyRun(t.TempDir())...)

	assert.Contains(t, out, "\x1b[", "the bar is redrawn in place with escape sequences")
	assert.Regexp(t, `mount overlay2 depth=(1|64) +\[[=>-]{10,}\] +[0-3]/3 ETA (\?|\d)`, out, "scenario, driver, case, bar, n/total and ETA on one line")
	assert.Contains(t, out, "3/3 ETA 0s", "the last frame shows every step done")
	assert.NotContains(t, out, "[1/3]", "no plain progress lines on a terminal")
	summary := strings.Index(out, "SCENARIO")
	require.Positive(t, summary, "the summary table is printed: %q", out)
	assert.NotContains(t, out[summary:], "ETA", "no bar frame is drawn into or after the summary")
	assert.Regexp(t, `(?m)^SCENARIO +METRIC +DRIVER +PARAMS +MEDIAN +N\r?$`, out[summary:], "the table header is whole")
	assert.Regexp(t, `report: .*/out/report/report\.html\r?\n$`, out, "run ends with the report's path")
}

// When stderr is not a terminal (a pipe, a CI log) progress is one plain
// line per step, with no escape sequences or carriage returns.
func TestProgressPlainLinesOnAPipe(t *testing.T) {
	testenv.NeedRoot(t, whyRoot)
	dir := t.TempDir()
	cmd := cliCommand(tinyRun(dir)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stderr: %s", stderr.String())
	assert.NotContains(t, stderr.String(), "\x1b")
	assert.NotContains(t, stderr.String(), "\r")
	assert.Regexp(t, `(?m)^\[1/3\] mount floor \(ETA \?\)$`, stderr.String(), "first step, the floor: no ETA yet")
	steps := regexp.MustCompile(`(?m)^\[(\d)/3\] mount overlay2 depth=(\d+) \(ETA ([^)]+)\)$`).FindAllStringSubmatch(stderr.String(), -1)
	require.Len(t, steps, 2, "one line per step: %s", stderr.String())
	assert.Equal(t, []string{"2", "1"}, steps[0][1:3])
	assert.Equal(t, []string{"3", "64"}, steps[1][1:3])
	assert.Regexp(t, `^\d`, steps[1][3], "an ETA once a step has finished")
	assert.Regexp(t, `report: .*/out/report/report\.html\n$`, stdout.String(), "run ends with the report's path")

	// In passes, each step is told once a pass, with its pass.
	passed := cliCommand(append(tinyRun(t.TempDir()), "--passes", "3")...)
	stderr.Reset()
	passed.Stderr = &stderr
	require.NoError(t, passed.Run(), "stderr: %s", stderr.String())
	assert.Regexp(t, `(?m)^\[1/9\] mount floor \(pass 1/3\) \(ETA \?\)$`, stderr.String())
	assert.Regexp(t, `(?m)^\[6/9\] mount overlay2 depth=64 \(pass 2/3\) \(ETA [^)]+\)$`, stderr.String())
	assert.Regexp(t, `(?m)^\[9/9\] mount overlay2 depth=64 \(pass 3/3\) `, stderr.String())
}

// A terminal of size 0x0 (never sized, as on some serial consoles and CI
// runners) could show no bar: it gets the plain lines.
func TestProgressPlainLinesOnAnUnsizedTerminal(t *testing.T) {
	testenv.NeedRoot(t, whyRoot)
	out := underTerminal(t, nil, tinyRun(t.TempDir())...)
	assert.NotContains(t, out, "\x1b[")
	assert.Contains(t, out, "[1/3] mount floor (ETA ?)\r\n")
	assert.Contains(t, out, "[3/3] mount overlay2 depth=64 (ETA ")
}

// A floor is measured even when no variant compared with it can run: vfs
// mounts nothing, so a mount run of vfs alone has only the floor's bind
// mount to time.
func TestFloorMeasuredWhenNoVariantRuns(t *testing.T) {
	testenv.NeedRoot(t, whyRoot)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	stdout, stderr, code := unionbench(t, "run", "--drivers", "vfs", "--scenarios", "mount", "--depths", "1", "--count", "3", "--passes", "1",
		"--backing", "tmpfs", "--workdir", filepath.Join(dir, "work"), "--out", out)
	require.Equal(t, 0, code, "%s\n%s", stdout, stderr)
	recs, err := results.Read(filepath.Join(out, "results.jsonl"))
	require.NoError(t, err)
	floors, unsupported := 0, 0
	for _, r := range recs {
		switch {
		case r.Driver == "floor":
			floors++
			assert.Equal(t, results.OK, r.Status, r.Key())
			assert.Len(t, r.Samples, 3, r.Key())
		case r.Status == results.Unsupported:
			unsupported++
			assert.Contains(t, r.Reason, "vfs mounts nothing")
		}
	}
	assert.Equal(t, 2, floors, "the bind mount and its unmount")
	assert.Positive(t, unsupported)
}
