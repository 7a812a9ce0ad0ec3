package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/internal/vm"
	"github.com/unionbench/unionbench/reports/results"
)

// fakeKernel writes a file that passes for a bzImage of release: the boot
// header and its version string, nothing bootable.
func fakeKernel(t *testing.T, release string) string {
	t.Helper()
	b := make([]byte, 0x1000)
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x20E:], 0x600)
	copy(b[0x800:], release+" #1 SMP\x00")
	p := filepath.Join(t.TempDir(), "bzImage-"+release)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func TestVMBadInputIsOneLineAndExitCode2(t *testing.T) {
	k := fakeKernel(t, "6.1.0-test")
	k2 := fakeKernel(t, "6.1.0-test") // same release, another file
	notKernel := filepath.Join(t.TempDir(), "README")
	require.NoError(t, os.WriteFile(notKernel, []byte("not a kernel"), 0o644))
	out := filepath.Join(t.TempDir(), "out")
	base := []string{"vm", "--out", out, "--cache", t.TempDir()}
	cases := map[string]struct {
		args []string
		want string
	}{
		"no kernel":          {[]string{"--", "quirks"}, "want at least one --kernel"},
		"no command":         {[]string{"--kernel", k}, "want -- and a unionbench command"},
		"no dashes":          {[]string{"--kernel", k, "quirks"}, "want -- before unionbench's arguments"},
		"empty command":      {[]string{"--kernel", k, "--"}, "empty command after --"},
		"empty second":       {[]string{"--kernel", k, "--", "quirks", "--"}, "empty command after --"},
		"nested vm":          {[]string{"--kernel", k, "--", "vm", "--kernel", k}, "cannot boot further guests"},
		"unknown command":    {[]string{"--kernel", k, "--", "frobnicate"}, `-- frobnicate: unknown command`},
		"out in guest args":  {[]string{"--kernel", k, "--", "run", "--out", "/tmp/x"}, "vm chooses where results go"},
		"out= in guest args": {[]string{"--kernel", k, "--", "quirks", "--out=/x"}, "give vm --out instead"},
		"bad accel":          {[]string{"--kernel", k, "--accel", "hvf", "--", "quirks"}, `unknown accelerator "hvf"`},
		"zero timeout":       {[]string{"--kernel", k, "--timeout", "0s", "--", "quirks"}, "--timeout 0s"},
		"bad timeout":        {[]string{"--kernel", k, "--timeout", "soon", "--", "quirks"}, "soon"},
		"tiny memory":        {[]string{"--kernel", k, "--memory", "64", "--", "quirks"}, "--memory 64"},
		"negative cpus":      {[]string{"--kernel", k, "--cpus", "-1", "--", "quirks"}, "--cpus -1"},
		"tiny disk":          {[]string{"--kernel", k, "--disk", "1MiB", "--", "quirks"}, `--disk "1MiB"`},
		"missing kernel":     {[]string{"--kernel", "/no/such/vmlinuz", "--", "quirks"}, "/no/such/vmlinuz"},
		"not a kernel":       {[]string{"--kernel", notKernel, "--", "quirks"}, "not a bzImage"},
		"same release twice": {[]string{"--kernel", k, "--kernel", k2, "--", "quirks"}, "release 6.1.0-test again"},
		"missing unionbench": {[]string{"--kernel", k, "--unionbench", "/no/such/unionbench", "--", "quirks"}, "/no/such/unionbench"},
		"unknown vm flag":    {[]string{"--kernel", k, "--kvm", "--", "quirks"}, "kvm"},
		"workdir is root":    {[]string{"--kernel", k, "--workdir", "/", "--", "quirks"}, `--workdir "/"`},
		"bad icount":         {[]string{"--kernel", k, "--icount", "fast", "--", "quirks"}, `--icount "fast": want off or a shift from 0 to 10`},
		"icount too large":   {[]string{"--kernel", k, "--icount", "11", "--", "quirks"}, `--icount "11"`},
		"icount with kvm":    {[]string{"--kernel", k, "--icount", "3", "--accel", "kvm", "--", "quirks"}, "--icount 3 with --accel kvm"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := unionbench(t, append(base, c.args...)...)
			assertRefused(t, stdout, stderr, code, c.want)
			assert.NoDirExists(t, out, "bad input creates nothing")
		})
	}
}

func TestVMRefusesToMixResultsOfTwoRuns(t *testing.T) {
	k := fakeKernel(t, "6.1.0-test")
	out := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(out, "6.1.0-test", "quirks"), 0o755))
	_, stderr, code := unionbench(t, "vm", "--kernel", k, "--out", out, "--", "quirks")
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "already holds results")
}

func TestVMGuestCommandsGetTheirOwnDirectories(t *testing.T) {
	// Variant names are the guest's business: a variant this host's
	// unionbench does not know (aufs+dirren, say) passes through unchanged.
	got := guestCommands([][]string{{"quirks", "--drivers", "overlay2"}, {"run", "--quick", "--drivers", "aufs+dirren,aufs+udba=notify"}, {"run", "--full"}, {"drivers", "--json"}})
	assert.Equal(t, []vm.GuestCommand{
		{Args: []string{"quirks", "--out", "/results/quirks", "--drivers", "overlay2"}, Dir: "quirks"},
		{Args: []string{"run", "--out", "/results/run", "--quick", "--drivers", "aufs+dirren,aufs+udba=notify"}, Dir: "run"},
		{Args: []string{"run", "--out", "/results/run-2", "--full"}, Dir: "run-2"},
		{Args: []string{"drivers", "--json"}, Dir: "drivers"},
	}, got)
}

// TestVMBootsDebianKernel boots a Debian kernel in qemu and checks that
// the quirk results coming back say they were measured on that kernel, and
// emulated when qemu ran without KVM. It takes about a minute under KVM
// and two to five under software emulation, downloads a kernel package if
// none is cached, and so runs only when asked:
//
//	sudo UNIONBENCH_VM_TEST=1 go test -run TestVMBootsDebianKernel -v -timeout 30m ./cmd/unionbench/
//
// UNIONBENCH_VM_KERNEL names the kernel (a .deb, tree or bzImage); by
// default the newest linux-image .deb in /var/cache/unionbench/debs, or the
// one linux-image-amd64 depends on, fetched with apt-get download.
func TestVMBootsDebianKernel(t *testing.T) {
	if !testenv.VMTest(t) {
		t.Skip("boots a kernel in qemu for minutes: set UNIONBENCH_VM_TEST=1 to run it")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Fatal("qemu-system-x86_64 not installed (Debian package qemu-system-x86)")
	}
	kernel := testenv.DebianKernel(t, filepath.Join(vm.DefaultCacheDir(), "debs"))
	bin := filepath.Join(t.TempDir(), "unionbench")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	k, err := vm.OpenKernel(kernel, vm.DefaultCacheDir())
	require.NoError(t, err)
	resDir := filepath.Join(t.TempDir(), "vm")
	start := time.Now()
	stdout, stderr, code := unionbench(t, "vm", "--kernel", kernel, "--out", resDir, "--unionbench", bin,
		"--timeout", "20m", "--", "quirks", "--drivers", "overlay2,vfs")
	t.Logf("kernel %s booted and probed in %v", k.Release, time.Since(start).Round(time.Second))
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)

	recs, err := results.ReadAny(filepath.Join(resDir, k.Release, "quirks", "results.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	b, err := os.ReadFile(filepath.Join(resDir, k.Release, "vm.json"))
	require.NoError(t, err)
	var boot vm.Result
	require.NoError(t, json.Unmarshal(b, &boot))
	t.Logf("accel %s, init ready after %.1fs, quirks took %.1fs", boot.Accel, boot.BootSeconds, boot.Commands[0].Seconds)
	for _, r := range recs {
		require.Equal(t, k.Release, r.Host.Kernel, "%s", r.Key())
		require.Equal(t, boot.Accel == vm.TCG, r.Host.Emulated, "%s: emulated under %s", r.Key(), boot.Accel)
		require.Equal(t, "quirks", r.Scenario)
	}
	assert.FileExists(t, filepath.Join(resDir, k.Release, "console.log"))
}
