package layerspec

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// WhiteoutFormat is how a driver's on-disk format records deletions and
// opaque directories. Every method works on a name inside an open directory
// so it cannot be tricked into following a symlink out of the layer.
type WhiteoutFormat interface {
	// Whiteout records that name, in the directory dirfd, is deleted. Anything
	// this layer already holds under that name is removed first.
	Whiteout(dirfd int, name string) error
	// Opaque marks the existing directory name in dirfd as hiding the lower
	// layers' contents.
	Opaque(dirfd int, name string) error
	// ClearWhiteout removes a whiteout of name in dirfd before something new
	// is created there, and reports whether there was one: a directory made
	// where a whiteout stood must itself be opaque, or the lower directory
	// the whiteout hid would show through again.
	ClearWhiteout(dirfd int, name string) (bool, error)
	// IsWhiteout reports whether a lower layer hides name in dirfd (used
	// when looking up attributes of implicit parent directories).
	IsWhiteout(dirfd int, name string) bool
	// IsOpaque reports whether the open directory fd is marked opaque.
	IsOpaque(fd int) bool
}

// OverlayFormat is overlayfs's native format: a whiteout is a character
// device 0/0, an opaque directory carries trusted.overlay.opaque=y. overlay2
// and fuse-overlayfs layers use it.
type OverlayFormat struct{}

// OpaqueXattr is the xattr overlayfs reads to treat a directory as opaque.
const OpaqueXattr = "trusted.overlay.opaque"

func (OverlayFormat) Whiteout(dirfd int, name string) error {
	if err := removeAllAt(dirfd, name); err != nil {
		return err
	}
	return wrap("mknod", name, unix.Mknodat(dirfd, name, unix.S_IFCHR|0, 0))
}

func (OverlayFormat) Opaque(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return wrap("open", name, err)
	}
	defer unix.Close(fd)
	return wrap("setxattr "+OpaqueXattr, name, unix.Fsetxattr(fd, OpaqueXattr, []byte("y"), 0))
}

func (f OverlayFormat) ClearWhiteout(dirfd int, name string) (bool, error) {
	if !f.IsWhiteout(dirfd, name) {
		return false, nil
	}
	return true, wrap("unlink", name, unix.Unlinkat(dirfd, name, 0))
}

func (OverlayFormat) IsWhiteout(dirfd int, name string) bool {
	var st unix.Stat_t
	if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

func (OverlayFormat) IsOpaque(fd int) bool {
	buf := make([]byte, 4)
	n, err := unix.Fgetxattr(fd, OpaqueXattr, buf)
	return err == nil && string(buf[:n]) == "y"
}

// AufsFormat is aufs's format: a whiteout of name is an empty file
// ".wh.<name>" beside it, an opaque directory holds ".wh..wh..opq".
type AufsFormat struct{}

// Aufs name prefixes, as aufs and Docker's archive package spell them.
const (
	AufsWhiteoutPrefix = ".wh."
	AufsOpaqueMarker   = ".wh..wh..opq"
)

func (AufsFormat) Whiteout(dirfd int, name string) error {
	if err := removeAllAt(dirfd, name); err != nil {
		return err
	}
	return createEmpty(dirfd, AufsWhiteoutPrefix+name)
}

func (AufsFormat) Opaque(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return wrap("open", name, err)
	}
	defer unix.Close(fd)
	return createEmpty(fd, AufsOpaqueMarker)
}

func (AufsFormat) ClearWhiteout(dirfd int, name string) (bool, error) {
	err := unix.Unlinkat(dirfd, AufsWhiteoutPrefix+name, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return err == nil, wrap("unlink", AufsWhiteoutPrefix+name, err)
}

func (AufsFormat) IsWhiteout(dirfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, AufsWhiteoutPrefix+name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

func (AufsFormat) IsOpaque(fd int) bool {
	var st unix.Stat_t
	return unix.Fstatat(fd, AufsOpaqueMarker, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// FlatFormat applies deletions for real: the format of drivers whose layers
// are full trees (vfs, the legacy overlay driver's image layers) and of the
// flattened reference tree.
type FlatFormat struct{}

func (FlatFormat) Whiteout(dirfd int, name string) error { return removeAllAt(dirfd, name) }

func (FlatFormat) Opaque(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return wrap("open", name, err)
	}
	defer unix.Close(fd)
	names, err := readNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := removeAllAt(fd, n); err != nil {
			return err
		}
	}
	return nil
}

func (FlatFormat) ClearWhiteout(int, string) (bool, error) { return false, nil }
func (FlatFormat) IsWhiteout(int, string) bool             { return false }
func (FlatFormat) IsOpaque(int) bool                       { return false }

// createEmpty makes an empty root-owned file, replacing what was there.
func createEmpty(dirfd int, name string) error {
	if err := removeAllAt(dirfd, name); err != nil {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return wrap("create", name, err)
	}
	return unix.Close(fd)
}

// removeAllAt removes name in dirfd and everything under it, never following
// symlinks. A missing name is not an error.
func removeAllAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return wrap("unlink", name, err)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return wrap("open", name, err)
	}
	names, err := readNames(fd)
	for _, n := range names {
		if err == nil {
			err = removeAllAt(fd, n)
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	return wrap("rmdir", name, unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR))
}

// readNames lists a directory by fd without consuming the caller's fd.
func readNames(fd int) ([]string, error) {
	dup, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, wrap("open", ".", err)
	}
	f := os.NewFile(uintptr(dup), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

func wrap(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: op, Path: name, Err: err}
}
