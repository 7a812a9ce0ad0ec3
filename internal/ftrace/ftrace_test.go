package ftrace

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { sandbox.RunTests(m) }

// The tracer turns on for overlayfs's functions only, and off again.
func TestFunctionTracerOnAndOff(t *testing.T) {
	testenv.NeedRoot(t, "the function tracer is the kernel's")
	stop, err := Trace("ovl_*")
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODEV) {
		// This project's own VM kernel refuses function tracing (EPERM on
		// set_ftrace_filter and current_tracer under lockdown=integrity).
		t.Skipf("this kernel does not let us trace functions: %v", err)
	}
	require.NoError(t, err)
	read := func(f string) string {
		b, err := os.ReadFile(filepath.Join(Dir, f))
		require.NoError(t, err)
		return string(b)
	}
	on, filter := read("current_tracer"), read("set_ftrace_filter")
	require.NoError(t, stop())
	assert.Equal(t, "function\n", on)
	assert.Contains(t, filter, "ovl_lookup")
	assert.NotContains(t, filter, "ext4_lookup", "only overlayfs is traced")
	assert.Equal(t, "nop\n", read("current_tracer"))
	_, err = Trace("no_such_function_in_this_kernel")
	assert.ErrorContains(t, err, "set_ftrace_filter")
	assert.Equal(t, "nop\n", read("current_tracer"))
}
