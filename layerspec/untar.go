package layerspec

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Errors a layer tar is refused with, wrapped in a *TarError naming the
// layer and the entry. Both are bad input, not a failure of the host.
var (
	// ErrEscape: the entry would reach outside the layer directory ("../x",
	// a hard link or relative symlink target that climbs out, or a path
	// through a symlink, which an extractor would follow).
	ErrEscape = errors.New("escapes the layer directory")
	// ErrCorrupt: the stream is not a whole, well-formed layer tar
	// (truncated, bad header, an entry type a layer cannot hold).
	ErrCorrupt = errors.New("malformed layer tar")
)

// TarError is a layer tar entry that could not be applied.
type TarError struct {
	Layer string // where the stream came from, e.g. "image.tar: layer sha256:ab12…"
	Entry string // the entry's name as the tar spells it ("" before the first)
	Err   error
}

func (e *TarError) Error() string {
	if e.Entry == "" {
		return fmt.Sprintf("%s: %v", e.Layer, e.Err)
	}
	return fmt.Sprintf("%s: entry %q: %v", e.Layer, e.Entry, e.Err)
}

func (e *TarError) Unwrap() error { return e.Err }

// tarSource is the stream a Layer built by FromTar applies.
type tarSource struct {
	name string
	r    io.Reader
	used bool
}

// FromTar returns a layer whose content is the uncompressed layer tar r,
// as `docker save` archives and OCI images hold it: deletions are
// ".wh.<name>" entries and opaque directories hold ".wh..wh..opq". Apply
// turns those into the driver's own format, so each driver applies the
// stream exactly where it applies a declared layer. name says where the
// stream comes from in errors.
//
// The stream is read once: a second Apply of the same Layer is refused.
// Such a layer has no Entries, so Flatten sees it as empty.
func FromTar(name string, r io.Reader) *Layer {
	return &Layer{tar: &tarSource{name: name, r: r}}
}

// IsTar reports whether the layer was built by FromTar.
func (l *Layer) IsTar() bool { return l.tar != nil }

// applyTar is Apply for a layer built by FromTar. It follows moby's
// pkg/archive UnpackLayer: names are cleaned and made relative to the
// layer root; ".wh." entries become the format's whiteouts and opaque
// markers; directory times are set last, once nothing more is written into
// them.
func (a *applier) applyTar(src *tarSource) error {
	if src.used {
		return &TarError{Layer: src.name, Err: errors.New("the layer's tar stream was already applied once")}
	}
	src.used = true
	tr := tar.NewReader(src.r)
	t := &untar{applier: a, unpacked: map[string]bool{}}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			after := ""
			if t.last != "" {
				after = fmt.Sprintf(" after entry %q", t.last)
			}
			return &TarError{Layer: src.name, Err: fmt.Errorf("reading the header%s: %w", after, tarReadErr(err))}
		}
		if err := a.ctx.Err(); err != nil {
			return &TarError{Layer: src.name, Entry: h.Name, Err: err}
		}
		t.last = h.Name
		if err := t.entry(h, tr); err != nil {
			err = tarReadErr(err)
			return &TarError{Layer: src.name, Entry: h.Name, Err: err}
		}
	}
	// The tar ends before the stream does (two zero blocks, then padding
	// to the record size): the rest is read so that a reader checking the
	// stream's digest at its end sees all of it, and a mismatch fails the
	// layer before the driver keeps it.
	if _, err := io.Copy(io.Discard, src.r); err != nil {
		return err // the reader's own error names its stream
	}
	// Writing into a directory changes its mtime, so directories get
	// theirs once everything is written, deepest first as moby does
	// (in reverse order of appearance).
	for i := len(t.dirTimes) - 1; i >= 0; i-- {
		d := t.dirTimes[i]
		if err := t.setTimes(d.rel, d.mtime); err != nil {
			return &TarError{Layer: src.name, Entry: d.rel, Err: err}
		}
	}
	return nil
}

type dirTime struct {
	rel   string
	mtime time.Time
}

// untar is the state of one layer tar being applied.
type untar struct {
	*applier
	last     string
	unpacked map[string]bool // paths this layer wrote: what a full-tree opaque keeps
	dirTimes []dirTime
}

// cleanName makes a tar name relative to the layer root, as moby does
// (Clean, then joined under the root), and refuses one that climbs out.
func cleanName(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w: the name contains a NUL byte", ErrCorrupt)
	}
	p := strings.TrimLeft(path.Clean("/"+name), "/")
	// Clean("/"+name) cannot climb above "/", so look at the name itself.
	if c := path.Clean(name); c == ".." || strings.HasPrefix(c, "../") {
		return "", ErrEscape
	}
	if p == "" {
		p = "."
	}
	return p, nil
}

func (t *untar) entry(h *tar.Header, r io.Reader) error {
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	rel, err := cleanName(h.Name)
	if err != nil {
		return err
	}
	// aufs keeps its hard-link and metadata directories (.wh..wh.plnk,
	// .wh..wh.aufs) at the root; moby skips them, and so does this.
	if strings.HasPrefix(rel, ".wh..wh.") && rel != AufsOpaqueMarker {
		return nil
	}
	parent, base := path.Split(rel)
	parent = strings.TrimSuffix(parent, "/")
	if rel == "." {
		parent, base = "", "."
	}
	if err := t.checkDirs(parent); err != nil {
		return err
	}
	pfd, err := t.dir(parent)
	if err != nil {
		return err
	}
	if strings.HasPrefix(base, AufsWhiteoutPrefix) {
		if err := t.whiteout(pfd, parent, base); err != nil {
			return err
		}
		return t.keepMarkerHeader(pfd, base, h)
	}
	t.unpacked[rel] = true
	switch h.Typeflag {
	case tar.TypeDir:
		if rel != "." {
			if err := t.mkdir(pfd, rel, nil); err != nil {
				return err
			}
		}
		t.dirTimes = append(t.dirTimes, dirTime{rel, h.ModTime})
		return t.setHeaderAttrs(pfd, base, h, true)
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		if err := t.replace(pfd, rel); err != nil {
			return err
		}
		if err := t.writeTarFile(pfd, base, h, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := symlinkEscapes(rel, h.Linkname); err != nil {
			return err
		}
		if err := t.replace(pfd, rel); err != nil {
			return err
		}
		if err := unix.Symlinkat(h.Linkname, pfd, base); err != nil {
			return wrap("symlink", rel, err)
		}
		if err := unix.Fchownat(pfd, base, h.Uid, h.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return wrap("lchown", rel, err)
		}
	case tar.TypeLink:
		target, err := cleanName(h.Linkname)
		if err != nil || target == "." {
			return fmt.Errorf("hard link target %q: %w", h.Linkname, ErrEscape)
		}
		tparent, tbase := path.Split(target)
		tparent = strings.TrimSuffix(tparent, "/")
		if err := t.checkDirs(tparent); err != nil {
			return fmt.Errorf("hard link target %q: %w", h.Linkname, err)
		}
		tfd, err := t.dir(tparent)
		if err != nil {
			return fmt.Errorf("hard link target %q: %w", h.Linkname, err)
		}
		if target == rel {
			return fmt.Errorf("%w: a hard link to itself", ErrCorrupt)
		}
		if err := t.replace(pfd, rel); err != nil {
			return err
		}
		// linkat without AT_SYMLINK_FOLLOW links a symlink itself, never
		// what it points to.
		err = unix.Linkat(tfd, tbase, pfd, base, 0)
		if errors.Is(err, unix.ENOENT) {
			// moby fails the same way: a layer links only to its own files.
			return fmt.Errorf("%w: hard link target %q is not in this layer", ErrCorrupt, h.Linkname)
		}
		return wrap("link", rel, err)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := t.replace(pfd, rel); err != nil {
			return err
		}
		mode := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[h.Typeflag]
		dev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
		if err := unix.Mknodat(pfd, base, mode|0o600, int(dev)); err != nil {
			return wrap("mknod", rel, err)
		}
		if err := t.setHeaderAttrs(pfd, base, h, false); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: entry type %q cannot be part of a layer", ErrCorrupt, h.Typeflag)
	}
	return t.setTimesAt(pfd, base, h.ModTime)
}

// checkDirs refuses a parent path that goes through a symlink or a file
// this layer holds: an extractor would follow the symlink (out of the
// layer, if it is absolute), and Apply never follows one.
func (t *untar) checkDirs(rel string) error {
	if rel == "" {
		return nil
	}
	if _, ok := t.dirs[rel]; ok {
		return nil
	}
	parent, base := path.Split(rel)
	parent = strings.TrimSuffix(parent, "/")
	if err := t.checkDirs(parent); err != nil {
		return err
	}
	pfd, err := t.dir(parent)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	switch err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case errors.Is(err, unix.ENOENT):
		return nil // made as an implicit directory
	case err != nil:
		return wrap("stat", rel, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return nil
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, _ := unix.Readlinkat(pfd, base, buf)
		return fmt.Errorf("%w: %s is a symlink (to %q) and would be followed", ErrEscape, rel, buf[:n])
	default:
		if t.format.IsWhiteout(pfd, base) {
			return nil // replaced by an implicit directory, opaque
		}
		return fmt.Errorf("%w: %s is not a directory", ErrCorrupt, rel)
	}
}

// symlinkEscapes applies moby's breakout rule: a relative target resolved
// from the link's directory must stay inside the layer. An absolute target
// is resolved inside the container's root when the container follows it,
// so it is kept; only an extractor following it would escape, which
// checkDirs prevents.
func symlinkEscapes(rel, target string) error {
	if target == "" {
		return fmt.Errorf("%w: a symlink with an empty target", ErrCorrupt)
	}
	if path.IsAbs(target) {
		return nil
	}
	if c := path.Join(path.Dir(rel), target); c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("symlink target %q: %w", target, ErrEscape)
	}
	return nil
}

// whiteout applies a ".wh." entry found in directory parent.
func (t *untar) whiteout(pfd int, parent, base string) error {
	if base != AufsOpaqueMarker {
		name := strings.TrimPrefix(base, AufsWhiteoutPrefix)
		if name == "" || name == "." || name == ".." {
			return fmt.Errorf("%w: whiteout of %q", ErrCorrupt, name)
		}
		t.forget(path.Join(parent, name))
		return t.format.Whiteout(pfd, name)
	}
	if _, full := t.format.(FlatFormat); full {
		// A full tree holds the lower layers' files itself: remove those
		// this layer did not write (moby's unpackedPaths rule).
		return t.removeNotUnpacked(pfd, parent)
	}
	if parent == "" {
		return t.format.Opaque(pfd, ".")
	}
	t.opaque[parent] = true
	gpfd, err := t.dir(strings.TrimSuffix(path.Dir(parent), "."))
	if err != nil {
		return err
	}
	return t.format.Opaque(gpfd, path.Base(parent))
}

// keepMarkerHeader gives an aufs-format marker (.wh.<name>, .wh..wh..opq),
// which AufsFormat made as an empty 0444 root file, what the tar's entry
// says: Docker's aufs and fuse-overlayfs drivers extract a layer with
// plain Untar in the AUFS whiteout format, which keeps the markers as the
// tar's own files, with the header's mode, owner, xattrs and times (a
// Docker-built layer's whiteouts are 0000, other tools' 0644 or 0444).
// Only a regular-file marker is given them: any other type stays the
// format's empty file.
func (t *untar) keepMarkerHeader(pfd int, base string, h *tar.Header) error {
	if _, aufs := t.format.(AufsFormat); !aufs {
		return nil
	}
	if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
		return nil
	}
	if err := t.setHeaderAttrs(pfd, base, h, false); err != nil {
		return err
	}
	return t.setTimesAt(pfd, base, h.ModTime)
}

func (t *untar) removeNotUnpacked(fd int, dir string) error {
	names, err := readNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if p := path.Join(dir, n); !t.unpacked[p] {
			t.forget(p)
			if err := removeAllAt(fd, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// replace clears the name for a new non-directory: a whiteout of it, and
// whatever this layer holds there (unlinked, never written in place: in a
// full-tree format it may be a hard link into the parent layer).
func (t *untar) replace(pfd int, rel string) error {
	if _, err := t.format.ClearWhiteout(pfd, path.Base(rel)); err != nil {
		return err
	}
	return t.removeAt(pfd, rel)
}

func (t *untar) writeTarFile(pfd int, name string, h *tar.Header, r io.Reader) error {
	fd, err := unix.Openat(pfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return wrap("create", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	if t.buf == nil {
		t.buf = make([]byte, 1<<20)
	}
	for written := int64(0); ; {
		if err := t.ctx.Err(); err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", written, h.Size, err)
		}
		n, err := io.CopyBuffer(onlyWriter{f}, io.LimitReader(r, DataChunk), t.buf)
		written += n
		if err != nil {
			return err
		}
		if n < DataChunk {
			break
		}
	}
	return t.setHeaderAttrs(pfd, name, h, false)
}

// setHeaderAttrs gives name the owner, mode and xattrs its header says.
func (t *untar) setHeaderAttrs(pfd int, name string, h *tar.Header, isDir bool) error {
	if err := unix.Fchownat(pfd, name, h.Uid, h.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return wrap("chown", name, err)
	}
	// chmod after chown: chown clears setuid/setgid bits.
	if err := unix.Fchmodat(pfd, name, uint32(h.Mode)&0o7777, 0); err != nil {
		return wrap("chmod", name, err)
	}
	flags := unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if isDir {
		flags |= unix.O_DIRECTORY
	} else if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA && h.Typeflag != tar.TypeGNUSparse {
		// Opening a device node or fifo would open the device or block:
		// their xattrs are set by path, without following.
		return setXattrsByName(pfd, name, h)
	}
	var fd int
	var err error
	if name == "." {
		fd, err = unix.Openat(pfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	} else {
		fd, err = unix.Openat(pfd, name, flags, 0)
	}
	if err != nil {
		return wrap("open", name, err)
	}
	defer unix.Close(fd)
	for k, v := range tarXattrs(h) {
		if err := unix.Fsetxattr(fd, k, []byte(v), 0); err != nil && !ignorableXattrErr(err) {
			return wrap("setxattr "+k, name, err)
		}
	}
	return nil
}

func setXattrsByName(pfd int, name string, h *tar.Header) error {
	x := tarXattrs(h)
	if len(x) == 0 {
		return nil
	}
	p := fmt.Sprintf("/proc/self/fd/%d/%s", pfd, name)
	for k, v := range x {
		if err := unix.Lsetxattr(p, k, []byte(v), 0); err != nil && !ignorableXattrErr(err) {
			return wrap("setxattr "+k, name, err)
		}
	}
	return nil
}

// ignorableXattrErr: moby ignores xattrs the backing filesystem does not
// take (ENOTSUP, EPERM), because not every driver's filesystem supports them.
func ignorableXattrErr(err error) bool {
	return errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM)
}

// tarXattrs returns the header's xattrs, less overlayfs's own
// trusted.overlay.* ones: those are how the driver records whiteouts and
// opaque directories, and a layer must not forge them.
func tarXattrs(h *tar.Header) map[string]string {
	var out map[string]string
	for k, v := range h.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = v
	}
	return out
}

func (t *untar) setTimesAt(pfd int, name string, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return wrap("utimensat", name, unix.UtimesNanoAt(pfd, name, ts, unix.AT_SYMLINK_NOFOLLOW))
}

// setTimes sets a directory's mtime by its path in the layer; one a later
// entry removed is skipped.
func (t *untar) setTimes(rel string, mtime time.Time) error {
	if rel == "." {
		return t.setTimesAt(t.dirs[""], ".", mtime)
	}
	parent := strings.TrimSuffix(path.Dir(rel), ".")
	pfd, ok := t.dirs[parent]
	if !ok {
		fd, err := openDir(t.dirs[""], parent)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil
		}
		if err != nil {
			return wrap("open", parent, err)
		}
		defer unix.Close(fd)
		pfd = fd
	}
	err := t.setTimesAt(pfd, path.Base(rel), mtime)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// tarReadErr labels what archive/tar reports about a broken stream as
// ErrCorrupt; any other error (the reader's own, such as a digest check,
// or the filesystem's) is kept as it is.
func tarReadErr(err error) error {
	switch {
	case errors.Is(err, ErrCorrupt):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the stream ends early (truncated archive?): %w", ErrCorrupt, err)
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrFieldTooLong), errors.Is(err, tar.ErrInsecurePath):
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}
