package aufs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/unionbench/unionbench/drivers"
)

// The driver root holds three directories, as Docker's aufs driver lays
// them out: diff/<id> is the layer's own content (an aufs branch),
// layers/<id> lists its parent chain, and mnt/<id> is where the union is
// mounted.
const (
	diffDir   = "diff"
	layersDir = "layers"
	mntDir    = "mnt"
)

func (d *Driver) diffPath(id string) string   { return filepath.Join(d.root, diffDir, id) }
func (d *Driver) layersPath(id string) string { return filepath.Join(d.root, layersDir, id) }
func (d *Driver) mntPath(id string) string    { return filepath.Join(d.root, mntDir, id) }

// unsafeInBranch are the characters aufs's option syntax gives a meaning
// to: ',' separates options, ':' branches, and the first '=' ends a
// branch's path and starts its permission.
const unsafeInBranch = ",:="

// branchPath is how mount data names layer id's diff directory: by its
// absolute path, as Docker does, unless the root's path holds a character
// aufs would misparse (Go's test directories are named after subtests,
// "backing=tmpfs"); then relative to the root, and the mount calls run
// with their working directory there (mountutil.MountAt), which is where
// aufs resolves a relative branch.
func (d *Driver) branchPath(id string) string {
	if d.branchDir == "" {
		return d.diffPath(id)
	}
	return filepath.Join(diffDir, id)
}

// layersFile is the content of layers/<id> for a layer on parent whose own
// chain is parentChain: the parent, then the parent's chain, one id a line,
// each line ending in a newline (Docker writes them with Fprintln). A base
// layer's file is empty. The whole chain is in every file so that mounting
// reads one file, not one per layer.
func layersFile(parent string, parentChain []string) []byte {
	if parent == "" {
		return nil
	}
	var b bytes.Buffer
	for _, id := range append([]string{parent}, parentChain...) {
		b.WriteString(id + "\n")
	}
	return b.Bytes()
}

// chain reads layers/<id>: the layer's parents, nearest first. Empty lines
// are skipped, as Docker does. A missing file means there is no such layer.
func (d *Driver) chain(id string) ([]string, error) {
	data, err := os.ReadFile(d.layersPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (no %s)", drivers.ErrUnknownLayer, d.layersPath(id))
	}
	if err != nil {
		return nil, fmt.Errorf("layer %q: %w", id, err)
	}
	var ids []string
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" {
			ids = append(ids, line)
		}
	}
	return ids, nil
}

// children lists the layers whose nearest parent is id.
func (d *Driver) children(id string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(d.root, layersDir))
	if err != nil {
		return nil, fmt.Errorf("%s: list layers: %w", Name, err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() == id {
			continue
		}
		parents, err := d.chain(e.Name())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Name, err)
		}
		if len(parents) > 0 && parents[0] == id {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// mkdirMode makes a directory with exactly mode, whatever the umask, so the
// layout is the same on every host.
func mkdirMode(p string, mode fs.FileMode) error {
	if err := os.Mkdir(p, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// writeNew writes a file that must not exist yet, with exactly mode.
func writeNew(p string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	return errors.Join(err, f.Close())
}
