package quirks

import (
	"encoding/binary"
	"slices"

	"golang.org/x/sys/unix"
)

// dirent is one linux_dirent64 as getdents64 returned it: the d_ino is kept
// because the inode-number probes compare it with st_ino.
type dirent struct {
	ino  uint64
	name string
}

func getdents(dir string) ([]dirent, error) {
	fd, err := open(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	return readDirents(fd)
}

// readDirents reads fd to the end of the directory with getdents64.
func readDirents(fd int) ([]dirent, error) {
	var out []dirent
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
		// struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				break
			}
			name := b[19:reclen]
			if i := slices.Index(name, 0); i >= 0 {
				name = name[:i]
			}
			if s := string(name); s != "." && s != ".." {
				out = append(out, dirent{ino: binary.NativeEndian.Uint64(b[0:8]), name: s})
			}
			b = b[reclen:]
		}
	}
}

// readFD is readDirents' names, sorted.
func readFD(fd int) ([]string, error) {
	ents, err := readDirents(fd)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.name)
	}
	slices.Sort(out)
	return out, nil
}
