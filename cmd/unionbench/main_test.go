package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
)

// cliEnv makes the test binary act as the unionbench command, so the tests
// run the real CLI (sandbox re-exec included) without building it first.
const cliEnv = "UB_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) != "" {
		main()
	}
	sandbox.RunTests(m)
}

// unionbench runs the CLI as a separate process, outside this test's
// sandbox bookkeeping (it makes its own), and returns stdout, stderr and the
// exit code.
func unionbench(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "UNIONBENCH_SANDBOX") {
			env = append(env, e)
		}
	}
	cmd.Env = append(env, cliEnv+"=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errb.String(), code
}

// assertRefused checks how the command refuses bad input: exit 2, nothing
// on stdout, one line on stderr saying want.
func assertRefused(t *testing.T, stdout, stderr string, code int, want string) {
	t.Helper()
	assert.Equal(t, 2, code, "stderr: %s", stderr)
	assert.Empty(t, stdout)
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
	assert.Contains(t, stderr, want)
}

func TestBadInputIsOneLineAndExitCode2(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"unknown command":         {[]string{"frobnicate"}, `unknown command "frobnicate"`},
		"unknown driver":          {[]string{"drivers", "--drivers", "zfs"}, `unknown driver "zfs"`},
		"empty driver in list":    {[]string{"drivers", "--drivers", "overlay2,"}, `empty driver name`},
		"bad variant option":      {[]string{"drivers", "--drivers", "overlay2+"}, `bad mount option`},
		"unknown backing":         {[]string{"drivers", "--backing", "zfs"}, `unknown backing filesystem "zfs"`},
		"workdir /":               {[]string{"drivers", "--workdir", "/"}, `"/"`},
		"workdir docker":          {[]string{"drivers", "--workdir", "/var/lib/docker/overlay2"}, `/var/lib/docker`},
		"workdir docker relative": {[]string{"drivers", "--workdir", "/var/lib/../lib/docker"}, `/var/lib/docker`},
		"negative layers":         {[]string{"drivers", "--layers", "-3"}, `--layers -3`},
		"layers not a number":     {[]string{"drivers", "--layers", "many"}, `"many"`},
		"unknown flag":            {[]string{"drivers", "--colour"}, `colour`},
		"stray argument":          {[]string{"drivers", "extra"}, `"extra"`},
		"clean workdir /":         {[]string{"clean", "--workdir", "/"}, `"/"`},
	}
	if testenv.Root() {
		cases["layers beyond overlay2's limit"] = struct {
			args []string
			want string
		}{[]string{"drivers", "--drivers", "overlay2", "--layers", "600"}, "limit of 501"}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := unionbench(t, c.args...)
			assertRefused(t, stdout, stderr, code, c.want)
		})
	}
}

func TestDriversReportsThisHost(t *testing.T) {
	testenv.NeedRoot(t, "probing drivers mounts filesystems")
	for _, kind := range []string{"tmpfs", "ext4"} {
		stdout, stderr, code := unionbench(t, "drivers", "--json", "--backing", kind, "--workdir", t.TempDir())
		require.Equal(t, 0, code, stderr)
		var rep driversReport
		require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
		assert.Equal(t, hostinfo.Read().Kernel, rep.Host.Kernel)
		require.NotNil(t, rep.Backing)
		assert.Equal(t, kind, string(rep.Backing.Kind))
		assert.True(t, rep.Backing.DType)
		byName := map[string]bool{}
		reasons := map[string]string{}
		for _, s := range rep.Drivers {
			byName[s.Variant] = s.Supported
			reasons[s.Variant] = s.Reason
		}
		for _, v := range []string{"overlay2", "overlay", "vfs"} {
			assert.True(t, byName[v], "%s runs on this kernel (overlay is built in): %s", v, reasons[v])
		}
		for _, v := range []string{"aufs+dirren", "aufs+udba=notify", "aufs+udba=none"} {
			_, listed := byName[v]
			assert.True(t, listed, "aufs variant %s is probed", v)
		}
		if !hostinfo.HasFilesystem("aufs") {
			assert.False(t, byName["aufs"])
			assert.Contains(t, reasons["aufs"], "/proc/filesystems")
		} else {
			for _, s := range rep.Drivers {
				if s.Variant == "aufs" {
					assert.Contains(t, s.Details, "branches a mount", "aufs says what this kernel's aufs is")
				}
			}
		}
		assert.Contains(t, rep.Host.Overlay, "redirect_dir", "overlay module parameters are reported")
	}
	stdout, _, code := unionbench(t, "drivers", "--workdir", t.TempDir())
	require.Equal(t, 0, code)
	assert.Contains(t, stdout, "VARIANT")
	assert.Contains(t, stdout, "overlay2+metacopy=on+redirect_dir=on")
}

func TestCleanOnEmptyWorkdir(t *testing.T) {
	testenv.NeedRoot(t, "clean unmounts what a run left")
	stdout, stderr, code := unionbench(t, "clean", "--workdir", t.TempDir())
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "nothing to clean")
}
