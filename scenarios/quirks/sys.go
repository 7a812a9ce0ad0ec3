package quirks

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// errnoName renders an error as its errno name (EXDEV), which is what a
// reader of the matrix compares with the man page; other errors as text.
func errnoName(err error) string {
	var en unix.Errno
	if errors.As(err, &en) {
		if n := unix.ErrnoName(en); n != "" {
			return n
		}
		return fmt.Sprintf("errno %d", int(en))
	}
	return err.Error()
}

// sysErr wraps a failed call that should not fail on any filesystem: the
// probe cannot go on, which is an error result, not a verdict.
func sysErr(op, path string, err error) error {
	return fmt.Errorf("%s %s: %w", op, path, err)
}

// marker is what probes write over a lower file's first bytes: it never
// occurs in generated content (which is random or lowercase text).
var marker = []byte("UNIONBENCH-QUIRK")

func open(path string, flags int) (int, error) {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return -1, sysErr("open", path, err)
	}
	return fd, nil
}

func pread(fd int, n int, off int64) ([]byte, error) {
	buf := make([]byte, n)
	got, err := unix.Pread(fd, buf, off)
	if err != nil {
		return nil, err
	}
	return buf[:got], nil
}

// head is the first n bytes of the file at path.
func head(path string, n int) ([]byte, error) {
	fd, err := open(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	b, err := pread(fd, n, 0)
	if err != nil {
		return nil, sysErr("read", path, err)
	}
	return b, nil
}

// overwrite writes the marker at the start of the file at path through a
// new O_WRONLY descriptor: the act that copies a lower file up.
func overwrite(path string) error {
	fd, err := open(path, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if _, err := unix.Pwrite(fd, marker, 0); err != nil {
		return sysErr("write", path, err)
	}
	return nil
}

func lstat(path string) (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return st, sysErr("stat", path, err)
	}
	return st, nil
}

func exists(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil
}

func hasMarker(b []byte) bool { return bytes.HasPrefix(b, marker) }

// q quotes a few bytes for details, short enough for a table's detail.
func q(b []byte) string {
	if len(b) > 16 {
		b = b[:16]
	}
	return fmt.Sprintf("%q", b)
}

func ts(t unix.Timespec) string {
	return time.Unix(t.Sec, t.Nsec).UTC().Format("15:04:05.000000000")
}

// names lists a directory's entries (without . and ..), sorted.
func names(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out, nil
}

func verdict(ok bool, yes, no string) (string, bool) {
	if ok {
		return yes, true
	}
	return no, false
}
