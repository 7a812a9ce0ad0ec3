package vm

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/testenv"
)

type cpioEntry struct {
	mode       uint32
	rmaj, rmin uint32
	data       string
}

// readCPIO parses a newc archive the way the kernel's unpacker does,
// checking magic, alignment and the trailer, so the writer is tested
// against the format rather than against itself.
func readCPIO(t *testing.T, b []byte) (map[string]cpioEntry, []string) {
	t.Helper()
	entries := map[string]cpioEntry{}
	var order []string
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
		require.NoError(t, err)
		return uint32(v)
	}
	for {
		require.LessOrEqual(t, off+110, len(b), "truncated header at %d", off)
		require.Equal(t, "070701", string(b[off:off+6]), "magic at %d", off)
		require.Zero(t, off%4, "header at %d not 4-aligned", off)
		mode, size, rmaj, rmin, namesize := field(1), field(6), field(9), field(10), field(11)
		name := string(b[off+110 : off+110+int(namesize)-1])
		require.Equal(t, byte(0), b[off+110+int(namesize)-1], "name %q not NUL-terminated", name)
		data := off + 110 + int(namesize)
		data = (data + 3) &^ 3
		if name == "TRAILER!!!" {
			return entries, order
		}
		entries[name] = cpioEntry{mode, rmaj, rmin, string(b[data : data+int(size)])}
		order = append(order, name)
		off = (data + int(size) + 3) &^ 3
	}
}

func TestCPIOWritesNewcTheKernelUnpacks(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIO(&buf)
	c.File("/lib/modules/6.1.0-test/kernel/fs/overlayfs/overlay.ko", 0o644, []byte("odd-sized!"))
	c.Symlink("/init", "bin/unionbench")
	c.CharDev("/dev/console", 0o600, 5, 1)
	c.Dir("/proc", 0o755)
	c.Dir("/proc", 0o755) // again: no second entry
	c.File("/empty", 0o644, nil)
	require.NoError(t, c.Close())

	entries, order := readCPIO(t, buf.Bytes())
	assert.Equal(t, []string{"lib", "lib/modules", "lib/modules/6.1.0-test", "lib/modules/6.1.0-test/kernel",
		"lib/modules/6.1.0-test/kernel/fs", "lib/modules/6.1.0-test/kernel/fs/overlayfs",
		"lib/modules/6.1.0-test/kernel/fs/overlayfs/overlay.ko", "init", "dev", "dev/console", "proc", "empty"}, order,
		"parents come before their children, each once")
	assert.Equal(t, cpioEntry{modeFile | 0o644, 0, 0, "odd-sized!"}, entries["lib/modules/6.1.0-test/kernel/fs/overlayfs/overlay.ko"])
	assert.Equal(t, cpioEntry{modeSymlink | 0o777, 0, 0, "bin/unionbench"}, entries["init"])
	assert.Equal(t, cpioEntry{modeChar | 0o600, 5, 1, ""}, entries["dev/console"])
	assert.Equal(t, uint32(modeDir|0o755), entries["proc"].mode)

	// The same inputs give the same bytes.
	var again bytes.Buffer
	c = newCPIO(&again)
	c.File("/lib/modules/6.1.0-test/kernel/fs/overlayfs/overlay.ko", 0o644, []byte("odd-sized!"))
	c.Symlink("/init", "bin/unionbench")
	c.CharDev("/dev/console", 0o600, 5, 1)
	c.Dir("/proc", 0o755)
	c.File("/empty", 0o644, nil)
	require.NoError(t, c.Close())
	assert.Equal(t, buf.Bytes(), again.Bytes())

	// GNU cpio, where installed, reads it too.
	if cpio, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command(cpio, "-it", "--quiet")
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		out, err := cmd.Output()
		require.NoError(t, err)
		assert.Equal(t, strings.Join(order, "\n")+"\n", string(out))
	} else if testenv.CI() {
		t.Log("cpio not installed: checked with the test's own reader only")
	}
}
