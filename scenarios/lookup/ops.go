package lookup

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// tree is the tree under test, open. Paths are resolved from its root
// descriptor rather than from "/" so that a cold sample times the lookups
// inside the union, not a re-walk of the path down to the driver's
// directory.
type tree struct {
	root    int // O_PATH descriptor of the merged directory (or the floor's)
	entries int // entries Shared holds: one per layer
	// buf holds a whole listing of Shared (499 entries of about 24 bytes
	// fit many times over). It is allocated and touched before any timing
	// so that the timed getdents calls take no page faults.
	buf []byte
	// target, absent and shared are Target, Absent and Shared as the
	// kernel takes them, made once so that no sample times the conversion
	// (see raw.go).
	target, absent, shared *byte
	// raw makes the timed calls raw system calls (warm samples; see
	// raw.go); cold ones go through the runtime.
	raw bool
}

func openTree(dir string, entries int) (*tree, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	buf := make([]byte, 256<<10)
	for i := range buf {
		buf[i] = 1
	}
	t := &tree{root: fd, entries: entries, buf: buf}
	for p, name := range map[**byte]string{&t.target: Target, &t.absent: Absent, &t.shared: Shared} {
		if *p, err = unix.BytePtrFromString(name); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("path %q: %w", name, err)
		}
	}
	return t, nil
}

func (t *tree) close() error { return unix.Close(t.root) }

// An op is one timed lookup.
type op struct {
	metric string
	// run does the operation once, timing only the syscalls under test,
	// and checks afterwards that it saw what the image holds.
	run func(t *tree) (time.Duration, error)
}

var ops = []op{
	{"stat", statTarget},
	{"open", openTarget},
	{"enoent", statAbsent},
	{"readdir", readShared},
}

func statTarget(t *tree) (time.Duration, error) {
	var st unix.Stat_t
	start := time.Now()
	err := t.fstatat(t.target, Target, &st)
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", Target, err)
	}
	if st.Size != TargetSize || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, fmt.Errorf("stat %s: mode %o size %d, want a regular file of %d bytes", Target, st.Mode, st.Size, TargetSize)
	}
	return took, nil
}

func openTarget(t *tree) (time.Duration, error) {
	start := time.Now()
	fd, err := t.openat(t.target, Target, unix.O_RDONLY|unix.O_CLOEXEC)
	if err == nil {
		err = t.closeFD(fd)
	}
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", Target, err)
	}
	return took, nil
}

func statAbsent(t *tree) (time.Duration, error) {
	var st unix.Stat_t
	start := time.Now()
	err := t.fstatat(t.absent, Absent, &st)
	took := time.Since(start)
	if !errors.Is(err, unix.ENOENT) {
		return 0, fmt.Errorf("stat %s: got %v, want ENOENT", Absent, err)
	}
	return took, nil
}

func readShared(t *tree) (time.Duration, error) {
	buf := t.buf
	n := 0
	start := time.Now()
	fd, err := t.openat(t.shared, Shared, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err == nil {
		for {
			var got int
			got, err = t.getdents(fd, buf[n:])
			if got <= 0 || err != nil {
				break
			}
			n += got
		}
		if cerr := t.closeFD(fd); err == nil {
			err = cerr
		}
	}
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("read directory %s: %w", Shared, err)
	}
	_, _, names := unix.ParseDirent(buf[:n], -1, nil)
	if len(names) != t.entries {
		return 0, fmt.Errorf("read directory %s: %d entries, want %d (one per layer)", Shared, len(names), t.entries)
	}
	return took, nil
}
