package lookup

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The timed system calls go through unix.RawSyscall6, not unix.Fstatat and
// the like. Those tell the Go runtime the thread is in a system call
// (entersyscall/exitsyscall), and the runtime's monitor thread takes the
// processor from a thread that stays in one for more than about 20 µs: the
// call then returns through the scheduler's slow path, thousands of
// instructions more, and whether it does depends on how often the monitor
// happens to be polling just then (it backs off when idle), not on the
// filesystem. Under qemu's instruction clock that showed as two exact values
// per operation, 60 µs apart, with the median jumping between them from one
// run to the next. A raw call keeps the processor, which is right here: the
// sampling goroutine is locked to its thread and has nothing else to run.
//
// Only warm samples are raw. A cold one can wait milliseconds for the disk
// or the fuse-overlayfs daemon, and a goroutine the runtime believes is
// running that long gets a preemption signal, which would interrupt a FUSE
// request mid-sample; through the runtime it gets none, and at that length
// the slow return path is a small, steady share.

func (t *tree) fstatat(path *byte, name string, st *unix.Stat_t) error {
	if !t.raw {
		return unix.Fstatat(t.root, name, st, 0)
	}
	return rawFstatat(t.root, path, st)
}

func (t *tree) openat(path *byte, name string, flags int) (int, error) {
	if !t.raw {
		return unix.Openat(t.root, name, flags, 0)
	}
	return rawOpenat(t.root, path, flags)
}

func (t *tree) closeFD(fd int) error {
	if !t.raw {
		return unix.Close(fd)
	}
	return rawClose(fd)
}

func (t *tree) getdents(fd int, buf []byte) (int, error) {
	if !t.raw {
		return unix.Getdents(fd, buf)
	}
	return rawGetdents(fd, buf)
}

func rawFstatat(dirfd int, path *byte, st *unix.Stat_t) error {
	_, _, e := unix.RawSyscall6(sysFstatat, uintptr(dirfd), uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(st)), 0, 0, 0)
	return errnoErr(e)
}

func rawOpenat(dirfd int, path *byte, flags int) (int, error) {
	fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(path)), uintptr(flags), 0, 0, 0)
	return int(fd), errnoErr(e)
}

func rawClose(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return errnoErr(e)
}

func rawGetdents(fd int, buf []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)))
	return int(n), errnoErr(e)
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
