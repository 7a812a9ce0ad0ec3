package copyup

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// copyFsync is the floor's timed operation: what a copy-up does minus the
// union: open the source, create the destination, copy every byte in the
// kernel, fsync, close both. copy_file_range(2) is what the kernel's own
// copy-up amounts to (a clone where the filesystem can, else an in-kernel
// splice); where it is refused, read(2)/write(2) through buf does the copy.
func copyFsync(root int, src, dst string, buf []byte) (time.Duration, error) {
	start := time.Now()
	in, err := unix.Openat(root, src, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: src, Err: err}
	}
	defer unix.Close(in)
	out, err := unix.Openat(root, dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return 0, &os.PathError{Op: "create", Path: dst, Err: err}
	}
	err = copyData(in, out, buf)
	if err == nil {
		if err = unix.Fsync(out); err != nil {
			err = &os.PathError{Op: "fsync", Path: dst, Err: err}
		}
	}
	if cerr := unix.Close(out); cerr != nil && err == nil {
		err = &os.PathError{Op: "close", Path: dst, Err: cerr}
	}
	took := time.Since(start)
	return took, err
}

func copyData(in, out int, buf []byte) error {
	for {
		n, err := unix.CopyFileRange(in, nil, out, nil, 1<<30, 0)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL):
			return readWrite(in, out, buf)
		case err != nil:
			return &os.SyscallError{Syscall: "copy_file_range", Err: err}
		case n == 0:
			return nil
		}
	}
}

func readWrite(in, out int, buf []byte) error {
	for {
		n, err := unix.Read(in, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return &os.SyscallError{Syscall: "read", Err: err}
		}
		if n == 0 {
			return nil
		}
		for p := buf[:n]; len(p) > 0; {
			w, err := unix.Write(out, p)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return &os.SyscallError{Syscall: "write", Err: err}
			}
			p = p[max(w, 0):]
		}
	}
}
