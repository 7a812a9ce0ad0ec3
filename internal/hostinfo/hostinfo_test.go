package hostinfo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadThisHost(t *testing.T) {
	f := Read()
	assert.NotEmpty(t, f.Kernel)
	assert.Positive(t, f.CPUs)
	assert.Positive(t, f.MemoryBytes)
	assert.Contains(t, f.Filesystems, "proc", "proc is always registered")
	assert.True(t, HasFilesystem("proc"))
	assert.False(t, HasFilesystem("no-such-fs"))
}

func TestOsRelease(t *testing.T) {
	p := filepath.Join(t.TempDir(), "os-release")
	require.NoError(t, os.WriteFile(p, []byte("NAME=x\nPRETTY_NAME=\"Ubuntu 20.04.6 LTS\"\n"), 0o644))
	assert.Equal(t, "Ubuntu 20.04.6 LTS", osRelease(p))
	assert.Equal(t, "unknown", osRelease(filepath.Join(t.TempDir(), "missing")))
}

func TestCmdlineMarksEmulatedGuests(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cmdline")
	require.NoError(t, os.WriteFile(p, []byte("console=ttyS0 panic=-1 "+EmulatedParam+" -- vm\n"), 0o644))
	assert.True(t, cmdlineHas(p, EmulatedParam))
	require.NoError(t, os.WriteFile(p, []byte("console=ttyS0 unionbench.emulated=10\n"), 0o644))
	assert.False(t, cmdlineHas(p, EmulatedParam), "a longer word is not the flag")
	assert.False(t, cmdlineHas(filepath.Join(t.TempDir(), "missing"), EmulatedParam))
}

// The instruction clock's shift comes from the word vm puts on the
// guest's command line; the host's own clocksource is whatever sysfs says.
func TestCmdlineValueReadsTheInstructionClock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cmdline")
	require.NoError(t, os.WriteFile(p, []byte("console=ttyS0 "+EmulatedParam+" "+ICountParam+"=3 clocksource=tsc -- vm\n"), 0o644))
	v, ok := cmdlineValue(p, ICountParam)
	assert.True(t, ok)
	assert.Equal(t, "3", v)
	_, ok = cmdlineValue(p, "unionbench.icoun")
	assert.False(t, ok, "a prefix of the key is not the key")
	_, ok = cmdlineValue(filepath.Join(t.TempDir(), "missing"), ICountParam)
	assert.False(t, ok)
	if b, err := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource"); err == nil {
		assert.Equal(t, strings.TrimSpace(string(b)), Read().Clocksource)
	}
	assert.Empty(t, Read().InstructionClock, "this host's clock is its own")
}
