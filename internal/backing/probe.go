package backing

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrNoDType is wrapped by CheckDType's error when readdir on a directory
// does not say what type each entry is.
var ErrNoDType = errors.New("filesystem does not report d_type")

// CheckDType returns an error wrapping ErrNoDType if the filesystem holding
// dir does not fill in d_type in readdir. overlay needs d_type to find
// whiteouts without a stat per entry and refuses (or misbehaves) without it,
// as Docker's overlay2 does; drivers call this on their root. It creates and
// removes a small probe directory inside dir.
func CheckDType(dir string) error {
	ok, err := supportsDType(dir)
	if err != nil {
		return fmt.Errorf("check d_type on %s: %w", dir, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w (readdir returns DT_UNKNOWN): union drivers need d_type; use ext4, or xfs formatted with ftype=1", dir, ErrNoDType)
	}
	return nil
}

// DType reports whether readdir on this filesystem reports d_type.
func (f *FS) DType() (bool, error) { return supportsDType(f.Dir) }

// supportsDType is an experiment, not a lookup: make one entry of each
// common type, read the directory with getdents64, and see whether the
// kernel filled in their types.
func supportsDType(dir string) (bool, error) {
	probe, err := os.MkdirTemp(dir, ".dtype-probe-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(probe) // our own fresh directory, no mounts inside
	want := map[string]byte{"file": unix.DT_REG, "dir": unix.DT_DIR, "link": unix.DT_LNK}
	if err := os.WriteFile(filepath.Join(probe, "file"), nil, 0o644); err != nil {
		return false, err
	}
	if err := os.Mkdir(filepath.Join(probe, "dir"), 0o755); err != nil {
		return false, err
	}
	if err := os.Symlink("file", filepath.Join(probe, "link")); err != nil {
		return false, err
	}
	got, err := readDirTypes(probe)
	if err != nil {
		return false, err
	}
	for name, typ := range want {
		switch g, ok := got[name]; {
		case !ok:
			return false, fmt.Errorf("readdir of %s did not list %q", probe, name)
		case g == unix.DT_UNKNOWN:
			return false, nil
		case g != typ:
			return false, fmt.Errorf("readdir of %s says %q has d_type %d, want %d", probe, name, g, typ)
		}
	}
	return true, nil
}

// readDirTypes returns the d_type of every entry in dir, from raw
// linux_dirent64 records: {u64 ino; s64 off; u16 reclen; u8 type; name}.
// os.ReadDir cannot be used: it hides DT_UNKNOWN by calling lstat.
func readDirTypes(dir string) (map[string]byte, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	types := map[string]byte{}
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil {
			return nil, &os.PathError{Op: "getdents64", Path: dir, Err: err}
		}
		if n == 0 {
			return types, nil
		}
		for off := 0; off < n; {
			const nameOff = 19
			if off+nameOff > n {
				return nil, fmt.Errorf("getdents64 on %s: truncated record", dir)
			}
			reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
			if reclen < nameOff || off+reclen > n {
				return nil, fmt.Errorf("getdents64 on %s: bad record length %d", dir, reclen)
			}
			name := buf[off+nameOff : off+reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			types[string(name)] = buf[off+18]
			off += reclen
		}
	}
}

// Reflink reports whether files on this filesystem can share extents
// (FICLONE). Like DType it asks the filesystem, not the Spec: an xfs made
// by an older mkfs, say, may not have reflink on by default.
func (f *FS) Reflink() (bool, error) { return supportsReflink(f.Dir) }

func supportsReflink(dir string) (bool, error) {
	probe, err := os.MkdirTemp(dir, ".reflink-probe-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(probe)
	src, err := os.Create(filepath.Join(probe, "src"))
	if err != nil {
		return false, err
	}
	defer src.Close()
	// One block's worth, so there is an extent to share.
	if _, err := src.Write(make([]byte, 64<<10)); err != nil {
		return false, err
	}
	if err := src.Sync(); err != nil {
		return false, err
	}
	dst, err := os.Create(filepath.Join(probe, "dst"))
	if err != nil {
		return false, err
	}
	defer dst.Close()
	switch err := unix.IoctlFileClone(int(dst.Fd()), int(src.Fd())); err {
	case nil:
		return true, nil
	case unix.EOPNOTSUPP, unix.ENOTTY, unix.EINVAL, unix.EXDEV:
		return false, nil
	default:
		return false, fmt.Errorf("FICLONE in %s: %w", probe, err)
	}
}
