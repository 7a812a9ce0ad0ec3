package layerspec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Node is what a union must show at one path.
type Node struct {
	Type   string            `json:"type"` // file, dir, symlink, other
	Mode   fs.FileMode       `json:"mode"`
	UID    int               `json:"uid"`
	GID    int               `json:"gid"`
	Size   int64             `json:"size,omitempty"`   // files only
	Digest string            `json:"digest,omitempty"` // files only: SHA-256 of the content
	Target string            `json:"target,omitempty"` // symlinks only
	Xattrs map[string]string `json:"xattrs,omitempty"` // user.* only

	entry *Entry // in a flattened tree: the entry that made a file, to hash lazily
	inode int    // identity shared by hard links
	// opaque: in a flattened tree, some layer since the directory was
	// last created made it opaque (what Rules.LowestOpaqueWins needs).
	opaque bool
}

// Tree maps a relative path to its node; the root itself is not included.
type Tree map[string]*Node

// Flatten computes the tree a correct union of layers (bottom first) shows,
// following the same rules Apply gives every format: later entries win, a
// delete removes a subtree, an opaque directory hides what is below it, and a
// directory created implicitly keeps the attributes it already had.
func Flatten(layers []*Layer) (Tree, error) { return Rules{}.Flatten(layers) }

// Rules are the merge rules of a union filesystem where they depart from
// the POSIX reading Flatten gives every layer format. The zero value is
// that reading.
type Rules struct {
	// LowestOpaqueWins models aufs: a directory made opaque in more than
	// one layer hides only what lies below its lowest opaque marker, so
	// the entries of the layers between two markers show. aufs's lookup
	// of a directory not in its dentry cache (au_lkup_dentry,
	// fs/aufs/dentry.c, aufs6.1) tests "is this a directory" on the
	// dentry being looked up, still negative, so it does not stop at the
	// first opaque branch; every opaque branch it passes overwrites the
	// recorded one (au_set_dbdiropq in au_do_lookup), and readdir and the
	// lookups of children stop at that lowest one (au_dbtaildir). A
	// whiteout of the directory still stops the lookup, so a directory
	// deleted in one layer and created in a later one starts over; but one
	// deleted and created again in the same layer is, on disk, an opaque
	// directory with no whiteout (Apply, as Docker's layer diffs), so it
	// is one more marker and the lowest still wins.
	LowestOpaqueWins bool
}

// AufsRules are the rules an aufs mount follows, the Rules doc says why.
var AufsRules = Rules{LowestOpaqueWins: true}

// Flatten computes the tree a union with these rules shows of layers
// (bottom first).
func (r Rules) Flatten(layers []*Layer) (Tree, error) {
	t := Tree{}
	inode := 0
	for li, l := range layers {
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("layer %d: %w", li, err)
		}
		// start is the union as the layers below show it, and deleted
		// the paths this layer deleted: what LowestOpaqueWins needs (see
		// reopened).
		var start Tree
		deleted := map[string]bool{}
		if r.LowestOpaqueWins {
			start = maps.Clone(t)
		}
		for i := range l.Entries {
			e := &l.Entries[i]
			for _, d := range t.implicitParents(e.Path) {
				if deleted[d] {
					r.reopened(t, start, d)
				}
			}
			switch e.Kind {
			case Delete:
				deleted[e.Path] = true
				t.removeSubtree(e.Path)
			case Dir, Opaque:
				old := t[e.Path]
				if old == nil || old.Type != "dir" {
					t.removeSubtree(e.Path)
					old = &Node{Type: "dir"}
					t[e.Path] = old
					if deleted[e.Path] {
						r.reopened(t, start, e.Path)
					}
				} else if e.Kind == Opaque {
					t.removeChildren(e.Path)
					if old.opaque {
						r.reopened(t, start, e.Path)
					}
				}
				n := &Node{Type: "dir", Mode: e.Perm(), UID: e.UID, GID: e.GID, Xattrs: mergeXattrs(old.Xattrs, e.Xattrs),
					opaque: t[e.Path].opaque || e.Kind == Opaque}
				t[e.Path] = n
			case File:
				t.removeSubtree(e.Path)
				inode++
				t[e.Path] = &Node{Type: "file", Mode: e.Perm(), UID: e.UID, GID: e.GID, Size: e.Size, Xattrs: copyXattrs(e.Xattrs), entry: e, inode: inode}
			case Symlink:
				t.removeSubtree(e.Path)
				t[e.Path] = &Node{Type: "symlink", Mode: 0o777, UID: e.UID, GID: e.GID, Target: e.Target}
			case Hardlink:
				src := t[e.Target]
				t.removeSubtree(e.Path)
				t[e.Path] = src // the same node: one inode, two names
			}
		}
	}
	return t, nil
}

// reopened is directory d made opaque again in a layer: by an Opaque
// entry, or by being made where the same layer deleted it, which Apply
// writes as an opaque directory with no whiteout left (as a Docker layer
// diff has it). Either way Apply empties what this layer put in d before,
// whiteouts too. Under LowestOpaqueWins a marker below (start, the union
// of the layers below, has d opaque) still bounds d, so d shows again what
// those layers put in it, and d counts as opaque from here on.
func (r Rules) reopened(t Tree, start Tree, d string) {
	if !r.LowestOpaqueWins {
		return
	}
	if below := start[d]; below != nil && below.Type == "dir" && below.opaque {
		for p, n := range start {
			if strings.HasPrefix(p, d+"/") {
				t[p] = n
			}
		}
	}
	t[d].opaque = true
}

// implicitParents creates the missing parent directories of p and returns
// them, top first.
func (t Tree) implicitParents(p string) []string {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if n := t[dir]; n == nil || n.Type != "dir" {
			// Create from the top down: collect and walk back.
			var missing []string
			for d := path.Dir(p); d != "."; d = path.Dir(d) {
				if n := t[d]; n == nil || n.Type != "dir" {
					missing = append(missing, d)
				}
			}
			var made []string
			for i := len(missing) - 1; i >= 0; i-- {
				t.removeSubtree(missing[i])
				t[missing[i]] = &Node{Type: "dir", Mode: 0o755}
				made = append(made, missing[i])
			}
			return made
		}
	}
	return nil
}

func (t Tree) removeSubtree(p string) {
	delete(t, p)
	t.removeChildren(p)
}

func (t Tree) removeChildren(p string) {
	prefix := p + "/"
	for k := range t {
		if strings.HasPrefix(k, prefix) {
			delete(t, k)
		}
	}
}

func mergeXattrs(a, b map[string]string) map[string]string {
	if len(a)+len(b) == 0 {
		return nil
	}
	m := map[string]string{}
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

func copyXattrs(a map[string]string) map[string]string { return mergeXattrs(a, nil) }

// LinkGroups lists the sets of paths that are one inode (hard links), each
// sorted, groups sorted by first path.
func (t Tree) LinkGroups() [][]string {
	by := map[*Node][]string{}
	for p, n := range t {
		if n.Type == "file" {
			by[n] = append(by[n], p)
		}
	}
	return groups(by)
}

func groups[K comparable](by map[K][]string) [][]string {
	var out [][]string
	for _, g := range by {
		if len(g) > 1 {
			sort.Strings(g)
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Snapshot walks a directory (a merged view or a plain tree) into a Tree,
// hashing every file and recording hard-link groups by inode. It reads
// nothing outside dir: symlinks are recorded, never followed.
func Snapshot(dir string) (Tree, [][]string, error) {
	t := Tree{}
	byIno := map[uint64][]string{}
	buf := make([]byte, 256<<10)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		n := &Node{Mode: modeOf(st.Mode), UID: int(st.Uid), GID: int(st.Gid)}
		switch info.Mode().Type() {
		case 0:
			n.Type, n.Size = "file", info.Size()
			if n.Digest, err = hashFile(p, buf); err != nil {
				return err
			}
			byIno[st.Ino] = append(byIno[st.Ino], rel)
		case fs.ModeDir:
			n.Type = "dir"
		case fs.ModeSymlink:
			n.Type, n.Mode = "symlink", 0o777
			if n.Target, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			n.Type = "other"
		}
		if n.Type == "file" || n.Type == "dir" {
			if fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0); err == nil {
				n.Xattrs = userXattrs(fd)
				unix.Close(fd)
			}
		}
		t[rel] = n
		return nil
	})
	return t, groups(byIno), err
}

func hashFile(p string, buf []byte) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Diff compares a flattened reference with a snapshot and lists every
// difference, one line each, sorted; at most max lines (0: all).
func Diff(want, got Tree, max int) []string {
	var out []string
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			out = append(out, fmt.Sprintf("missing %s %s", w.Type, p))
			continue
		}
		if d := w.diff(g); d != "" {
			out = append(out, fmt.Sprintf("differs %s: %s", p, d))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			out = append(out, fmt.Sprintf("unexpected %s %s", g.Type, p))
		}
	}
	sort.Strings(out)
	if max > 0 && len(out) > max {
		out = append(out[:max], fmt.Sprintf("... and %d more", len(out)-max))
	}
	return out
}

func (w *Node) diff(g *Node) string {
	var d []string
	if w.Type != g.Type {
		return fmt.Sprintf("type %s, want %s", g.Type, w.Type)
	}
	if w.Type != "symlink" && w.Mode != g.Mode {
		d = append(d, fmt.Sprintf("mode %v, want %v", g.Mode, w.Mode))
	}
	if w.UID != g.UID || w.GID != g.GID {
		d = append(d, fmt.Sprintf("owner %d:%d, want %d:%d", g.UID, g.GID, w.UID, w.GID))
	}
	switch w.Type {
	case "file":
		if w.Size != g.Size {
			d = append(d, fmt.Sprintf("size %d, want %d", g.Size, w.Size))
		} else if w.digest() != g.Digest {
			d = append(d, "content differs")
		}
	case "symlink":
		if w.Target != g.Target {
			d = append(d, fmt.Sprintf("target %q, want %q", g.Target, w.Target))
		}
	}
	if fmt.Sprint(w.Xattrs) != fmt.Sprint(g.Xattrs) {
		d = append(d, fmt.Sprintf("xattrs %v, want %v", g.Xattrs, w.Xattrs))
	}
	return strings.Join(d, "; ")
}

func (w *Node) digest() string {
	if w.Digest == "" && w.entry != nil {
		w.Digest = w.entry.Digest()
	}
	return w.Digest
}
