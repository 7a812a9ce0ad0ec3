// Package ftrace turns the kernel's function tracer on for a set of
// functions and off again: every call of a traced function then writes
// an event to the trace ring buffer, a real slowdown of exactly that code,
// in the kernel, that nothing else pays. `unionbench run
// --trace-functions 'ovl_*'` uses it to slow overlayfs alone, so a CI job
// can check that compare catches a real kernel slowdown and nothing else.
//
// The tracer is global kernel state, not a mount namespace's: Trace's
// stop must run (a kill -9 in between leaves the tracer on; `echo nop >
// /sys/kernel/tracing/current_tracer` turns it off).
package ftrace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is where the kernel's tracing files are (tracefs is mounted there,
// in the caller's mount namespace, when it is not).
const Dir = "/sys/kernel/tracing"

// Trace turns the function tracer on for the functions matching filter
// (set_ftrace_filter's glob: ovl_* is every function of overlayfs) and
// returns what turns it off again. It refuses to take over a tracer that
// is already on, and a filter that matches no function of this kernel.
func Trace(filter string) (stop func() error, err error) {
	if _, err := os.Stat(filepath.Join(Dir, "current_tracer")); err != nil {
		if err := unix.Mount("tracefs", Dir, "tracefs", 0, ""); err != nil {
			return nil, fmt.Errorf("mount tracefs on %s: %w", Dir, err)
		}
	}
	cur, err := os.ReadFile(filepath.Join(Dir, "current_tracer"))
	if err != nil {
		return nil, err
	}
	if c := strings.TrimSpace(string(cur)); c != "nop" {
		return nil, fmt.Errorf("the %s tracer is already on: not taking it over", c)
	}
	set := func(file, value string) error {
		return os.WriteFile(filepath.Join(Dir, file), []byte(value), 0)
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
