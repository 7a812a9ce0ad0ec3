package treecopy

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

func (h handle) list(buf []byte) (int, error) {
	if h.fd >= 0 {
		return unix.Flistxattr(h.fd, buf)
	}
	return unix.Llistxattr(h.path, buf)
}

func (h handle) get(name string, buf []byte) (int, error) {
	if h.fd >= 0 {
		return unix.Fgetxattr(h.fd, name, buf)
	}
	return unix.Lgetxattr(h.path, name, buf)
}

func (h handle) set(name string, val []byte) error {
	if h.fd >= 0 {
		return unix.Fsetxattr(h.fd, name, val, 0)
	}
	return unix.Lsetxattr(h.path, name, val, 0)
}

// DockerXattrs are the only extended attributes a copy keeps: Docker's
// DirCopy copies security.capability and, for overlay's opaque
// directories, trusted.overlay.opaque, and drops every other.
var DockerXattrs = []string{"security.capability", "trusted.overlay.opaque"}

// copyXattrs copies src's DockerXattrs to dst and returns how many it
// copied. It lists the names first (Docker asks for each of the two by
// name): one listxattr per inode is the whole cost when there are none,
// which is the common case.
func (c *copier) copyXattrs(src, dst handle) (int, error) {
	if c.xlist == nil {
		c.xlist, c.xval = make([]byte, 1024), make([]byte, 4096)
	}
	n, err := grow(&c.xlist, func(b []byte) (int, error) { return src.list(b) })
	if err != nil || n == 0 {
		if errors.Is(err, unix.ENOTSUP) { // the source fs has no xattrs at all
			err = nil
		}
		return 0, err
	}
	count := 0
	for raw := range bytes.SplitSeq(c.xlist[:n], []byte{0}) {
		if len(raw) == 0 {
			continue
		}
		name := string(raw)
		if !slices.Contains(DockerXattrs, name) {
			continue
		}
		vn, err := grow(&c.xval, func(b []byte) (int, error) { return src.get(name, b) })
		if errors.Is(err, unix.ENODATA) { // removed since listed
			continue
		}
		if err != nil {
			return count, fmt.Errorf("getxattr %s: %w", name, err)
		}
		if err := dst.set(name, c.xval[:vn]); err != nil {
			return count, fmt.Errorf("setxattr %s: %w", name, err)
		}
		count++
	}
	return count, nil
}

// grow calls f with *buf, growing the buffer while f reports ERANGE.
func grow(buf *[]byte, f func([]byte) (int, error)) (int, error) {
	for {
		n, err := f(*buf)
		if !errors.Is(err, unix.ERANGE) {
			return n, err
		}
		need, err := f(nil)
		if err != nil {
			return 0, err
		}
		*buf = make([]byte, max(need, 2*len(*buf)))
	}
}
