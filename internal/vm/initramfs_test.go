package vm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/hostinfo"
)

func TestInitramfsHoldsInitModulesToolsAndConfig(t *testing.T) {
	// Any dynamically linked program stands in for unionbench: the
	// initramfs must then carry its loader and libraries too.
	prog, err := exec.LookPath("sleep")
	require.NoError(t, err)
	dir := fakeModules(t, debianLikeDep, "")
	mods, _, err := ResolveModules(dir, []string{"ext4", "overlay"})
	require.NoError(t, err)
	cfg := GuestConfig{
		Release: "6.1.0-test", Modules: []string{"/lib/modules/6.1.0-test/kernel/fs/overlayfs/overlay.ko"},
		ScratchDevice: scratchDev, ScratchMount: guestScratch, ResultsTag: resultsTag,
		Commands: []GuestCommand{{Args: []string{"quirks", "--out", "/results/quirks"}, Dir: "quirks"}},
	}
	var buf bytes.Buffer
	r := &Initramfs{
		Unionbench: prog, Release: "6.1.0-test", Modules: mods, Tools: []string{prog},
		OSRelease: GuestOSRelease([]byte("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")), Config: cfg,
	}
	require.NoError(t, r.Write(&buf))
	entries, _ := readCPIO(t, buf.Bytes())

	assert.Equal(t, cpioEntry{modeSymlink | 0o777, 0, 0, "bin/unionbench"}, entries["init"])
	self, err := os.ReadFile(prog)
	require.NoError(t, err)
	assert.Equal(t, string(self), entries["bin/unionbench"].data)
	assert.Equal(t, cpioEntry{modeChar | 0o600, 5, 1, ""}, entries["dev/console"], "init needs a console before devtmpfs")
	for _, m := range mods {
		assert.Contains(t, entries, "lib/modules/6.1.0-test/"+m.Rel)
	}
	assert.Contains(t, entries, strings.TrimPrefix(prog, "/"))
	libs, err := sharedLibraries(prog, libDirs)
	require.NoError(t, err)
	require.NotEmpty(t, libs, "%s is dynamically linked on Debian", prog)
	for _, l := range libs {
		assert.Equal(t, uint32(modeFile|0o755), entries[strings.TrimPrefix(l, "/")].mode, "%s is a file, not a symlink into nowhere", l)
	}
	for _, d := range []string{"proc", "sys", "dev", "tmp", "results", "var/tmp"} {
		assert.Equal(t, uint32(modeDir|0o755), entries[d].mode, d)
	}
	var got GuestConfig
	require.NoError(t, json.Unmarshal([]byte(entries[strings.TrimPrefix(ConfigPath, "/")].data), &got))
	assert.Equal(t, cfg, got)
	assert.Contains(t, entries["etc/os-release"].data, `PRETTY_NAME="unionbench vm initramfs (userland of Debian GNU/Linux 12 (bookworm))"`)
}

func TestInitramfsCarriesPayloadsWithTheirLibraries(t *testing.T) {
	prog, err := exec.LookPath("sleep")
	require.NoError(t, err)
	payload := filepath.Join(t.TempDir(), "aufs.test")
	self, err := os.ReadFile(prog)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(payload, self, 0o755))
	cmd := GuestCommand{Program: PayloadPath(payload), Args: []string{"-test.v"}, Dir: "aufs", Env: []string{"CI=true"}}
	var buf bytes.Buffer
	r := &Initramfs{Unionbench: prog, Release: "6.1.0-test", Payloads: []string{payload},
		Config: GuestConfig{Commands: []GuestCommand{cmd}}}
	require.NoError(t, r.Write(&buf))
	entries, _ := readCPIO(t, buf.Bytes())

	assert.Equal(t, "/payload/aufs.test", cmd.Program)
	assert.Equal(t, uint32(modeFile|0o755), entries["payload/aufs.test"].mode)
	assert.Equal(t, string(self), entries["payload/aufs.test"].data)
	libs, err := sharedLibraries(prog, libDirs)
	require.NoError(t, err)
	for _, l := range libs {
		assert.Contains(t, entries, strings.TrimPrefix(l, "/"), "a dynamic payload brings its libraries")
	}
	var got GuestConfig
	require.NoError(t, json.Unmarshal([]byte(entries[strings.TrimPrefix(ConfigPath, "/")].data), &got))
	assert.Equal(t, []GuestCommand{cmd}, got.Commands, "program and environment reach the guest")
}

func TestSharedLibrariesOfAStaticProgramIsEmpty(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	static, err := isStatic(exe)
	require.NoError(t, err)
	libs, err := sharedLibraries(exe, libDirs)
	require.NoError(t, err)
	assert.Equal(t, static, len(libs) == 0, "a static test binary needs nothing, a dynamic one its loader")

	_, err = sharedLibraries(filepath.Join(t.TempDir(), "missing"), libDirs)
	assert.Error(t, err)
}

func TestKernelCmdlineMarksEmulationAndStartsVM(t *testing.T) {
	tcg := KernelCmdline(Options{Accel: TCG})
	assert.Contains(t, strings.Fields(tcg), hostinfo.EmulatedParam)
	assert.True(t, strings.HasSuffix(tcg, " -- vm"), "init's arguments make /init run `unionbench vm`")
	assert.Contains(t, tcg, "panic=-1", "a panic must end qemu, not hang until the timeout")
	assert.Contains(t, tcg, "oops=panic", "an oops must end qemu too")
	assert.NotContains(t, KernelCmdline(Options{Accel: KVM}), hostinfo.EmulatedParam)
	assert.NotContains(t, tcg, hostinfo.ICountParam, "the host's clock unless asked")

	args := strings.Join(qemuArgs(Options{Accel: TCG, MemoryMiB: 512, CPUs: 1}, "/k", "/i", "/s", "/r"), " ")
	assert.Contains(t, args, "-no-reboot")
	assert.Contains(t, args, "-accel tcg -cpu max")
	assert.Contains(t, args, "-virtfs local,path=/r,mount_tag="+resultsTag)
	assert.Contains(t, strings.Join(qemuArgs(Options{Accel: KVM, MemoryMiB: 512, CPUs: 2}, "/k", "/i", "/s", "/r"), " "), "-accel kvm -cpu host")
	assert.NotContains(t, args, "-icount")

	// The instruction clock: qemu counts, the guest is told (its results
	// say so) and keeps the TSC, which then counts instructions too.
	ic := Options{Accel: TCG, ICount: true, ICountShift: 3, MemoryMiB: 512, CPUs: 1}
	assert.Contains(t, strings.Join(qemuArgs(ic, "/k", "/i", "/s", "/r"), " "), "-accel tcg -cpu max -icount shift=3,sleep=off")
	assert.Subset(t, strings.Fields(KernelCmdline(ic)), []string{hostinfo.ICountParam + "=3", "clocksource=tsc", "tsc=reliable"})
	assert.True(t, strings.HasSuffix(KernelCmdline(ic), " -- vm"))
}

func TestParseAccelAndMarkers(t *testing.T) {
	for in, want := range map[string]Accel{"kvm": KVM, "tcg": TCG} {
		a, auto, err := ParseAccel(in)
		require.NoError(t, err)
		assert.Equal(t, want, a)
		assert.False(t, auto)
	}
	_, auto, err := ParseAccel("auto")
	require.NoError(t, err)
	assert.True(t, auto)
	_, _, err = ParseAccel("hvf")
	assert.ErrorContains(t, err, `unknown accelerator "hvf"`)

	var lines []string
	s := bufio.NewScanner(strings.NewReader("boot\r\n[==>  ] 1/3\r[===> ] 2/3\r\nunionbench-vm: done"))
	s.Split(scanConsoleLines)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	assert.Equal(t, []string{"boot", "", "[==>  ] 1/3", "[===> ] 2/3", "", "unionbench-vm: done"}, lines)

	assert.Equal(t, 36.5, floatField("code=0 seconds=36.5", "seconds"))
	assert.Equal(t, 2.0, floatField("code=2 seconds=1", "code"))
	assert.Zero(t, floatField("", "code"))
}

// The oops the aufs 6.1 kernel printed when a mount of a 126-branch union
// failed (console excerpt in testdata): the summary names the fault, the
// faulting function and the named frames of the call trace, so the host's
// error says which syscall crashed the kernel.
func TestOopsSummaryQuotesWhatAndWhere(t *testing.T) {
	b, err := os.ReadFile("testdata/aufs-oops.console")
	require.NoError(t, err)
	var o oopsSummary
	for _, line := range strings.Split(string(b), "\n") {
		o.add(line)
	}
	got := strings.Join(o.lines, " | ")
	assert.True(t, strings.HasPrefix(got, "[   18.141692] BUG: unable to handle page fault for address: ffffffff859af558"), got)
	assert.Contains(t, got, "Oops: 0003")
	assert.Contains(t, got, "RIP: 0010:_raw_spin_lock+0xe/0x20")
	assert.Contains(t, got, "path_put+0xd/0x20 | au_fsctx_free+0xc6/0xe0 | put_fs_context+0x4a/0x190 | path_mount+0x301/0xac0")
	assert.NotContains(t, got, "mempool_free", "frames marked ? are guesses")
	assert.NotContains(t, got, "RAX:", "registers are noise here")

	var none oopsSummary
	for _, line := range []string{"[    4.0] aufs au_xino_create:186: open /dev/shm/aufs.xino(-2)", "unionbench-vm: done"} {
		none.add(line)
	}
	assert.Empty(t, none.lines, "no oops, no summary")
}
