package layerspec

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Kind is what an entry creates.
type Kind string

const (
	File     Kind = "file"
	Dir      Kind = "dir"
	Symlink  Kind = "symlink"
	Hardlink Kind = "hardlink" // Target is a file created earlier in the same layer
	Delete   Kind = "delete"   // a whiteout: hides Path from the layers below
	Opaque   Kind = "opaque"   // a directory that hides the lower layers' contents of Path
)

// Pattern is how a file's content is generated from its seed.
type Pattern string

const (
	Random Pattern = "random" // incompressible bytes from a PRNG seeded with Seed
	Zero   Pattern = "zero"   // all zero bytes (still written, unless Sparse)
	Text   Pattern = "text"   // printable lines, for files people look at
)

// Entry is one thing a layer declares.
type Entry struct {
	Path   string            `json:"path"`
	Kind   Kind              `json:"kind"`
	Mode   fs.FileMode       `json:"mode,omitempty"` // permission and setuid/setgid/sticky bits; 0 means 0644 for files, 0755 for dirs
	UID    int               `json:"uid,omitempty"`
	GID    int               `json:"gid,omitempty"`
	Size   int64             `json:"size,omitempty"`
	Seed   uint64            `json:"seed,omitempty"`
	Fill   Pattern           `json:"fill,omitempty"` // default Random
	Sparse bool              `json:"sparse,omitempty"`
	Target string            `json:"target,omitempty"` // symlink target (any string), or hard link source path
	Xattrs map[string]string `json:"xattrs,omitempty"` // user.* only: trusted.* belongs to the drivers
}

// Layer is an ordered list of entries; later entries win over earlier ones
// for the same path.
type Layer struct {
	Entries []Entry `json:"entries"`

	tar *tarSource // set by FromTar: the layer is this stream, not Entries
}

// Perm returns the mode an entry is created with.
func (e *Entry) Perm() fs.FileMode {
	if e.Mode != 0 {
		return e.Mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	}
	if e.Kind == Dir || e.Kind == Opaque {
		return 0o755
	}
	return 0o644
}

// MaxFileSize bounds declared file sizes (1 TiB) so a typo cannot fill a disk
// before anything else checks.
const MaxFileSize = 1 << 40

// CheckPath validates one spec path: relative, clean, no "..", no empty or
// "." components, and no component that the drivers reserve (".wh." names
// are aufs whiteouts and would be misread by aufs).
func CheckPath(p string) error {
	switch {
	case p == "" || p == ".":
		return fmt.Errorf("empty path: want a relative path such as etc/hosts")
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("absolute path %q: want a path relative to the layer root", p)
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("path %q contains a NUL byte", p)
	case path.Clean(p) != p:
		return fmt.Errorf("path %q is not clean (want %q)", p, path.Clean(p))
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return fmt.Errorf("path %q escapes the layer with \"..\"", p)
		}
		if strings.HasPrefix(c, ".wh.") {
			return fmt.Errorf("path %q uses the reserved aufs whiteout prefix .wh.", p)
		}
		if len(c) > 255 {
			return fmt.Errorf("path %q has a component longer than 255 bytes", p)
		}
	}
	return nil
}

// Validate checks every entry; it is what Apply relies on.
func (l *Layer) Validate() error {
	if l.tar != nil {
		if len(l.Entries) > 0 {
			return fmt.Errorf("a layer read from a tar stream (%s) cannot also declare entries", l.tar.name)
		}
		return nil // checked entry by entry as the stream is applied
	}
	files := map[string]bool{}
	// nondir holds the names this layer has made files, symlinks or hard
	// links (and not replaced since): an entry below one of them is a path
	// through a symlink (or a file), which Apply would never follow but a
	// tar extractor might; it is refused rather than reinterpreted.
	nondir := map[string]Kind{}
	for i := range l.Entries {
		e := &l.Entries[i]
		if err := CheckPath(e.Path); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		for dir := path.Dir(e.Path); dir != "."; dir = path.Dir(dir) {
			if k, ok := nondir[dir]; ok {
				return fmt.Errorf("entry %d (%s): %s is a %s made earlier in this layer, not a directory: refusing a path through it", i, e.Path, dir, k)
			}
		}
		if e.UID < 0 || e.GID < 0 || e.UID > 1<<31 || e.GID > 1<<31 {
			return fmt.Errorf("entry %d (%s): uid/gid %d/%d out of range 0..2^31", i, e.Path, e.UID, e.GID)
		}
		if e.Mode&^(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			return fmt.Errorf("entry %d (%s): mode %v has type bits: the kind says the type", i, e.Path, e.Mode)
		}
		for k := range e.Xattrs {
			if !strings.HasPrefix(k, "user.") || len(k) <= len("user.") {
				return fmt.Errorf("entry %d (%s): xattr %q: only user.* xattrs may be declared", i, e.Path, k)
			}
		}
		switch e.Kind {
		case File:
			if e.Size < 0 || e.Size > MaxFileSize {
				return fmt.Errorf("entry %d (%s): size %d out of range 0..1TiB", i, e.Path, e.Size)
			}
			switch e.Fill {
			case "", Random, Zero, Text:
			default:
				return fmt.Errorf("entry %d (%s): fill %q: want random, zero or text", i, e.Path, e.Fill)
			}
			files[e.Path] = true
		case Dir, Opaque, Delete:
		case Symlink:
			if e.Target == "" || strings.ContainsRune(e.Target, 0) {
				return fmt.Errorf("entry %d (%s): symlink needs a non-empty target", i, e.Path)
			}
		case Hardlink:
			if err := CheckPath(e.Target); err != nil {
				return fmt.Errorf("entry %d (%s): hard link target: %w", i, e.Path, err)
			}
			if !files[e.Target] {
				return fmt.Errorf("entry %d (%s): hard link target %q is not a file created earlier in this layer", i, e.Path, e.Target)
			}
			files[e.Path] = true
		default:
			return fmt.Errorf("entry %d (%s): unknown kind %q: want file, dir, symlink, hardlink, delete or opaque", i, e.Path, e.Kind)
		}
		if e.Kind != File && e.Kind != Hardlink {
			// A later entry replacing a file breaks hard links to that name.
			delete(files, e.Path)
		}
		switch e.Kind {
		case File, Symlink, Hardlink:
			nondir[e.Path] = e.Kind
		default:
			// A directory replaces the name; a deletion removes it and
			// everything below.
			for p := range nondir {
				if p == e.Path || strings.HasPrefix(p, e.Path+"/") {
					delete(nondir, p)
				}
			}
		}
	}
	return nil
}

// Parse reads a layer spec in JSON ({"entries":[...]}) and validates it.
func Parse(r io.Reader) (*Layer, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var l Layer
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("layer spec: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("layer spec: trailing data after the JSON object")
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("layer spec: %w", err)
	}
	return &l, nil
}

// DockerInit is the init layer Docker creates under every container: the
// mount points and files the runtime bind-mounts over.
func DockerInit() *Layer {
	return &Layer{Entries: []Entry{
		{Path: "dev", Kind: Dir},
		{Path: "dev/pts", Kind: Dir},
		{Path: "dev/shm", Kind: Dir},
		{Path: "dev/console", Kind: File, Mode: 0o755},
		{Path: "proc", Kind: Dir},
		{Path: "sys", Kind: Dir},
		{Path: "etc", Kind: Dir},
		{Path: "etc/hosts", Kind: File, Mode: 0o755},
		{Path: "etc/hostname", Kind: File, Mode: 0o755},
		{Path: "etc/resolv.conf", Kind: File, Mode: 0o755},
		{Path: "etc/mtab", Kind: Symlink, Target: "/proc/mounts"},
		{Path: ".dockerenv", Kind: File, Mode: 0o755},
	}}
}
