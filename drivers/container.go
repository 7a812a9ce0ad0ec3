package drivers

import (
	"context"
	"errors"

	"github.com/unionbench/unionbench/layerspec"
)

// InitID is the name Docker gives a container's init layer.
func InitID(container string) string { return container + "-init" }

// NewContainer creates a container the way Docker does: an init layer holding
// the files the runtime bind-mounts over (etc/hosts, .dockerenv, ...) on the
// image's top layer, and the container's writable layer on the init layer.
// It does not mount it. A failure (or ctx ending) leaves no layer behind.
func NewContainer(ctx context.Context, d Driver, id, image string) error {
	if err := d.CreateReadWrite(ctx, InitID(id), image, layerspec.DockerInit()); err != nil {
		return err
	}
	if err := d.CreateReadWrite(ctx, id, InitID(id), nil); err != nil {
		return errors.Join(err, d.Remove(InitID(id)))
	}
	return nil
}

// RemoveContainer unmounts and removes a container's two layers.
func RemoveContainer(d Driver, id string) error {
	return errors.Join(d.Remove(id), d.Remove(InitID(id)))
}
