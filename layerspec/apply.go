package layerspec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Apply writes layer l into the directory root in the given format.
//
// lowers are the layer directories below this one, topmost first, in the
// same format. They are only read, to give a directory that this layer
// creates implicitly (as the parent of an entry) the mode, owner and user
// xattrs it has below: in a union the upper copy of a directory decides its
// attributes, so an implicit 0755 would change what the container sees.
// Full-tree formats pass no lowers, because their root already holds the
// directory.
//
// Every path is resolved below root with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
// so a spec (or a symlink an earlier entry created) cannot make Apply write
// outside root.
//
// A layer built by FromTar is applied from its tar stream instead, with
// the same formats and the same guarantees; its errors are *TarError.
//
// Once ctx is done Apply stops before the next entry, or within
// DataChunk bytes of a file's data, and returns an error wrapping
// ctx.Err(); what it wrote so far stays, for the caller to remove with the
// layer.
func Apply(ctx context.Context, root string, l *Layer, f WhiteoutFormat, lowers []string) error {
	if err := l.Validate(); err != nil {
		return err
	}
	a, err := newApplier(ctx, root, f, lowers)
	if err != nil {
		return err
	}
	defer a.close()
	if l.tar != nil {
		return a.applyTar(l.tar)
	}
	for i := range l.Entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("apply %s %q in %s: %w", l.Entries[i].Kind, l.Entries[i].Path, root, err)
		}
		if err := a.apply(&l.Entries[i]); err != nil {
			return fmt.Errorf("apply %s %q in %s: %w", l.Entries[i].Kind, l.Entries[i].Path, root, err)
		}
	}
	return nil
}

// DataChunk is how much of a file's data Apply writes between two looks
// at its context: 8 MiB is a few milliseconds of generating and writing
// on an idle machine and some tens on a busy one, and one look per 8 MiB
// costs nothing next to that.
const DataChunk = 8 << 20

type applier struct {
	ctx    context.Context
	root   string
	format WhiteoutFormat
	lowers []int          // O_PATH fds of the lower layer roots
	dirs   map[string]int // open fds of directories in this layer, by relative path ("" is root)
	opaque map[string]bool
	buf    []byte
}

func newApplier(ctx context.Context, root string, f WhiteoutFormat, lowers []string) (*applier, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, wrap("open", root, err)
	}
	a := &applier{ctx: ctx, root: root, format: f, dirs: map[string]int{"": fd}, opaque: map[string]bool{}}
	for _, lo := range lowers {
		lfd, err := unix.Open(lo, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			a.close()
			return nil, wrap("open", lo, err)
		}
		a.lowers = append(a.lowers, lfd)
	}
	return a, nil
}

func (a *applier) close() {
	for _, fd := range a.dirs {
		unix.Close(fd)
	}
	for _, fd := range a.lowers {
		unix.Close(fd)
	}
}

// forget drops cached fds of rel and everything below it, after rel was
// removed or replaced.
//
// It is called for every entry a layer replaces, every file included, so
// it must not scan the cache each time (that made importing a Debian base
// layer quadratic in its directories): dir caches a directory only once
// its parent is cached, and forget drops a subtree whole, so when rel is
// not cached nothing below it is either.
func (a *applier) forget(rel string) {
	if _, ok := a.dirs[rel]; !ok || rel == "" {
		return
	}
	prefix := rel + "/"
	for p, fd := range a.dirs {
		if p == rel || strings.HasPrefix(p, prefix) {
			unix.Close(fd)
			delete(a.dirs, p)
		}
	}
}

// dir returns an fd of directory rel in this layer, creating missing
// components as implicit directories.
func (a *applier) dir(rel string) (int, error) {
	if fd, ok := a.dirs[rel]; ok {
		return fd, nil
	}
	parent, name := path.Split(rel)
	parent = strings.TrimSuffix(parent, "/")
	pfd, err := a.dir(parent)
	if err != nil {
		return -1, err
	}
	fd, err := openDir(pfd, name)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) {
		if err := a.mkdir(pfd, rel, nil); err != nil {
			return -1, err
		}
		fd, err = openDir(pfd, name)
	}
	if err != nil {
		return -1, wrap("open", rel, err)
	}
	a.dirs[rel] = fd
	return fd, nil
}

// openDir opens a directory beneath dirfd without following any symlink.
func openDir(dirfd int, name string) (int, error) {
	return unix.Openat2(dirfd, name, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
}

// mkdir creates directory rel (whose parent is pfd), replacing a non-directory.
// With e == nil the directory is implicit and takes its attributes from the
// lower layers.
func (a *applier) mkdir(pfd int, rel string, e *Entry) error {
	name := path.Base(rel)
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return a.setAttrs(pfd, name, e, true)
	}
	hid, err := a.format.ClearWhiteout(pfd, name)
	if err != nil {
		return err
	}
	if err := a.removeAt(pfd, rel); err != nil {
		return err
	}
	if err := unix.Mkdirat(pfd, name, 0o755); err != nil {
		return wrap("mkdir", rel, err)
	}
	// A new directory in this layer shadows the one below, so it starts
	// with the lower one's attributes, then takes what the entry declares.
	// One made where this layer deleted the name starts afresh.
	if !hid {
		if err := a.inheritAttrs(pfd, rel); err != nil {
			return err
		}
	}
	if err := a.setAttrs(pfd, name, e, true); err != nil {
		return err
	}
	if hid {
		a.opaque[rel] = true
		return a.format.Opaque(pfd, name)
	}
	return nil
}

func (a *applier) removeAt(pfd int, rel string) error {
	a.forget(rel)
	return removeAllAt(pfd, path.Base(rel))
}

// inheritAttrs copies mode, owner and user xattrs of rel from the topmost
// lower layer that shows it in the union: the search stops at a whiteout of
// rel or of an ancestor, and does not go below a layer in which an ancestor
// is opaque (or which this layer made opaque itself).
func (a *applier) inheritAttrs(pfd int, rel string) error {
	for d := path.Dir(rel); d != "."; d = path.Dir(d) {
		if a.opaque[d] {
			return nil
		}
	}
	comps := strings.Split(rel, "/")
	for _, lfd := range a.lowers {
		found, hidden, err := a.lookupLower(lfd, comps, pfd)
		if found || hidden || err != nil {
			return err
		}
	}
	return nil
}

// lookupLower looks rel up in one lower layer. found: it was a directory
// there and its attributes were copied; hidden: the layers further down
// cannot show rel.
func (a *applier) lookupLower(lfd int, comps []string, pfd int) (found, hidden bool, err error) {
	dfd := lfd
	defer func() {
		if dfd != lfd {
			unix.Close(dfd)
		}
	}()
	opaqueAbove := false
	for i, c := range comps {
		if a.format.IsWhiteout(dfd, c) {
			return false, true, nil
		}
		fd, err := unix.Openat2(dfd, c, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS})
		if err != nil {
			// Missing here (or not a directory): look further down, unless
			// an opaque ancestor in this layer hides what is below.
			return false, opaqueAbove, nil
		}
		if dfd != lfd {
			unix.Close(dfd)
		}
		dfd = fd
		if i == len(comps)-1 {
			break
		}
		opaqueAbove = opaqueAbove || a.format.IsOpaque(dfd)
	}
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return false, true, wrap("stat lower", strings.Join(comps, "/"), err)
	}
	e := &Entry{Kind: Dir, Mode: modeOf(st.Mode), UID: int(st.Uid), GID: int(st.Gid), Xattrs: userXattrs(dfd)}
	if e.Mode == 0 {
		e.Mode = 0o755 // Perm reads 0 as "default"; a 000 directory below is rare
	}
	return true, true, a.setAttrs(pfd, comps[len(comps)-1], e, true)
}

// setAttrs sets mode, owner and xattrs of name in pfd from e (nil: leave).
func (a *applier) setAttrs(pfd int, name string, e *Entry, isDir bool) error {
	if e == nil {
		return nil
	}
	// Always chown: an existing directory may belong to someone else.
	{
		if err := unix.Fchownat(pfd, name, e.UID, e.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return wrap("chown", name, err)
		}
	}
	// chmod after chown: chown clears setuid/setgid bits.
	if err := unix.Fchmodat(pfd, name, uint32(unixPerm(e.Perm())), 0); err != nil {
		return wrap("chmod", name, err)
	}
	if len(e.Xattrs) == 0 {
		return nil
	}
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if isDir {
		flags |= unix.O_DIRECTORY
	}
	fd, err := unix.Openat(pfd, name, flags, 0)
	if err != nil {
		return wrap("open", name, err)
	}
	defer unix.Close(fd)
	return setXattrs(fd, name, e.Xattrs)
}

func setXattrs(fd int, name string, xattrs map[string]string) error {
	for k, v := range xattrs {
		if err := unix.Fsetxattr(fd, k, []byte(v), 0); err != nil {
			return wrap("setxattr "+k, name, err)
		}
	}
	return nil
}

func (a *applier) apply(e *Entry) error {
	parent, name := path.Split(e.Path)
	parent = strings.TrimSuffix(parent, "/")
	pfd, err := a.dir(parent)
	if err != nil {
		return err
	}
	switch e.Kind {
	case Dir:
		return a.mkdir(pfd, e.Path, e)
	case Opaque:
		if err := a.mkdir(pfd, e.Path, e); err != nil {
			return err
		}
		a.forget(e.Path) // FlatFormat empties it
		// What this layer put in the directory before is hidden too.
		fd, err := openDir(pfd, name)
		if err != nil {
			return err
		}
		names, err := readNames(fd)
		if err == nil {
			for _, n := range names {
				if err = removeAllAt(fd, n); err != nil {
					break
				}
			}
		}
		unix.Close(fd)
		if err != nil {
			return err
		}
		a.opaque[e.Path] = true
		return a.format.Opaque(pfd, name)
	case Delete:
		a.forget(e.Path)
		return a.format.Whiteout(pfd, name)
	}
	// Everything else replaces whatever the name held in this layer. In a
	// full-tree format the old name may be a hard link into the parent
	// layer's tree, so it is unlinked, never written in place.
	if _, err := a.format.ClearWhiteout(pfd, name); err != nil {
		return err
	}
	if err := a.removeAt(pfd, e.Path); err != nil {
		return err
	}
	switch e.Kind {
	case File:
		return a.writeFile(pfd, name, e)
	case Symlink:
		if err := unix.Symlinkat(e.Target, pfd, name); err != nil {
			return wrap("symlink", e.Path, err)
		}
		if e.UID != 0 || e.GID != 0 {
			return wrap("lchown", e.Path, unix.Fchownat(pfd, name, e.UID, e.GID, unix.AT_SYMLINK_NOFOLLOW))
		}
		return nil
	case Hardlink:
		tparent, tname := path.Split(e.Target)
		tfd, err := a.dir(strings.TrimSuffix(tparent, "/"))
		if err != nil {
			return err
		}
		return wrap("link", e.Path, unix.Linkat(tfd, tname, pfd, name, 0))
	}
	return fmt.Errorf("unknown kind %q", e.Kind)
}

func (a *applier) writeFile(pfd int, name string, e *Entry) error {
	fd, err := unix.Openat(pfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return wrap("create", e.Path, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if e.Sparse {
		if err := f.Truncate(e.Size); err != nil {
			return err
		}
	} else if e.Size > 0 {
		if a.buf == nil {
			a.buf = make([]byte, 1<<20)
		}
		if err := a.writeData(f, e); err != nil {
			return err
		}
	}
	if e.UID != 0 || e.GID != 0 { // a new file is already root's
		if err := f.Chown(e.UID, e.GID); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, uint32(unixPerm(e.Perm()))); err != nil {
		return wrap("chmod", e.Path, err)
	}
	if len(e.Xattrs) > 0 {
		return setXattrs(fd, e.Path, e.Xattrs)
	}
	return nil
}

// writeData writes e's content into f, DataChunk bytes at a time, and
// stops between chunks once the context is done.
func (a *applier) writeData(f *os.File, e *Entry) error {
	content := e.Content()
	for left := e.Size; left > 0; {
		if err := a.ctx.Err(); err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", e.Size-left, e.Size, err)
		}
		// onlyWriter hides os.File's ReadFrom so the reused buffer is used.
		n, err := io.CopyBuffer(onlyWriter{f}, io.LimitReader(content, min(left, DataChunk)), a.buf)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("content of %d bytes ended after %d", e.Size, e.Size-left)
		}
		left -= n
	}
	return nil
}

type onlyWriter struct{ io.Writer }
