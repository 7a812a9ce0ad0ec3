package vm

import (
	"fmt"
	"io"
	"path"
	"strings"
)

// cpioWriter writes the "newc" cpio format, the only one the kernel
// unpacks as an initramfs. Every entry gets mtime 0, uid 0 and gid 0, so the
// same inputs give the same bytes (and a cached initramfs can be compared).
type cpioWriter struct {
	w    io.Writer
	ino  uint32
	dirs map[string]bool
	err  error
}

func newCPIO(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, ino: 1, dirs: map[string]bool{".": true, "/": true, "": true}}
}

const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeChar    = 0o020000
)

// header writes one entry's header and name, padded to 4 bytes as newc
// requires (the 110-byte header plus the name, then the data, each padded).
func (c *cpioWriter) header(name string, mode uint32, size int, rdevMajor, rdevMinor uint32) {
	if c.err != nil {
		return
	}
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	nlink := 1
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.ino++
	c.write([]byte(hdr + name + "\x00"))
	c.pad(len(hdr) + len(name) + 1)
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// parents makes every missing parent directory of name, so callers can add
// /lib/x86_64-linux-gnu/libc.so.6 without listing /lib first.
func (c *cpioWriter) parents(name string) {
	dir := path.Dir(path.Clean("/" + name))
	if c.dirs[dir] {
		return
	}
	c.parents(dir)
	c.Dir(dir, 0o755)
}

// Dir adds a directory (once; later calls for the same path are no-ops).
func (c *cpioWriter) Dir(name string, perm uint32) {
	name = path.Clean("/" + name)
	if c.dirs[name] {
		return
	}
	c.parents(name)
	c.dirs[name] = true
	c.header(name, modeDir|perm, 0, 0, 0)
}

// File adds a regular file with the given contents.
func (c *cpioWriter) File(name string, perm uint32, data []byte) {
	c.parents(name)
	c.header(name, modeFile|perm, len(data), 0, 0)
	c.write(data)
	c.pad(len(data))
}

// Symlink adds a symbolic link name -> target.
func (c *cpioWriter) Symlink(name, target string) {
	c.parents(name)
	c.header(name, modeSymlink|0o777, len(target), 0, 0)
	c.write([]byte(target))
	c.pad(len(target))
}

// CharDev adds a character device node. /dev/console must exist before
// the kernel starts /init, or init runs with no stdin, stdout and stderr;
// devtmpfs is mounted only later, by init itself.
func (c *cpioWriter) CharDev(name string, perm, major, minor uint32) {
	c.parents(name)
	c.header(name, modeChar|perm, 0, major, minor)
}

// Close writes the trailer entry and reports the first error.
func (c *cpioWriter) Close() error {
	c.header("TRAILER!!!", 0, 0, 0, 0)
	return c.err
}
