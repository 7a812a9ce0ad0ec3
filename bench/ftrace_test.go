package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/unionbench/unionbench/internal/testenv"
	"golang.org/x/sys/unix"
)

// tracefs is where the kernel's tracing files are (mounted there, in the
// benchmark's private mount namespace, when they are not).
const tracefs = "/sys/kernel/tracing"

// functionTracer turns the kernel's function tracer on for the functions
// matching filter (ovl_* is every function of overlayfs) and returns what
// turns it off again. Every call of a traced function then writes an
// event to the trace ring buffer: a real slowdown of just that code, in
// the kernel, that no other driver pays. The tracer is global kernel
// state, not the mount namespace's: stop must run (the caller defers it;
// a kill -9 in between leaves it on, and `echo nop >
// /sys/kernel/tracing/current_tracer` turns it off).
func functionTracer(filter string) (stop func() error, err error) {
	if _, err := os.Stat(filepath.Join(tracefs, "current_tracer")); err != nil {
		if err := unix.Mount("tracefs", tracefs, "tracefs", 0, ""); err != nil {
			return nil, fmt.Errorf("mount tracefs on %s: %w", tracefs, err)
		}
	}
	cur, err := os.ReadFile(filepath.Join(tracefs, "current_tracer"))
	if err != nil {
		return nil, err
	}
	if c := strings.TrimSpace(string(cur)); c != "nop" {
		return nil, fmt.Errorf("the %s tracer is already on: not taking it over", c)
	}
	set := func(file, value string) error {
		return os.WriteFile(filepath.Join(tracefs, file), []byte(value), 0)
	}
	stop = func() error {
		return errors.Join(set("current_tracer", "nop"), set("set_ftrace_filter", ""))
	}
	// Writing a filter no function matches is an error (EINVAL): the
	// kernel has no such code, so nothing would be slowed.
	if err := set("set_ftrace_filter", filter); err != nil {
		return nil, fmt.Errorf("set_ftrace_filter %q: %w", filter, err)
	}
	// (A kernel may refuse function tracing altogether: EPERM here and on
	// current_tracer, as this project's VM kernel does.)
	if err := errors.Join(set("tracing_on", "1"), set("current_tracer", "function")); err != nil {
		return nil, errors.Join(err, stop())
	}
	return stop, nil
}

// The tracer the real slowdown uses turns on for overlayfs's functions
// only, and off again.
func TestFunctionTracerOnAndOff(t *testing.T) {
	testenv.NeedRoot(t, "the function tracer is the kernel's")
	stop, err := functionTracer(tracedFilter)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENODEV) {
		// This project's own VM kernel refuses function tracing (EPERM on
		// set_ftrace_filter and current_tracer under lockdown=integrity).
		t.Skipf("this kernel does not let us trace functions: %v", err)
	}
	require.NoError(t, err)
	read := func(f string) string {
		b, err := os.ReadFile(filepath.Join(tracefs, f))
		require.NoError(t, err)
		return string(b)
	}
	on, filter := read("current_tracer"), read("set_ftrace_filter")
	require.NoError(t, stop())
	assert.Equal(t, "function\n", on)
	assert.Contains(t, filter, "ovl_lookup")
	assert.NotContains(t, filter, "ext4_lookup", "only overlayfs is traced")
	assert.Equal(t, "nop\n", read("current_tracer"))
	_, err = functionTracer("no_such_function_in_this_kernel")
	assert.ErrorContains(t, err, "set_ftrace_filter")
	assert.Equal(t, "nop\n", read("current_tracer"))
}
