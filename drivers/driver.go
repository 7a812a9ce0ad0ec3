package drivers

import (
	"context"
	"fmt"
	"regexp"

	"github.com/unionbench/unionbench/layerspec"
)

// Driver is one storage driver rooted at one directory. Layers are named by
// the caller; a layer is either a read-only image layer (Create) or a
// read-write container layer (CreateReadWrite), as in Docker's graphdriver.
//
// Lifecycle of a container on an image whose top layer is "img":
//
//	d.CreateReadWrite(ctx, "c-init", "img", nil)
//	dir, _ := d.Mount(ctx, "c-init"); SetupInitLayer(dir); d.Unmount("c-init")
//	d.CreateReadWrite(ctx, "c", "c-init", nil)
//	dir, _ := d.Mount(ctx, "c")   // the merged view
//	...
//	d.Unmount("c")
//	d.Remove("c"); d.Remove("c-init")
//
// NewContainer and RemoveContainer do exactly that.
//
// The operations that can take long (building a layer, which writes or
// copies whole trees, and mounting) take a context: once it is done they
// stop at the next file or chunk of file data, undo what they made (a
// cancelled Create leaves no layer, a cancelled Mount no mount) and return
// an error wrapping ctx.Err(). Unmount, Remove and Cleanup take none: they
// are what a cancelled caller runs to clean up.
//
// Errors about layers are *LayerError values matching ErrUnknownLayer,
// ErrLayerExists, ErrLayerHasChildren or ErrLayerBusy; a layer too deep is
// a *DepthError.
type Driver interface {
	// Name is the variant name used in results, e.g. "overlay2" or
	// "overlay2+metacopy=on".
	Name() string

	// Root is the directory the driver keeps its layers under (Docker's
	// /var/lib/docker/<driver>).
	Root() string

	// Create makes a read-only image layer on parent ("" for a base layer)
	// and applies spec to it in the driver's own on-disk format.
	Create(ctx context.Context, id, parent string, spec *layerspec.Layer) error

	// CreateReadWrite makes a container layer (init or writable) on parent.
	// spec may be nil.
	CreateReadWrite(ctx context.Context, id, parent string, spec *layerspec.Layer) error

	// Mount returns the directory that shows the union of id and all its
	// parents, mounting it if the driver needs a mount. Mounting an already
	// mounted layer returns the same directory.
	Mount(ctx context.Context, id string) (string, error)

	// Unmount undoes Mount. Unmounting a layer that is not mounted is not an
	// error.
	Unmount(id string) error

	// Remove deletes the layer's directories. A mounted layer is unmounted
	// first; a layer that still has children is refused.
	Remove(id string) error

	// Usage reports what the layer's own directories hold on disk.
	Usage(id string) (Usage, error)

	// Depth returns how many layers are stacked under and including id.
	Depth(id string) (int, error)

	// MaxDepth is the deepest image (in layers, containers' init and
	// writable layers included) this driver will build.
	MaxDepth() int

	// Cleanup unmounts everything this driver mounted. The directories stay.
	Cleanup() error
}

// Usage is what one layer's own directories hold.
type Usage struct {
	Bytes  int64 `json:"bytes"`  // allocated bytes (st_blocks*512) of inodes first seen in this layer
	Inodes int64 `json:"inodes"` // distinct inodes under the layer's directories
}

// Options configures a driver instance.
type Options struct {
	// MountOptions are the variant's extra overlay options, e.g.
	// ["metacopy=on", "redirect_dir=on"]; the variant name is derived from them.
	MountOptions []string
	// MaxDepth overrides the driver's default depth limit (e.g. overlay2's
	// 128, Docker's limit) up to the kernel's own limit. 0 keeps the default;
	// Deepest asks for the deepest the driver can build.
	MaxDepth int
}

// Deepest, as Options.MaxDepth, asks for as deep a stack as the driver can
// build: the kernel's own limit for overlay2 and fuse-overlayfs, no limit
// of their own (Unbounded) for overlay and vfs, whose mounts hold at most
// two layers or none, and aufs's compiled-in branch count.
const Deepest = -1

// Unbounded is the depth limit of a driver that has none of its own.
const Unbounded = 1 << 16

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ValidateID rejects layer ids that are not plain directory names.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("invalid layer id %q: want 1-128 characters of [A-Za-z0-9_.-], not starting with . _ or -", id)
	}
	return nil
}
