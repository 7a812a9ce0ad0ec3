package overlay

import (
	"context"
	"os"
	"path/filepath"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/internal/layerset"
	"github.com/unionbench/unionbench/drivers/internal/treecopy"
	"github.com/unionbench/unionbench/layerspec"
)

// Modes Docker 20.10's overlay driver gives what it creates (moby
// daemon/graphdriver/overlay; checked against a real dockerd by
// tests/dockerparity).
const (
	rootDirMode   = 0o710 // the driver root, Docker's /var/lib/docker/overlay
	layerDirMode  = 0o710 // <id>/
	baseRootMode  = 0o755 // a base layer's root/, readable by a container's users
	workDirMode   = 0o700 // <id>/work
	mergedDirMode = 0o700 // <id>/merged, made by Mount, removed by Unmount
	lowerIDMode   = 0o600 // <id>/lower-id
)

// Create makes an image layer. On an image layer (or none) it is a full
// tree; on a container layer, Docker's overlay driver has no tree to link
// to and makes another container-style layer, and so does this one.
func (d *Driver) Create(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	return d.create(ctx, id, parent, spec, false)
}

// CreateReadWrite makes a container layer (init or writable): an empty
// upper on an image layer, or a copy of the parent's upper on a container
// layer.
func (d *Driver) CreateReadWrite(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	return d.create(ctx, id, parent, spec, true)
}

func (d *Driver) create(ctx context.Context, id, parent string, spec *layerspec.Layer, rw bool) error {
	dir := d.dir(id)
	return d.layers.Create(ctx, id, parent, spec, d.maxDepth, dir, layerDirMode, func(ctx context.Context) error {
		switch pdir := d.dir(parent); {
		case parent == "":
			return createBase(ctx, dir, spec)
		case isImage(pdir) && !rw:
			return createImage(ctx, dir, pdir, spec)
		case isImage(pdir):
			return d.createContainer(ctx, dir, parent, "", spec)
		default:
			lowerID, err := readLowerID(pdir)
			if err != nil {
				return err
			}
			return d.createContainer(ctx, dir, lowerID, filepath.Join(pdir, "upper"), spec)
		}
	})
}

// createBase makes a base image layer: root/ with spec applied.
func createBase(ctx context.Context, dir string, spec *layerspec.Layer) error {
	root := filepath.Join(dir, "root")
	if err := mkdir(root, baseRootMode); err != nil {
		return err
	}
	return apply(ctx, root, spec, layerspec.FlatFormat{}, nil)
}

// createImage makes an image layer on the image layer in pdir: a copy of
// the parent's root/ whose files are hard links to the parent's, with spec
// applied. As Docker does, the tree is built under another name and renamed
// to root/ when complete, so a root/ is always a whole layer.
func createImage(ctx context.Context, dir, pdir string, spec *layerspec.Layer) error {
	tmp := filepath.Join(dir, "tmproot")
	if err := treecopy.Copy(ctx, filepath.Join(pdir, "root"), tmp, treecopy.Hardlink); err != nil {
		return err
	}
	// FlatFormat unlinks every name it replaces before writing, so no
	// write goes through an inode the parent shares.
	if err := apply(ctx, tmp, spec, layerspec.FlatFormat{}, nil); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "root"))
}

// createContainer makes a container layer on the image layer lowerID:
// lower-id, upper/ (a content copy of copyUpper if set, else empty with the
// mode of the image's root) and work/; spec is applied to upper/ in
// overlay's own format. merged/ exists only while mounted, as in Docker.
func (d *Driver) createContainer(ctx context.Context, dir, lowerID, copyUpper string, spec *layerspec.Layer) error {
	lowerRoot := filepath.Join(d.dir(lowerID), "root")
	upper := filepath.Join(dir, "upper")
	if copyUpper != "" {
		// Real copies: the parent's upper may still change (an init layer
		// is mounted and written to), and whiteouts and opaque xattrs
		// come along, so the container sees what its parent saw.
		if err := treecopy.Copy(ctx, copyUpper, upper, treecopy.Content); err != nil {
			return err
		}
	} else {
		fi, err := os.Stat(lowerRoot)
		if err != nil {
			return err
		}
		if err := mkdir(upper, uint32(fi.Mode().Perm())); err != nil {
			return err
		}
	}
	if err := mkdir(filepath.Join(dir, "work"), workDirMode); err != nil {
		return err
	}
	// No trailing newline: Docker writes the bare id and reads it back
	// as a path component.
	if err := writeFile(filepath.Join(dir, "lower-id"), []byte(lowerID), lowerIDMode); err != nil {
		return err
	}
	return apply(ctx, upper, spec, layerspec.OverlayFormat{}, []string{lowerRoot})
}

func apply(ctx context.Context, dir string, spec *layerspec.Layer, f layerspec.WhiteoutFormat, lowers []string) error {
	if spec == nil {
		return nil
	}
	return layerspec.Apply(ctx, dir, spec, f, lowers)
}

// mkdir makes a directory with exactly mode, whatever the umask.
func mkdir(p string, mode uint32) error {
	if err := os.Mkdir(p, os.FileMode(mode)); err != nil {
		return err
	}
	return os.Chmod(p, os.FileMode(mode))
}

func writeFile(p string, data []byte, mode uint32) error {
	if err := os.WriteFile(p, data, os.FileMode(mode)); err != nil {
		return err
	}
	return os.Chmod(p, os.FileMode(mode))
}

// Remove deletes a layer that has no children, unmounting it first.
func (d *Driver) Remove(id string) (err error) {
	d.mu.Lock()
	if err := d.layers.StartRemove(id); err != nil {
		d.mu.Unlock()
		return err
	}
	err = d.unmountLocked(id)
	d.mu.Unlock()
	defer func() { d.layers.EndRemove(id, err == nil) }()
	if err != nil {
		return err
	}
	// RemoveTree refuses while anything is still mounted on merged/ (or
	// anywhere else in the layer), so a failed unmount cannot turn into a
	// deleted lower layer.
	if err := layerset.RemoveTree(d.dir(id)); err != nil {
		return &drivers.LayerError{Driver: d.Name(), Op: "remove", ID: id, Err: err}
	}
	return nil
}
