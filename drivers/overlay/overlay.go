package overlay

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/internal/layerset"
	"github.com/unionbench/unionbench/drivers/internal/overlayhost"
)

// Name is the driver's registered name.
const Name = "overlay"

// DefaultMaxDepth is the deepest stack built unless Options.MaxDepth says
// otherwise. overlayfs's own limit does not apply (a mount always has one
// lower directory), but every image layer is a full tree of directories and
// names, so depth costs inodes and link counts instead; 128 is overlay2's
// limit, which keeps the drivers comparable and fits Docker's 125-layer
// image limit plus a container's two layers.
const DefaultMaxDepth = 128

func init() {
	drivers.Register(drivers.Registration{
		Name:    Name,
		Factory: New,
		Doc:     "root, overlay in /proc/filesystems, a backing filesystem with d_type",
	})
}

// Driver is an overlay driver rooted at one directory.
type Driver struct {
	root     string
	options  []string // the variant's extra mount options
	maxDepth int
	layers   *layerset.Set

	mu     sync.Mutex        // orders Mount, Unmount and Remove
	mounts map[string]string // mounted container layers: id -> merged dir
}

// New checks that overlay runs here, by experiment, and returns a driver
// keeping its layers directly in root, as Docker's /var/lib/docker/overlay.
func New(root string, opts drivers.Options) (drivers.Driver, error) {
	name := drivers.Variant{Driver: Name, Options: opts.MountOptions}.String()
	if err := overlayhost.CheckOptions(name, opts.MountOptions); err != nil {
		return nil, err
	}
	max, err := drivers.DepthLimit(name, opts.MaxDepth, DefaultMaxDepth, drivers.Unbounded, "this driver's own limit: a mount has one lower, whatever the depth")
	if err != nil {
		return nil, err
	}
	if err := overlayhost.Check(Name, root, "overlay", rootDirMode); err != nil {
		return nil, err
	}
	if err := probe(root, opts.MountOptions); err != nil {
		return nil, err
	}
	return &Driver{
		root:     root,
		options:  append([]string(nil), opts.MountOptions...),
		maxDepth: max,
		layers:   layerset.New(name),
		mounts:   map[string]string{},
	}, nil
}

// Name is "overlay", plus the variant's mount options.
func (d *Driver) Name() string {
	return drivers.Variant{Driver: Name, Options: d.options}.String()
}

func (d *Driver) Root() string  { return d.root }
func (d *Driver) MaxDepth() int { return d.maxDepth }

func (d *Driver) dir(id string) string { return filepath.Join(d.root, id) }

// Depth returns how many layers are stacked under and including id, image
// layers and container layers alike.
func (d *Driver) Depth(id string) (int, error) { return d.layers.Depth(id) }

// Usage counts what the layer's own directories hold: root/ for an image
// layer, upper/, work/ and lower-id for a container (merged/ is a mount
// point; counting through it would count the whole image).
//
// A file an image layer shares with its parent is one inode under both
// roots, so it counts in the usage of every layer whose tree reaches it:
// summing Usage over an image overcounts. What the image really holds is
// the usage of all its roots together (drivers.DirUsage over them), which
// counts each inode once.
func (d *Driver) Usage(id string) (drivers.Usage, error) {
	if err := d.layers.Ready("usage", id); err != nil {
		return drivers.Usage{}, err
	}
	dir := d.dir(id)
	dirs := []string{filepath.Join(dir, "root")}
	if !isImage(dir) {
		dirs = []string{filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "lower-id")}
	}
	u, err := drivers.DirUsage(dirs...)
	if err != nil {
		return u, &drivers.LayerError{Driver: d.Name(), Op: "usage", ID: id, Err: err}
	}
	return u, nil
}

// isImage reports whether the layer in dir is a full tree (root/), as
// Docker decides it: by looking.
func isImage(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, "root"))
	return err == nil
}

// readLowerID reads a container layer's lower-id, which names the image
// layer whose root/ is its lowerdir.
func readLowerID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "lower-id"))
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(b))
	if err := drivers.ValidateID(id); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(dir, "lower-id"), err)
	}
	return id, nil
}
