package overlay2

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/layerspec"
)

// Config is what distinguishes one driver on the overlay2 layout from
// another: the kernel's overlay (this package) and the fuse-overlayfs
// program (package fuseoverlayfs) differ only in these.
type Config struct {
	// Name is the variant name used in results and errors.
	Name string
	// Format writes whiteouts and opaque directories into diff/.
	Format layerspec.WhiteoutFormat
	// WorkMode is the mode of a layer's work/ directory.
	WorkMode fs.FileMode
	// MaxDepth is the deepest stack in layers (lowers + 1).
	MaxDepth int
	// Options go into every mount's data before the layer directories.
	Options []string
	// Mount mounts spec on spec.Target; Unmount is always umount(2).
	Mount func(spec MountSpec) error
	// Unmounted, if set, runs after this driver has unmounted layer id.
	Unmounted func(l Layout, id string) error
}

// Driver is a drivers.Driver on Docker's overlay2 layout.
type Driver struct {
	cfg    Config
	layout Layout

	mu      sync.Mutex
	mounted map[string]string // id -> merged dir, for what this driver mounted
}

var _ drivers.Driver = (*Driver)(nil)

// NewDriver makes a driver on root, creating root and root/l. It checks
// nothing about the host: factories do that first (overlayhost.Check, ProbeMount).
func NewDriver(root string, cfg Config) (*Driver, error) {
	l := Layout{Root: root, WorkMode: cfg.WorkMode}
	if err := l.Init(); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Name, err)
	}
	return &Driver{cfg: cfg, layout: l, mounted: map[string]string{}}, nil
}

func (d *Driver) Name() string   { return d.cfg.Name }
func (d *Driver) Root() string   { return d.layout.Root }
func (d *Driver) MaxDepth() int  { return d.cfg.MaxDepth }
func (d *Driver) Layout() Layout { return d.layout }

func (d *Driver) Create(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	return d.create(ctx, id, parent, spec)
}

// CreateReadWrite is Create: in overlay2 an image layer and a container
// layer look the same until a child makes the former committed.
func (d *Driver) CreateReadWrite(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	return d.create(ctx, id, parent, spec)
}

// layerErr is the *drivers.LayerError of op on layer id.
func (d *Driver) layerErr(op, id string, err error) error {
	return &drivers.LayerError{Driver: d.cfg.Name, Op: op, ID: id, Err: err}
}

// known checks that id is a valid id of a layer in the layout, or returns
// the error op fails with.
func (d *Driver) known(op, id string) error {
	if err := drivers.ValidateID(id); err != nil {
		return fmt.Errorf("%s: %w", d.cfg.Name, err)
	}
	if !d.layout.Exists(id) {
		return d.layerErr(op, id, fmt.Errorf("%w (no %s)", drivers.ErrUnknownLayer, d.layout.Dir(id)))
	}
	return nil
}

func (d *Driver) create(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	if err := drivers.ValidateID(id); err != nil {
		return fmt.Errorf("%s: %w", d.cfg.Name, err)
	}
	if parent != "" {
		if err := drivers.ValidateID(parent); err != nil {
			return fmt.Errorf("%s: parent: %w", d.cfg.Name, err)
		}
	}
	// The layer's directories and lower file are made under the lock, so
	// that a concurrent Remove of the parent sees the child; the spec,
	// which may be large, is applied outside it.
	if err := ctx.Err(); err != nil {
		return d.layerErr("create", id, err)
	}
	if err := d.makeLayer(id, parent); err != nil {
		return err
	}
	var err error
	if spec != nil {
		var lowers []string
		if lowers, err = d.layout.LowerDirs(id); err == nil {
			err = layerspec.Apply(ctx, d.layout.Path(id, DiffDir), spec, d.cfg.Format, lowers)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil && parent != "" {
		if err = d.layout.Commit(parent); err != nil {
			err = fmt.Errorf("commit parent %s: %w", parent, err)
		}
	}
	if err != nil {
		return errors.Join(d.layerErr("create", id, err), d.layout.Remove(id))
	}
	return nil
}

// makeLayer checks the depth limit and creates the layer's directories.
func (d *Driver) makeLayer(id, parent string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	depth := 1
	if parent != "" {
		if !d.layout.Exists(parent) {
			return drivers.UnknownParent(d.cfg.Name, id, parent)
		}
		pdepth, err := d.layout.Depth(parent)
		if err != nil {
			return d.layerErr("create", id, fmt.Errorf("parent: %w", err))
		}
		depth = pdepth + 1
	}
	if depth > d.cfg.MaxDepth {
		return &drivers.DepthError{Driver: d.cfg.Name, Depth: depth, Max: d.cfg.MaxDepth}
	}
	if err := d.layout.Create(id, parent); err != nil {
		return d.layerErr("create", id, err)
	}
	return nil
}

// MountSpec is the mount Mount would make for layer id, or ok=false for a
// base layer, which Docker does not mount (its diff is the whole view).
// A committed layer is mounted read-only, as Docker does: its own diff
// becomes the top lowerdir and there is no upperdir.
func (d *Driver) MountSpec(id string) (spec MountSpec, ok bool, err error) {
	lowers, err := d.layout.Lowers(id)
	if err != nil || len(lowers) == 0 {
		return MountSpec{}, false, err
	}
	spec = MountSpec{
		Root:    d.layout.Root,
		Options: d.cfg.Options,
		Lowers:  lowers,
		Upper:   filepath.Join(id, DiffDir),
		Work:    filepath.Join(id, WorkDir),
		Target:  filepath.Join(id, MergedDir),
	}
	if d.layout.Committed(id) {
		spec.Lowers = append([]string{spec.Upper}, lowers...)
		spec.Upper, spec.Work = "", ""
	}
	return spec, true, nil
}

// Mount mounts layer id on <id>/merged, which it creates (0700). A layer
// this driver has mounted is not mounted again: the same directory comes
// back. There is no reference count (Docker's Get/Put has one): one
// Unmount undoes any number of Mounts. A done ctx refuses the mount, which
// is one call that cannot be stopped half-way.
func (d *Driver) Mount(ctx context.Context, id string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.known("mount", id); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", d.layerErr("mount", id, err)
	}
	if dir, ok := d.mounted[id]; ok {
		return dir, nil
	}
	spec, ok, err := d.MountSpec(id)
	if err != nil {
		return "", d.layerErr("mount", id, err)
	}
	if !ok {
		return d.layout.Path(id, DiffDir), nil
	}
	merged := spec.Abs(spec.Target)
	if err := mkdirMode(merged, 0o700, true); err != nil {
		return "", d.layerErr("mount", id, err)
	}
	if err := d.cfg.Mount(spec); err != nil {
		return "", errors.Join(d.layerErr("mount", id, err), removeMountPoint(merged))
	}
	d.mounted[id] = merged
	return merged, nil
}

func (d *Driver) Unmount(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.known("unmount", id); err != nil {
		return err
	}
	return d.unmount(id)
}

// unmount unmounts layer id (d.mu held) and, like Docker's Put, removes the
// merged directory, which exists only while a layer is mounted.
func (d *Driver) unmount(id string) error {
	merged := d.layout.Path(id, MergedDir)
	if !exists(merged) {
		delete(d.mounted, id)
		return nil // never mounted (or a base layer, which is not)
	}
	if err := mountutil.Unmount(merged); err != nil {
		return d.layerErr("unmount", id, err)
	}
	_, wasMounted := d.mounted[id]
	delete(d.mounted, id)
	if err := removeMountPoint(merged); err != nil {
		return d.layerErr("unmount", id, err)
	}
	if wasMounted && d.cfg.Unmounted != nil {
		if err := d.cfg.Unmounted(d.layout, id); err != nil {
			return d.layerErr("unmount", id, err)
		}
	}
	return nil
}

// removeMountPoint removes an empty mount point; os.Remove, never RemoveAll,
// so a mount that is somehow still there is never deleted through.
func removeMountPoint(dir string) error {
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (d *Driver) Remove(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.known("remove", id); err != nil {
		return err
	}
	kids, err := d.layout.Children(id)
	if err != nil {
		return d.layerErr("remove", id, err)
	}
	if len(kids) > 0 {
		slices.Sort(kids)
		return d.layerErr("remove", id, fmt.Errorf("%w: %s built on it", drivers.ErrLayerHasChildren, strings.Join(kids, ", ")))
	}
	if err := d.unmount(id); err != nil {
		return err
	}
	if err := d.layout.Remove(id); err != nil {
		return d.layerErr("remove", id, err)
	}
	return nil
}

// Usage counts the layer's directory, diff/, work/, its link and lower
// files and its l/ symlink. It leaves out committed, which Docker writes
// into a layer when a child is created on it, so that building on a layer
// does not change what the layer holds, and merged/, which exists only
// while mounted and whose contents are the union, not the layer.
func (d *Driver) Usage(id string) (drivers.Usage, error) {
	if err := d.known("usage", id); err != nil {
		return drivers.Usage{}, err
	}
	link, err := d.layout.Link(id)
	if err != nil {
		return drivers.Usage{}, d.layerErr("usage", id, err)
	}
	paths := []string{filepath.Join(d.layout.Root, LinkDir, link)}
	for _, name := range []string{DiffDir, WorkDir, LinkFile, LowerFile} {
		if p := d.layout.Path(id, name); exists(p) {
			paths = append(paths, p)
		}
	}
	u, err := drivers.DirUsage(paths...)
	if err != nil {
		return u, d.layerErr("usage", id, err)
	}
	// The layer's own directory inode, without walking into merged/.
	var st unix.Stat_t
	if err := unix.Lstat(d.layout.Dir(id), &st); err != nil {
		return u, d.layerErr("usage", id, &os.PathError{Op: "lstat", Path: d.layout.Dir(id), Err: err})
	}
	u.Inodes++
	u.Bytes += st.Blocks * 512
	return u, nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func (d *Driver) Depth(id string) (int, error) {
	if err := d.known("depth", id); err != nil {
		return 0, err
	}
	n, err := d.layout.Depth(id)
	if err != nil {
		return 0, d.layerErr("depth", id, err)
	}
	return n, nil
}

// Cleanup unmounts every layer this driver mounted.
func (d *Driver) Cleanup() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(d.mounted)) {
		errs = append(errs, d.unmount(id))
	}
	return errors.Join(errs...)
}
