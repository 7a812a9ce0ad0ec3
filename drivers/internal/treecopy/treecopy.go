package treecopy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Mode says how regular files reach the copy.
type Mode int

const (
	// Hardlink makes each regular file of the copy a hard link to the
	// source's file: the legacy overlay driver's image layers.
	Hardlink Mode = iota + 1
	// Content copies every file's data; files hard-linked to each other in
	// the source are hard-linked to each other in the copy.
	Content
)

func (m Mode) String() string {
	switch m {
	case Hardlink:
		return "hardlink"
	case Content:
		return "content"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Copy copies the tree at src into dst, which must not exist or be an empty
// directory; dst's own mode, owner, xattrs and times become src's.
//
// Once ctx is done Copy stops before the next entry, or within dataChunk
// bytes of a file's data, and returns an error wrapping ctx.Err() that
// names the path it stopped at. What was copied so far stays in dst, for
// the caller to remove.
func Copy(ctx context.Context, src, dst string, mode Mode) error {
	if mode != Hardlink && mode != Content {
		return fmt.Errorf("treecopy: copy %s to %s: unknown mode %v", src, dst, mode)
	}
	c := &copier{ctx: ctx, src: src, dst: dst, mode: mode, euid: unix.Geteuid(), egid: unix.Getegid(), umask: readUmask(), useCopyRange: useCopyRange}
	var st, dst0 unix.Stat_t
	sfd, err := c.openSource(unix.AT_FDCWD, src, "", unix.O_DIRECTORY, &st)
	if err != nil {
		return err
	}
	defer unix.Close(sfd)
	dfd, err := openEmptyDir(dst)
	if err != nil {
		return fmt.Errorf("treecopy: copy %s to %s: %w", src, dst, err)
	}
	defer unix.Close(dfd)
	if err := unix.Fstat(dfd, &dst0); err != nil {
		return c.failDst("stat", "", err)
	}
	c.srcDev, c.dstDev, c.dstIno, c.dstRoot = st.Dev, dst0.Dev, dst0.Ino, dfd
	// dst was made (or found) by someone else, so its attributes are
	// nothing we can predict: set them all.
	if err := c.setMeta(handle{fd: dfd}, handle{fd: sfd}, "", &st, nil, true); err != nil {
		return err
	}
	if err := c.copyDir(sfd, dfd, "", &st, 0); err != nil {
		return err
	}
	return c.failDst("set times", "", futimens(dfd, &st))
}

// openEmptyDir creates dir, or opens it if it is an empty directory.
func openEmptyDir(dir string) (int, error) {
	err := unix.Mkdir(dir, 0o700)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	buf := make([]byte, 4096)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			unix.Close(fd)
			return -1, &os.PathError{Op: "getdents", Path: dir, Err: err}
		}
		if n == 0 {
			return fd, nil
		}
		for d := range dirents(buf[:n]) {
			if d.name != "." && d.name != ".." {
				unix.Close(fd)
				return -1, fmt.Errorf("destination %s is not empty (it holds %q): refusing to copy into it", dir, d.name)
			}
		}
	}
}

// copier holds what one Copy reuses from entry to entry, so that the walk
// allocates nothing per file beyond the C strings the syscall wrappers make.
type copier struct {
	ctx            context.Context
	src, dst       string
	mode           Mode
	euid, egid     int
	umask          int // -1 if unknown: then every mode is set explicitly
	srcDev         uint64
	dstDev, dstIno uint64
	dstRoot        int

	dirBufs      [][]byte // one getdents buffer per depth
	data         []byte   // read/write buffer when copy_file_range cannot work
	xlist, xval  []byte
	linkBuf      []byte
	useCopyRange bool
	// links maps a source inode with several names to the path (relative
	// to dst) of its first copy, so its other names become links to it.
	links map[uint64]string
}

// dirInfo is what a new inode inherits from the directory it is made in.
type dirInfo struct {
	gid    uint32
	setgid bool
}

// handle names an inode either by an open fd or, for inodes that cannot be
// opened (symlinks, devices), by name in an open directory plus a path for
// the xattr calls that have no *at form.
type handle struct {
	fd    int
	dirfd int
	name  string
	path  string
}

func (c *copier) dirBuf(depth int) []byte {
	for len(c.dirBufs) <= depth {
		c.dirBufs = append(c.dirBufs, make([]byte, 32<<10))
	}
	return c.dirBufs[depth]
}

// copyDir copies the entries of the open source directory sfd (whose stat
// is st) into the open destination directory dfd; rel is their path below
// the roots.
func (c *copier) copyDir(sfd, dfd int, rel string, st *unix.Stat_t, depth int) error {
	parent := dirInfo{gid: st.Gid, setgid: st.Mode&unix.S_ISGID != 0}
	buf := c.dirBuf(depth)
	for {
		n, err := unix.Getdents(sfd, buf)
		if err != nil {
			return c.fail("getdents", rel, err)
		}
		if n == 0 {
			return nil
		}
		for d := range dirents(buf[:n]) {
			if d.name == "." || d.name == ".." {
				continue
			}
			if err := c.ctx.Err(); err != nil {
				return c.fail("copy", join(rel, d.name), err)
			}
			if err := c.entry(sfd, dfd, rel, d.name, d.typ, parent, depth); err != nil {
				return err
			}
		}
	}
}

// entry copies name from directory sfd to dfd; rel is their path below the
// roots. typ is the d_type getdents gave, so that most entries need no stat.
// The entry's own path is only built where it is needed, not per file.
func (c *copier) entry(sfd, dfd int, rel, name string, typ uint8, parent dirInfo, depth int) error {
	switch {
	case typ == unix.DT_DIR:
		return c.dir(sfd, dfd, join(rel, name), name, parent, depth)
	case typ == unix.DT_REG && c.mode == Hardlink:
		// One syscall per file: the metadata lives in the shared inode.
		err := unix.Linkat(sfd, name, dfd, name, 0)
		if err == nil {
			return nil
		}
		if errors.Is(err, unix.EMLINK) {
			err = fmt.Errorf("%w (the inode has as many names as this filesystem allows, and every layer adds one)", err)
		}
		return c.failDst("link", join(rel, name), err)
	case typ == unix.DT_REG:
		return c.file(sfd, dfd, join(rel, name), name, parent)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return c.fail("stat", join(rel, name), err)
	}
	if typ == unix.DT_UNKNOWN { // filesystems without d_type
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			return c.entry(sfd, dfd, rel, name, unix.DT_DIR, parent, depth)
		case unix.S_IFREG:
			return c.entry(sfd, dfd, rel, name, unix.DT_REG, parent, depth)
		}
	}
	return c.other(sfd, dfd, join(rel, name), name, &st, parent)
}

func (c *copier) dir(sfd, dfd int, p, name string, parent dirInfo, depth int) error {
	var st unix.Stat_t
	sub, err := c.openSource(sfd, name, p, unix.O_DIRECTORY, &st)
	if err != nil {
		return err
	}
	defer unix.Close(sub)
	if st.Dev != c.srcDev {
		return c.fail("copy", p, errors.New("another filesystem is mounted here: refusing to copy across it"))
	}
	if st.Dev == c.dstDev && st.Ino == c.dstIno {
		return c.fail("copy", p, errors.New("this is the destination: refusing to copy a tree into itself"))
	}
	if err := unix.Mkdirat(dfd, name, st.Mode&0o777); err != nil {
		return c.failDst("mkdir", p, err)
	}
	dsub, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return c.failDst("open", p, err)
	}
	defer unix.Close(dsub)
	// A directory made in a setgid directory is setgid too.
	extra := uint32(0)
	if parent.setgid {
		extra = unix.S_ISGID
	}
	if err := c.setMeta(handle{fd: dsub}, handle{fd: sub}, p, &st, &parent, c.needChmod(st.Mode, extra)); err != nil {
		return err
	}
	if err := c.copyDir(sub, dsub, p, &st, depth+1); err != nil {
		return err
	}
	// Only now: making the children changed the directory's mtime.
	return c.failDst("set times", p, futimens(dsub, &st))
}

// file copies a regular file's data and attributes. (Its path p is built
// for every file: next to the ten syscalls a copy takes, that is noise.)
func (c *copier) file(sfd, dfd int, p, name string, parent dirInfo) error {
	var st unix.Stat_t
	sf, err := c.openSource(sfd, name, p, 0, &st)
	if err != nil {
		return err
	}
	defer unix.Close(sf)
	if linked, err := c.linkCopy(dfd, p, name, &st); linked || err != nil {
		return err
	}
	df, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, st.Mode&0o777)
	if err != nil {
		return c.failDst("create", p, err)
	}
	defer unix.Close(df)
	if err := c.copyData(df, sf, &st); err != nil {
		return c.failDst("copy data to", p, err)
	}
	if err := c.setMeta(handle{fd: df}, handle{fd: sf}, p, &st, &parent, c.needChmod(st.Mode, 0)); err != nil {
		return err
	}
	c.remember(p, &st)
	return c.failDst("set times", p, futimens(df, &st))
}

// other copies a symlink, device node or fifo, and refuses a socket.
func (c *copier) other(sfd, dfd int, p, name string, st *unix.Stat_t, parent dirInfo) error {
	if st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		// Docker's DirCopy makes a socket with mkfifo(path, st_mode),
		// whose S_IFSOCK|S_IFIFO type the kernel refuses with EINVAL: a
		// layer holding one cannot be copied in Docker either.
		return c.fail("copy", p, fmt.Errorf("a socket cannot be copied (Docker's DirCopy fails on one too): %w", unix.EINVAL))
	}
	if linked, err := c.linkCopy(dfd, p, name, st); linked || err != nil {
		return err
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if isLink {
		target, err := c.readlink(sfd, name)
		if err != nil {
			return c.fail("readlink", p, err)
		}
		if err := unix.Symlinkat(target, dfd, name); err != nil {
			return c.failDst("symlink", p, err)
		}
	} else if err := unix.Mknodat(dfd, name, st.Mode&unix.S_IFMT|st.Mode&0o777, int(st.Rdev)); err != nil {
		return c.failDst("mknod", p, err)
	}
	dst := handle{fd: -1, dirfd: dfd, name: name, path: filepath.Join(c.dst, p)}
	src := handle{fd: -1, dirfd: sfd, name: name, path: filepath.Join(c.src, p)}
	// A symlink has no mode of its own.
	if err := c.setMeta(dst, src, p, st, &parent, !isLink && c.needChmod(st.Mode, 0)); err != nil {
		return err
	}
	c.remember(p, st)
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return c.failDst("set times", p, unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW))
}

// openSource opens name (at p) in dirfd for reading and stats it into st.
// It does not touch the atime, so a copy leaves the parent layer exactly
// as it was.
func (c *copier) openSource(dirfd int, name, p string, flags int, st *unix.Stat_t) (int, error) {
	flags |= unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dirfd, name, flags|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) { // O_NOATIME needs ownership or CAP_FOWNER
		fd, err = unix.Openat(dirfd, name, flags, 0)
	}
	if err != nil {
		return -1, c.fail("open", p, err)
	}
	if err := unix.Fstat(fd, st); err != nil {
		unix.Close(fd)
		return -1, c.fail("stat", p, err)
	}
	return fd, nil
}

// needChmod reports whether an inode created with mode&0777 (plus the
// extra bits it inherits) ends up with a mode other than mode, the umask
// having stripped bits or mode holding setuid, setgid or sticky bits.
func (c *copier) needChmod(mode, extra uint32) bool {
	if c.umask < 0 {
		return true
	}
	return mode&0o777&^uint32(c.umask)|extra != mode&0o7777
}

// linkCopy links another name of an inode whose first name was copied.
func (c *copier) linkCopy(dfd int, p, name string, st *unix.Stat_t) (bool, error) {
	if st.Nlink < 2 {
		return false, nil
	}
	first, ok := c.links[st.Ino]
	if !ok {
		return false, nil
	}
	return true, c.failDst("link", p, unix.Linkat(c.dstRoot, first, dfd, name, 0))
}

func (c *copier) remember(p string, st *unix.Stat_t) {
	if st.Nlink < 2 {
		return
	}
	if c.links == nil {
		c.links = map[uint64]string{}
	}
	c.links[st.Ino] = p
}

// setMeta gives the new inode dst the owner, xattrs and (if chmod, or if
// something below changed it) the mode of the source inode src. parent nil
// means dst was not created by us, so its owner is unknown.
func (c *copier) setMeta(dst, src handle, p string, st *unix.Stat_t, parent *dirInfo, chmod bool) error {
	// A new inode is ours, in the group of a setgid parent.
	gid := uint32(c.egid)
	if parent != nil && parent.setgid {
		gid = parent.gid
	}
	chown := parent == nil || st.Uid != uint32(c.euid) || st.Gid != gid
	if chown {
		if err := dst.chown(int(st.Uid), int(st.Gid)); err != nil {
			return c.failDst("chown", p, err)
		}
		// chown clears the setuid and setgid bits.
		chmod = chmod || st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0
	}
	// After chown, which drops security.capability; before chmod, because
	// setting an access ACL rewrites the mode's group bits.
	n, err := c.copyXattrs(src, dst)
	if err != nil {
		return c.failDst("copy xattrs to", p, err)
	}
	if !chmod && n == 0 {
		return nil
	}
	return c.failDst("chmod", p, dst.chmod(st.Mode&0o7777))
}

func (h handle) chown(uid, gid int) error {
	if h.fd >= 0 {
		return unix.Fchown(h.fd, uid, gid)
	}
	return unix.Fchownat(h.dirfd, h.name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
}

func (h handle) chmod(mode uint32) error {
	if h.fd >= 0 {
		return unix.Fchmod(h.fd, mode)
	}
	return unix.Fchmodat(h.dirfd, h.name, mode, 0)
}

func (c *copier) readlink(sfd int, name string) (string, error) {
	if c.linkBuf == nil {
		c.linkBuf = make([]byte, 256)
	}
	for {
		n, err := unix.Readlinkat(sfd, name, c.linkBuf)
		if err != nil {
			return "", err
		}
		if n < len(c.linkBuf) {
			return string(c.linkBuf[:n]), nil
		}
		c.linkBuf = make([]byte, 2*len(c.linkBuf))
	}
}

func join(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

// fail names the source path an operation failed on; failDst the
// destination path. Both unwrap to the errno, and both return nil for a
// nil err without building any path.
func (c *copier) fail(op, p string, err error) error {
	if err == nil {
		return nil
	}
	return c.wrap(op, filepath.Join(c.src, p), err)
}

func (c *copier) failDst(op, p string, err error) error {
	if err == nil {
		return nil
	}
	return c.wrap(op, filepath.Join(c.dst, p), err)
}

func (c *copier) wrap(op, path string, err error) error {
	return fmt.Errorf("treecopy: copy %s to %s (%s mode): %w", c.src, c.dst, c.mode, &os.PathError{Op: op, Path: path, Err: err})
}
