package overlay2

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/mountutil"
)

// Names of the files and directories of Docker's overlay2 layout, as moby's
// daemon/graphdriver/overlay2 names them.
const (
	LinkDir    = "l"         // <root>/l/<short> -> ../<id>/diff
	DiffDir    = "diff"      // the layer's own content, the upperdir
	WorkDir    = "work"      // overlay's workdir; non-base layers only
	MergedDir  = "merged"    // the mount point; exists only while mounted
	LinkFile   = "link"      // the layer's short id
	LowerFile  = "lower"     // "l/<short>:l/<short>...", parent first; non-base layers only
	CommitFile = "committed" // written into a layer when a child is created on it
)

// LinkLength is the length of a short id. Docker chose 26 so that 128
// "l/<short>:" entries (29 bytes each) fit in one page of mount data.
const LinkLength = 26

// Layout is overlay2's on-disk format under one driver root. It only
// creates, reads and removes files; mounting is the driver's business. The
// fuse-overlayfs driver uses the same layout (as Docker's does).
type Layout struct {
	Root string
	// WorkMode is the mode of work/: Docker's overlay2 makes it 0700, its
	// fuse-overlayfs driver 0710.
	WorkMode fs.FileMode
}

// Dir is the layer's directory, <root>/<id>.
func (l Layout) Dir(id string) string { return filepath.Join(l.Root, id) }

// Path is a file or directory of the layer, e.g. Path(id, DiffDir).
func (l Layout) Path(id, name string) string { return filepath.Join(l.Root, id, name) }

// LinkID is the short id of layer id. Docker draws it at random; here it is
// derived from the id (base32 of its SHA-256, Docker's alphabet and
// length) so that every run builds byte-identical trees and tests can
// predict it. Ids are unique within a root, so links are too.
func LinkID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base32.StdEncoding.EncodeToString(sum[:])[:LinkLength]
}

// Init makes the root and its l/ directory with Docker's modes.
func (l Layout) Init() error {
	if err := mkdirMode(l.Root, 0o710, true); err != nil {
		return err
	}
	return mkdirMode(filepath.Join(l.Root, LinkDir), 0o700, true)
}

// Exists reports whether layer id has a directory.
func (l Layout) Exists(id string) bool {
	fi, err := os.Lstat(l.Dir(id))
	return err == nil && fi.IsDir()
}

// Link reads the layer's short id from its link file.
func (l Layout) Link(id string) (string, error) {
	b, err := os.ReadFile(l.Path(id, LinkFile))
	if err != nil {
		return "", fmt.Errorf("layer %s: %w", id, err)
	}
	link := string(b)
	if len(link) != LinkLength || strings.ContainsAny(link, "/.") {
		return "", fmt.Errorf("layer %s: %s holds %q, not a %d-character short id", id, l.Path(id, LinkFile), link, LinkLength)
	}
	return link, nil
}

// Lowers returns the entries of the layer's lower file ("l/<short>"),
// topmost first, or nil for a base layer.
func (l Layout) Lowers(id string) ([]string, error) {
	b, err := os.ReadFile(l.Path(id, LowerFile))
	if errors.Is(err, fs.ErrNotExist) {
		if !l.Exists(id) {
			return nil, fmt.Errorf("layer %s: %w (no %s)", id, drivers.ErrUnknownLayer, l.Dir(id))
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", id, err)
	}
	return strings.Split(string(b), ":"), nil
}

// LowerDirs returns the absolute diff directories below the layer, topmost
// first, resolved through the l/ links.
func (l Layout) LowerDirs(id string) ([]string, error) {
	lowers, err := l.Lowers(id)
	if err != nil {
		return nil, err
	}
	dirs := make([]string, len(lowers))
	for i, lo := range lowers {
		target, err := os.Readlink(filepath.Join(l.Root, lo))
		if err != nil {
			return nil, fmt.Errorf("layer %s: lower %d: %w", id, i, err)
		}
		dirs[i] = filepath.Join(l.Root, LinkDir, target)
	}
	return dirs, nil
}

// Depth is the number of layers in the stack ending at id, id included.
func (l Layout) Depth(id string) (int, error) {
	lowers, err := l.Lowers(id)
	return len(lowers) + 1, err
}

// Committed reports whether a child has been created on the layer.
func (l Layout) Committed(id string) bool {
	_, err := os.Lstat(l.Path(id, CommitFile))
	return err == nil
}

// Children lists the layers whose parent is id: those whose lower file
// starts with id's link.
func (l Layout) Children(id string) ([]string, error) {
	link, err := l.Link(id)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(l.Root)
	if err != nil {
		return nil, err
	}
	var kids []string
	for _, e := range entries {
		if !e.IsDir() || e.Name() == LinkDir {
			continue
		}
		lowers, err := l.Lowers(e.Name())
		if err != nil {
			return nil, err
		}
		if len(lowers) > 0 && lowers[0] == LinkDir+"/"+link {
			kids = append(kids, e.Name())
		}
	}
	return kids, nil
}

// Create makes layer id on parent ("" for a base layer) the way Docker's
// overlay2 create does: <id>/ (0710), diff/ (0755), the link file and the
// l/<short> symlink, and for a non-base layer work/ and the lower file
// (the parent's link, then the parent's lowers). It does not write the
// parent's committed file (Commit does, once the child is complete) and
// does not check depth. On failure nothing of the layer is left.
func (l Layout) Create(id, parent string) (err error) {
	var lowers []string
	if parent != "" {
		plink, err := l.Link(parent)
		if err != nil {
			return err
		}
		plowers, err := l.Lowers(parent)
		if err != nil {
			return err
		}
		lowers = append([]string{LinkDir + "/" + plink}, plowers...)
	}
	dir := l.Dir(id)
	if err := mkdirMode(dir, 0o710, false); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w at %s", drivers.ErrLayerExists, dir)
		}
		return err
	}
	link := LinkID(id)
	linkPath := filepath.Join(l.Root, LinkDir, link)
	madeLink := false
	defer func() {
		if err != nil {
			// A fresh directory with nothing mounted in it.
			err = errors.Join(err, os.RemoveAll(dir))
			if madeLink {
				err = errors.Join(err, os.Remove(linkPath))
			}
		}
	}()
	if err := mkdirMode(filepath.Join(dir, DiffDir), 0o755, false); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join("..", id, DiffDir), linkPath); err != nil {
		return fmt.Errorf("layer %s: short id: %w", id, err)
	}
	madeLink = true
	if err := writeFile(filepath.Join(dir, LinkFile), link, 0o644); err != nil {
		return err
	}
	if parent == "" {
		return nil
	}
	if err := mkdirMode(filepath.Join(dir, WorkDir), l.WorkMode, false); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, LowerFile), strings.Join(lowers, ":"), 0o644)
}

// Commit writes the empty committed file Docker leaves in a layer once a
// child exists on it. Docker mounts a committed layer read-only (its diff
// becomes the top lowerdir, no upperdir).
func (l Layout) Commit(id string) error {
	return writeFile(l.Path(id, CommitFile), "", 0o600)
}

// Remove deletes the layer's directory and its l/ link. The caller must
// have unmounted it: Remove refuses a merged/ that is still a mount point
// rather than delete through it into the lower layers.
func (l Layout) Remove(id string) error {
	dir := l.Dir(id)
	merged := filepath.Join(dir, MergedDir)
	if mounted, err := mountutil.IsMountPoint(merged); err == nil && mounted {
		return fmt.Errorf("layer %s: refusing to remove %s: %s is still mounted", id, dir, merged)
	}
	if err := os.Remove(merged); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("layer %s: %w", id, err)
	}
	if link, err := l.Link(id); err == nil {
		if err := os.Remove(filepath.Join(l.Root, LinkDir, link)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("layer %s: %w", id, err)
		}
	}
	// merged/ is gone, so nothing of ours is mounted below dir.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("layer %s: %w", id, err)
	}
	return nil
}

// mkdirMode makes a directory with exactly mode, whatever the umask.
func mkdirMode(dir string, mode fs.FileMode, existOK bool) error {
	err := os.Mkdir(dir, mode)
	if existOK && errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return os.Chmod(dir, mode)
}

// writeFile writes a small metadata file with exactly mode, whatever the
// umask. Docker writes these without a trailing newline.
func writeFile(name, content string, mode fs.FileMode) error {
	if err := os.WriteFile(name, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(name, mode)
}
