package vfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/internal/layerset"
	"github.com/unionbench/unionbench/drivers/internal/treecopy"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/layerspec"
)

// Name is the driver's registered name.
const Name = "vfs"

// DefaultMaxDepth is the deepest stack built unless Options.MaxDepth says
// otherwise. vfs has no kernel limit (nothing is stacked at mount time);
// 128 is overlay2's limit, so the drivers are compared at the same depths,
// and Docker's own image limit (125 layers) fits under it with a container.
const DefaultMaxDepth = 128

func init() {
	drivers.Register(drivers.Registration{
		Name:    Name,
		Factory: New,
		Doc:     "root (layers hold other users' files); no mounts, any backing filesystem",
	})
}

// Driver is a vfs driver rooted at one directory.
type Driver struct {
	root     string
	maxDepth int
	layers   *layerset.Set
}

// New returns a vfs driver keeping its layers in root/dir.
func New(root string, opts drivers.Options) (drivers.Driver, error) {
	if err := backing.CheckWorkdir(root); err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	if len(opts.MountOptions) > 0 {
		return nil, fmt.Errorf("%s: mount options %q: vfs mounts nothing", Name, opts.MountOptions)
	}
	max, err := drivers.DepthLimit(Name, opts.MaxDepth, DefaultMaxDepth, drivers.Unbounded, "this driver's own limit: nothing is stacked at mount time")
	if err != nil {
		return nil, err
	}
	if uid := os.Geteuid(); uid != 0 {
		return nil, drivers.NotSupported(Name, "needs root to create files owned by other users (running as uid %d)", uid)
	}
	// Docker 20.10's modes: 0710 for the root and dir/ alike.
	for _, dir := range []string{root, filepath.Join(root, "dir")} {
		if err := os.MkdirAll(dir, 0o710); err != nil {
			return nil, fmt.Errorf("%s: %w", Name, err)
		}
		if err := os.Chmod(dir, 0o710); err != nil {
			return nil, fmt.Errorf("%s: %w", Name, err)
		}
	}
	return &Driver{root: root, maxDepth: max, layers: layerset.New(Name)}, nil
}

func (d *Driver) Name() string  { return Name }
func (d *Driver) Root() string  { return d.root }
func (d *Driver) MaxDepth() int { return d.maxDepth }

// dir is where layer id lives (Docker: /var/lib/docker/vfs/dir/<id>).
func (d *Driver) dir(id string) string { return filepath.Join(d.root, "dir", id) }

// Create makes an image layer: a copy of parent's tree with spec applied.
func (d *Driver) Create(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	return d.create(ctx, id, parent, spec)
}

// CreateReadWrite makes a container layer, which in vfs is the same thing
// as an image layer.
func (d *Driver) CreateReadWrite(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	return d.create(ctx, id, parent, spec)
}

func (d *Driver) create(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	dir := d.dir(id)
	// Docker makes the layer directory 0755 before copying; the copy then
	// gives it the parent's attributes.
	return d.layers.Create(ctx, id, parent, spec, d.maxDepth, dir, 0o755, func(ctx context.Context) error {
		if parent != "" {
			if err := treecopy.Copy(ctx, d.dir(parent), dir, treecopy.Content); err != nil {
				return err
			}
		}
		if spec == nil {
			return nil
		}
		return layerspec.Apply(ctx, dir, spec, layerspec.FlatFormat{}, nil)
	})
}

// Mount returns the layer's directory: a vfs layer is already the whole
// tree. It mounts nothing, so there is nothing to stop, but a done ctx
// still refuses it, as every driver's Mount does.
func (d *Driver) Mount(ctx context.Context, id string) (string, error) {
	if err := d.layers.Ready("mount", id); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", &drivers.LayerError{Driver: Name, Op: "mount", ID: id, Err: err}
	}
	return d.dir(id), nil
}

// Unmount has nothing to undo.
func (d *Driver) Unmount(id string) error { return nil }

// Remove deletes a layer that has no children.
func (d *Driver) Remove(id string) (err error) {
	if err := d.layers.StartRemove(id); err != nil {
		return err
	}
	defer func() { d.layers.EndRemove(id, err == nil) }()
	// Whoever bind-mounted something into the layer must undo it first.
	if err := layerset.RemoveTree(d.dir(id)); err != nil {
		return &drivers.LayerError{Driver: Name, Op: "remove", ID: id, Err: err}
	}
	return nil
}

// Usage counts the layer's directory: in vfs every layer holds its own
// copy of every inode, so nothing is shared with the parent.
func (d *Driver) Usage(id string) (drivers.Usage, error) {
	if err := d.layers.Ready("usage", id); err != nil {
		return drivers.Usage{}, err
	}
	u, err := drivers.DirUsage(d.dir(id))
	if err != nil {
		return u, &drivers.LayerError{Driver: Name, Op: "usage", ID: id, Err: err}
	}
	return u, nil
}

// Depth returns how many layers are stacked under and including id.
func (d *Driver) Depth(id string) (int, error) { return d.layers.Depth(id) }

// Cleanup has nothing to unmount.
func (d *Driver) Cleanup() error { return nil }
