package mountutil

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// ErrDataTooLong is wrapped by the error Mount and MountAt return, without
// calling the kernel, when the mount data does not fit in one page.
var ErrDataTooLong = errors.New("mount data does not fit in one page")

// maxData is the longest mount data mount(2) accepts: the kernel copies
// exactly one page of options and the string needs its terminating NUL in
// it. Longer data is not rejected by the kernel but cut short, which shows
// up as a baffling ENOENT on a half-written lowerdir path, so we check first.
func maxData() int { return unix.Getpagesize() - 1 }

// DataFits reports whether data can be passed to mount(2) whole. Callers
// with long overlay option strings (many lowerdirs) switch to shorter
// relative paths and MountAt when it returns false.
func DataFits(data string) bool { return len(data) <= maxData() }

func checkData(data string) error {
	if DataFits(data) {
		return nil
	}
	return fmt.Errorf("%w: %d bytes, but the kernel takes at most %d (page size %d, including the terminating NUL); use shorter (relative) paths",
		ErrDataTooLong, len(data), maxData(), unix.Getpagesize())
}

// Mount calls mount(2) and returns a *MountError on failure.
func Mount(source, target, fstype string, flags uintptr, data string) error {
	if err := checkData(data); err != nil {
		return &MountError{Op: "mount", Source: source, Target: target, FSType: fstype, Flags: flags, Data: data, Err: err}
	}
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return &MountError{Op: "mount", Source: source, Target: target, FSType: fstype, Flags: flags, Data: data, Err: err}
	}
	return nil
}

// MountAt is Mount with the working directory at dir, so that relative
// paths in source, target and data (lowerdir=l/ABC:l/DEF) resolve against
// dir. This is how a stack too deep for a page of absolute paths still
// mounts; Docker's overlay2 re-executes itself to do the same.
//
// The working directory is shared by every thread of a Go process, so the
// chdir cannot happen in the caller. It happens on a throwaway thread that
// has unshared CLONE_FS (giving it a cwd of its own) and dies when the mount
// is done; the caller's cwd, and that of every other goroutine, never
// changes.
func MountAt(dir, source, target, fstype string, flags uintptr, data string) error {
	if dir == "" {
		return Mount(source, target, fstype, flags, data)
	}
	merr := func(err error) error {
		return &MountError{Op: "mount", Dir: dir, Source: source, Target: target, FSType: fstype, Flags: flags, Data: data, Err: err}
	}
	if err := checkData(data); err != nil {
		return merr(err)
	}
	err := onThrowawayThread(func() error {
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return fmt.Errorf("unshare CLONE_FS: %w", err)
		}
		if err := unix.Chdir(dir); err != nil {
			return &os.PathError{Op: "chdir", Path: dir, Err: err}
		}
		return unix.Mount(source, target, fstype, flags, data)
	})
	if err != nil {
		return merr(err)
	}
	return nil
}

// onThrowawayThread runs fn on an OS thread of its own and then lets that
// thread die, for fn that changes per-thread state (here its fs_struct)
// which cannot be put back. The goroutine returns while still locked, and a
// locked goroutine's exit terminates its thread instead of returning it to
// the scheduler's pool.
//
// Except on the main thread: the runtime cannot exit it and wedges it
// forever instead. A wedged main thread with its own cwd would pin dir
// (making whatever is mounted there unmountable: EBUSY) and make
// /proc/<pid>/cwd, which shows the main thread's, lie. So when the goroutine
// lands on the main thread it keeps that thread occupied, which forces the
// work onto another one.
func onThrowawayThread(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			done <- onThrowawayThread(fn)
			runtime.UnlockOSThread()
			return
		}
		done <- fn()
		// No UnlockOSThread, on purpose: see above.
	}()
	return <-done
}
