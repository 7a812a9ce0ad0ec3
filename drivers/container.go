package drivers

import (
	"context"
	"errors"
)

// InitID is the name Docker gives a container's init layer.
func InitID(container string) string { return container + "-init" }

// NewContainer creates a container the way Docker's layer store does: an
// init layer on the image's top layer, mounted once for SetupInitLayer to
// make the files the runtime bind-mounts over (etc/hosts, .dockerenv, ...)
// through the union, as Docker's initlayer.Setup does, and the container's
// writable layer on the init layer. It does not mount the writable layer
// (Docker's daemon does once at create, for volumes and the working
// directory: that is not the driver's part). A failure (or ctx ending)
// leaves no layer behind.
//
// For an image that has none of the init layer's paths, the container's
// view is the image with layerspec.DockerInit() on top.
func NewContainer(ctx context.Context, d Driver, id, image string) error {
	initID := InitID(id)
	if err := d.CreateReadWrite(ctx, initID, image, nil); err != nil {
		return err
	}
	if err := setupInit(ctx, d, initID); err != nil {
		return errors.Join(err, d.Remove(initID))
	}
	if err := d.CreateReadWrite(ctx, id, initID, nil); err != nil {
		return errors.Join(err, d.Remove(initID))
	}
	return nil
}

// setupInit mounts the init layer, sets it up and unmounts it.
func setupInit(ctx context.Context, d Driver, initID string) error {
	dir, err := d.Mount(ctx, initID)
	if err != nil {
		return err
	}
	if err := SetupInitLayer(dir); err != nil {
		return errors.Join(&LayerError{Driver: d.Name(), Op: "create", ID: initID, Err: err}, d.Unmount(initID))
	}
	return d.Unmount(initID)
}

// RemoveContainer unmounts and removes a container's two layers.
func RemoveContainer(d Driver, id string) error {
	return errors.Join(d.Remove(id), d.Remove(InitID(id)))
}
