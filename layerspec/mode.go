package layerspec

import (
	"io/fs"
	"strings"

	"golang.org/x/sys/unix"
)

// unixPerm converts Go's permission and special bits to the st_mode bits
// chmod(2) takes.
func unixPerm(m fs.FileMode) uint32 {
	p := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		p |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		p |= unix.S_ISVTX
	}
	return p
}

// modeOf converts st_mode's permission and special bits to Go's.
func modeOf(st uint32) fs.FileMode {
	m := fs.FileMode(st & 0o777)
	if st&unix.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if st&unix.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if st&unix.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// userXattrs reads the user.* xattrs of an open file.
func userXattrs(fd int) map[string]string {
	buf := make([]byte, 4096)
	n, err := unix.Flistxattr(fd, buf)
	if err != nil || n == 0 {
		return nil
	}
	var out map[string]string
	for _, k := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		if !strings.HasPrefix(k, "user.") {
			continue
		}
		v := make([]byte, 4096)
		vn, err := unix.Fgetxattr(fd, k, v)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = string(v[:vn])
	}
	return out
}
