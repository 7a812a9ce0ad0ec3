package treecopy

import (
	"encoding/binary"
	"iter"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

type dirent struct {
	name string
	typ  uint8 // unix.DT_*
}

// Offsets in struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen;
// u8 d_type; char d_name[]; }.
const (
	direntReclen = 16
	direntType   = 18
	direntName   = 19
)

// dirents iterates over the records getdents64 put in buf, skipping
// deleted ones (inode 0). unix.ParseDirent would drop d_type, which is
// what spares most entries a stat.
func dirents(buf []byte) iter.Seq[dirent] {
	return func(yield func(dirent) bool) {
		for len(buf) >= direntName {
			reclen := int(binary.NativeEndian.Uint16(buf[direntReclen:]))
			if reclen < direntName || reclen > len(buf) {
				return
			}
			rec := buf[:reclen]
			buf = buf[reclen:]
			if binary.NativeEndian.Uint64(rec) == 0 {
				continue
			}
			name := rec[direntName:]
			for i, b := range name {
				if b == 0 {
					name = name[:i]
					break
				}
			}
			if !yield(dirent{name: string(name), typ: rec[direntType]}) {
				return
			}
		}
	}
}

// futimens sets an open inode's atime and mtime to the source's
// (utimensat with a NULL path, which x/sys/unix does not wrap).
func futimens(fd int, st *unix.Stat_t) error {
	ts := [2]unix.Timespec{st.Atim, st.Mtim}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// readUmask reads the process umask without changing it (umask(2) can only
// be read by setting it, which would race with other goroutines creating
// files). It returns -1 where /proc does not say.
func readUmask() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return -1
			}
			return int(m)
		}
	}
	return -1
}
