package overlay

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/mountutil"
)

// Mount returns an image layer's root/ as it is, and mounts a container
// layer's overlay on its merged/, which it creates (Docker's Get does).
func (d *Driver) Mount(ctx context.Context, id string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.layers.Ready("mount", id); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", &drivers.LayerError{Driver: d.Name(), Op: "mount", ID: id, Err: err}
	}
	if merged, ok := d.mounts[id]; ok {
		return merged, nil
	}
	dir := d.dir(id)
	if isImage(dir) {
		return filepath.Join(dir, "root"), nil
	}
	lowerID, err := readLowerID(dir)
	if err != nil {
		return "", &drivers.LayerError{Driver: d.Name(), Op: "mount", ID: id, Err: err}
	}
	merged := filepath.Join(dir, "merged")
	if err := mkdir(merged, mergedDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", &drivers.LayerError{Driver: d.Name(), Op: "mount", ID: id, Err: err}
	}
	data := mountData(d.root, lowerID, id, d.options)
	if mountutil.DataFits(data) {
		err = mountutil.Mount("overlay", merged, "overlay", 0, data)
	} else {
		// Only a very long root path gets here: paths relative to the
		// root are short whatever the root.
		err = mountutil.MountAt(d.root, "overlay", merged, "overlay", 0, mountData("", lowerID, id, d.options))
	}
	if err != nil {
		return "", errors.Join(&drivers.LayerError{Driver: d.Name(), Op: "mount", ID: id, Err: err}, removeMountPoint(merged))
	}
	d.mounts[id] = merged
	return merged, nil
}

// mountData is the overlay mount data for container layer id on image
// layer lowerID, with paths under root ("" for paths relative to it).
func mountData(root, lowerID, id string, options []string) string {
	opts := []string{
		"lowerdir=" + filepath.Join(root, lowerID, "root"),
		"upperdir=" + filepath.Join(root, id, "upper"),
		"workdir=" + filepath.Join(root, id, "work"),
	}
	return strings.Join(append(opts, options...), ",")
}

// Unmount unmounts a container layer; anything else is not mounted.
func (d *Driver) Unmount(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.unmountLocked(id)
}

func (d *Driver) unmountLocked(id string) error {
	merged, ok := d.mounts[id]
	if !ok {
		return nil
	}
	if err := mountutil.Unmount(merged); err != nil {
		return &drivers.LayerError{Driver: d.Name(), Op: "unmount", ID: id, Err: err}
	}
	delete(d.mounts, id)
	if err := removeMountPoint(merged); err != nil {
		return &drivers.LayerError{Driver: d.Name(), Op: "unmount", ID: id, Err: err}
	}
	return nil
}

// removeMountPoint removes merged/ after an unmount, as Docker's Put does;
// os.Remove, never RemoveAll, so nothing is deleted through a mount that
// is somehow still there.
func removeMountPoint(dir string) error {
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Cleanup unmounts every container this driver mounted.
func (d *Driver) Cleanup() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	ids := make([]string, 0, len(d.mounts))
	for id := range d.mounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		errs = append(errs, d.unmountLocked(id))
	}
	return errors.Join(errs...)
}
