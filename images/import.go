package images

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/layerspec"
)

// LayerID is the id the image's layer i gets in a driver when imported
// under prefix.
func LayerID(prefix string, i int) string { return fmt.Sprintf("%s-l%03d", prefix, i) }

// Import creates the image's layers in d, bottom first, each applied from
// its own tar stream in the driver's format (as Docker's pull does), and
// returns the id of the top layer. Layer i is named LayerID(prefix, i).
// On failure the layers it made are removed again and the error names
// the image file, the layer and, for a bad entry, the entry.
func (im *Image) Import(ctx context.Context, d drivers.Driver, prefix string) (string, error) {
	ids := make([]string, len(im.Layers))
	for i := range ids {
		ids[i] = LayerID(prefix, i)
	}
	return im.ImportIDs(ctx, d, ids)
}

// ImportIDs is Import with every layer's id given, ids[i] naming layer i:
// for a caller whose ids must match another store's, such as the parity
// test making the layers under Docker's cache ids. Remove does not know
// these ids; remove the layers with d.Remove, top first.
func (im *Image) ImportIDs(ctx context.Context, d drivers.Driver, ids []string) (string, error) {
	if len(ids) != len(im.Layers) {
		return "", fmt.Errorf("import %s into %s: %d layer ids for %d layers", im.Path, d.Name(), len(ids), len(im.Layers))
	}
	parent := ""
	var made []string
	for i := range im.Layers {
		l := &im.Layers[i]
		if err := importLayer(ctx, d, l, ids[i], parent); err != nil {
			var errs []error
			for j := len(made) - 1; j >= 0; j-- {
				errs = append(errs, d.Remove(made[j]))
			}
			return "", errors.Join(append([]error{err}, errs...)...)
		}
		made = append(made, ids[i])
		parent = ids[i]
	}
	return parent, nil
}

func importLayer(ctx context.Context, d drivers.Driver, l *Layer, id, parent string) error {
	rc, err := l.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := d.Create(ctx, id, parent, layerspec.FromTar(l.Name(), rc)); err != nil {
		return fmt.Errorf("import into %s as %s: %w", d.Name(), id, err)
	}
	return nil
}

// Remove removes the layers Import made under prefix, top first.
func (im *Image) Remove(d drivers.Driver, prefix string) error {
	var errs []error
	for i := len(im.Layers) - 1; i >= 0; i-- {
		errs = append(errs, d.Remove(LayerID(prefix, i)))
	}
	return errors.Join(errs...)
}

// IsBadInput reports whether err is a refusal of the image's own content
// (exit code 2 in the CLI) rather than a failure of the host.
func IsBadInput(err error) bool {
	return errors.Is(err, ErrBadImage) || errors.Is(err, layerspec.ErrCorrupt) || errors.Is(err, layerspec.ErrEscape)
}

// ExtractFlat applies every layer into the directory dir, deletions
// applied for real: the tree a container of the image shows, and the
// floor the image scenarios compare drivers with.
func (im *Image) ExtractFlat(ctx context.Context, dir string) error {
	for i := range im.Layers {
		rc, err := im.Layers[i].Open()
		if err != nil {
			return err
		}
		err = layerspec.Apply(ctx, dir, layerspec.FromTar(im.Layers[i].Name(), rc), layerspec.FlatFormat{}, nil)
		rc.Close()
		if err != nil {
			return fmt.Errorf("extract into %s: %w", dir, err)
		}
	}
	return nil
}

// Verify extracts the image into a new directory under tmp, runs check
// (if not nil) on the extracted tree, and removes it again: every digest
// is checked and every entry applied as a driver would, so bad input is
// found before any driver work, and the uncompressed size is known.
func (im *Image) Verify(ctx context.Context, tmp string, check func(root string) error) error {
	dir, err := os.MkdirTemp(tmp, "verify-")
	if err != nil {
		return err
	}
	err = im.ExtractFlat(ctx, dir)
	if err == nil && check != nil {
		err = check(dir)
	}
	return errors.Join(err, os.RemoveAll(dir))
}

// HasProgram checks that the tree root holds an executable regular file
// at p, resolving symlinks as a process chrooted into root would.
func HasProgram(root, p string) error {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rfd)
	fd, err := unix.Openat2(rfd, p, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return fmt.Errorf("program %s: %w", p, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("program %s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&0o111 == 0 {
		return fmt.Errorf("program %s: not an executable file (mode %#o)", p, st.Mode)
	}
	return nil
}
