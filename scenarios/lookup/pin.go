package lookup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers/fuseoverlayfs"
)

// Lookup samples run on one CPU, and fuse-overlayfs's daemon with them.
// A warm open on fuse-overlayfs is a round trip to its daemon, and what
// that costs is where the scheduler put the daemon: with the caller on
// CPU 0, 20 µs with the daemon on CPU 0 and 106 µs with it on CPU 1 here
// (BenchmarkFUSEDaemonPlacement), and an unpinned daemon keeps one side
// for a while, so that warm fuse-overlayfs opens moved by up to 124%
// between identical runs. Pinned together, a sample times the union, not
// a hypervisor's wake-up of another vCPU; every variant and the floor are
// sampled on the same CPU, so their ratios divide like by like.

// samplingCPU is the CPU lookup samples run on: the last this process may
// use.
func samplingCPU() (int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, fmt.Errorf("sched_getaffinity: %w", err)
	}
	for cpu := len(set)*64 - 1; cpu >= 0; cpu-- {
		if set.IsSet(cpu) {
			return cpu, nil
		}
	}
	return 0, fmt.Errorf("sched_getaffinity: no CPU allowed")
}

// onCPU runs fn on the calling goroutine's thread, pinned to cpu for the
// call and given back its own CPUs after.
func onCPU(cpu int, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var was, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &was); err != nil {
		return fmt.Errorf("sched_getaffinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pin the sampling thread to CPU %d: %w", cpu, err)
	}
	defer unix.SchedSetaffinity(0, &was)
	return fn()
}

// pinProcess pins every thread of process pid (as /proc numbers it) to
// cpu; threads it starts later inherit it. /proc may be the host's while
// this process runs in a PID namespace of its own (the sandbox), so each
// thread's id is taken from its NSpid line: the last is its id in the
// innermost namespace, which is ours for a process we started.
func pinProcess(pid, cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := innermostID(filepath.Join(dir, t.Name(), "status"))
		if err != nil {
			return err
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("pin thread %d of process %d to CPU %d: %w", tid, pid, cpu, err)
		}
	}
	return nil
}

// innermostID is the last id of a /proc status file's NSpid line.
func innermostID(status string) (int, error) {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "NSpid:" {
			return strconv.Atoi(f[len(f)-1])
		}
	}
	return 0, fmt.Errorf("%s: no NSpid line", status)
}

// pinDaemon pins the fuse-overlayfs daemon serving the mount at dir to cpu.
func pinDaemon(dir string, cpu int) error {
	pids, err := fuseoverlayfs.Daemons(dir)
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		return fmt.Errorf("no %s daemon serves %s: cannot pin it", fuseoverlayfs.Program, dir)
	}
	pinned := 0
	for _, pid := range pids {
		switch err := pinProcess(pid, cpu); {
		case errors.Is(err, unix.ESRCH) || errors.Is(err, fs.ErrNotExist):
			// Gone since: the first process, or an earlier mount's
			// daemon on its way out.
		case err != nil:
			return err
		default:
			pinned++
		}
	}
	if pinned == 0 {
		return fmt.Errorf("the %s daemon serving %s exited before it could be pinned", fuseoverlayfs.Program, dir)
	}
	return nil
}
