package dockerparity

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/sys/unix"
)

// overlayTemp matches the temporary names overlay gives what it keeps in
// its workdir (work/work/#<inode in hex>, a cached whiteout): the number
// is an inode number, not part of the format.
var overlayTemp = regexp.MustCompile(`/#[0-9a-f]+$`)

// shortOrLong matches a layer's id (64 hex digits, "-init" and all) or an
// overlay2 short id (26 characters of base32) in a path.
var shortOrLong = regexp.MustCompile(`[0-9a-f]{64}(-init)?|\b[A-Z2-7]{26}\b`)

// entry is what the comparison reads of one path: every field is compared
// on its own, so a difference names the field.
type entry map[string]string

// tree is a snapshot of a directory: relative path (normalized) -> entry.
type tree map[string]entry

// drop removes a field the comparison cannot use from every entry.
func (t tree) drop(field string) {
	for _, e := range t {
		delete(e, field)
	}
}

// snapshot reads every entry under dir without following symlinks. rename
// rewrites path components, small metadata files and link targets (short
// ids to layer ids).
func snapshot(dir string, rename func(string) string) (tree, error) {
	t := tree{}
	// A file with more than one link is hashed once: legacy overlay's
	// layers hard-link their parent's whole tree, so a Debian rootfs would
	// otherwise be read once per layer. A file of one link is never shared
	// and always read.
	linked := map[inode]string{}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		e, err := readEntry(p, rename, linked)
		if err != nil {
			return err
		}
		t[overlayTemp.ReplaceAllString(rename(rel), "/#<tmp>")] = e
		return nil
	})
	return t, err
}

// inode names one file of a filesystem.
type inode struct{ dev, ino uint64 }

// snapshotBoth snapshots Docker's tree and ours at once: the two read
// different files, and a Debian rootfs takes seconds to hash.
func snapshotBoth(dockerDir string, dockerRename func(string) string, ourDir string, ourRename func(string) string) (docker, ours tree, err error) {
	var derr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		docker, derr = snapshot(dockerDir, dockerRename)
	}()
	ours, err = snapshot(ourDir, ourRename)
	<-done
	return docker, ours, errors.Join(derr, err)
}

func readEntry(p string, rename func(string) string, linked map[inode]string) (entry, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	e := entry{
		"mode":  fmt.Sprintf("%04o", st.Mode&0o7777),
		"owner": fmt.Sprintf("%d:%d", st.Uid, st.Gid),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		e["type"] = "dir"
	case unix.S_IFREG:
		e["type"] = "file"
		e["size"] = fmt.Sprint(st.Size)
		e["nlink"] = fmt.Sprint(st.Nlink)
		// Holes are what a copy keeps or fills; allocated size would
		// differ with the backing fs, so only whether there are any.
		e["sparse"] = fmt.Sprint(st.Blocks*512 < st.Size)
		id := inode{uint64(st.Dev), st.Ino}
		content, ok := linked[id]
		if !ok || st.Nlink < 2 {
			var err error
			if content, err = fileDigest(p, rename); err != nil {
				return nil, err
			}
			if st.Nlink > 1 {
				linked[id] = content
			}
		}
		e["content"] = content
	case unix.S_IFLNK:
		e["type"] = "symlink"
		target, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		e["target"] = rename(target)
	case unix.S_IFCHR:
		e["type"] = "char"
		e["rdev"] = fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		e["type"] = "block"
		e["rdev"] = fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		e["type"] = "fifo"
	case unix.S_IFSOCK:
		e["type"] = "socket"
	}
	x, err := xattrs(p)
	if err != nil {
		return nil, err
	}
	e["xattrs"] = x
	return e, nil
}

// fileDigest is a file's content: small text files (the drivers' link,
// lower and lower-id files) as their text with short ids renamed, anything
// else as its SHA-256.
func fileDigest(p string, rename func(string) string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		if isText(head[:n]) {
			return "text:" + rename(string(head[:n])), nil
		}
	} else if err != nil {
		return "", err
	}
	h.Write(head[:n])
	if _, err := io.Copy(h, bufio.NewReader(f)); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func isText(b []byte) bool {
	if len(b) == 0 || len(b) > 300 {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// xattrs lists a file's extended attributes, sorted, as name=value.
// trusted.overlay.origin holds a file handle of the lower inode and
// trusted.overlay.uuid a random id, which differ between any two trees:
// only their presence is compared.
func xattrs(p string) (string, error) {
	size, err := unix.Llistxattr(p, nil)
	if err != nil || size == 0 {
		return "", nil
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(p, buf)
	if err != nil {
		return "", err
	}
	var out []string
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" || name == "security.selinux" {
			continue
		}
		n, err := unix.Lgetxattr(p, name, nil)
		val := make([]byte, max(n, 0))
		if err == nil {
			n, err = unix.Lgetxattr(p, name, val)
		}
		if err != nil {
			return "", fmt.Errorf("getxattr %s %s: %w", p, name, err)
		}
		v := string(val[:n])
		switch {
		case name == "trusted.overlay.origin":
			v = "<file handle>"
		case name == "trusted.overlay.uuid":
			v = "<random uuid>" // drawn by the kernel at the first mount
		case !isText(val[:n]):
			v = "0x" + hex.EncodeToString(val[:n])
		}
		out = append(out, name+"="+v)
	}
	slices.Sort(out)
	return strings.Join(out, " "), nil
}

// difference is one field of one path that the two trees disagree on.
type difference struct {
	Where  string // "root", "merged" or "mount"
	Path   string
	Field  string // "missing", "extra", or an entry field
	Docker string
	Ours   string
}

func (d difference) String() string {
	return fmt.Sprintf("%s %s %s: docker %q, unionbench %q", d.Where, d.Path, d.Field, d.Docker, d.Ours)
}

// compare lists every difference between Docker's tree and ours.
func compare(where string, docker, ours tree) (n int, diffs []difference) {
	paths := map[string]bool{}
	for p := range docker {
		paths[p] = true
	}
	for p := range ours {
		paths[p] = true
	}
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range paths {
			if !yield(p) {
				return
			}
		}
	}) {
		n++
		de, dok := docker[p]
		oe, ook := ours[p]
		switch {
		case !ook:
			diffs = append(diffs, difference{where, p, "missing", de["type"], ""})
			continue
		case !dok:
			diffs = append(diffs, difference{where, p, "extra", "", oe["type"]})
			continue
		}
		fields := map[string]bool{}
		for f := range de {
			fields[f] = true
		}
		for f := range oe {
			fields[f] = true
		}
		for _, f := range slices.Sorted(func(yield func(string) bool) {
			for f := range fields {
				if !yield(f) {
					return
				}
			}
		}) {
			if de[f] != oe[f] {
				diffs = append(diffs, difference{where, p, f, de[f], oe[f]})
			}
		}
	}
	return n, diffs
}

// allowance is one documented difference: a line of the parity-allow
// block in docs/docker-parity.md, "<driver|*> <where> <path glob> <field|*>";
// in the glob, ** matches any run of characters and * any within one path
// component.
type allowance struct {
	driver, where, field string
	path                 *regexp.Regexp
	line                 string
}

func (a allowance) matches(driver string, d difference) bool {
	return (a.driver == "*" || a.driver == driver) && a.where == d.Where &&
		(a.field == "*" || a.field == d.Field) && a.path.MatchString(d.Path)
}

// readAllowances parses every ```parity-allow block of the document.
func readAllowances(doc string) ([]allowance, error) {
	b, err := os.ReadFile(doc)
	if err != nil {
		return nil, err
	}
	var out []allowance
	in := false
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.TrimSpace(line) == "```parity-allow":
			in = true
			continue
		case in && strings.TrimSpace(line) == "```":
			in = false
			continue
		case !in || strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: %q: want \"<driver|*> <root|merged|mount> <path glob> <field|*>\"", doc, i+1, line)
		}
		switch f[1] {
		case "root", "merged", "mount":
		default:
			return nil, fmt.Errorf("%s:%d: where %q: want root, merged or mount", doc, i+1, f[1])
		}
		re := regexp.QuoteMeta(f[2])
		re = strings.ReplaceAll(re, `\*\*`, ".*")
		re = strings.ReplaceAll(re, `\*`, "[^/]*")
		out = append(out, allowance{driver: f[0], where: f[1], path: regexp.MustCompile("^" + re + "$"), field: f[3], line: line})
	}
	if in {
		return nil, fmt.Errorf("%s: unterminated parity-allow block", doc)
	}
	return out, nil
}
