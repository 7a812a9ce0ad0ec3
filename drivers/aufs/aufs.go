package aufs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/layerspec"
)

// Name is the driver's registered name.
const Name = "aufs"

// DefaultMaxDepth is the number of branches one aufs mount takes on the
// kernels that ship aufs: Ubuntu builds it with CONFIG_AUFS_BRANCH_MAX_127,
// aufs's default, and a container's writable and init layers are branches
// like any image layer. It is the limit of a driver made without asking
// the kernel (tests); New measures the kernel's own (127, 511, 1023 or
// 32767) and takes that, or Options.MaxDepth up to it.
const DefaultMaxDepth = 127

// defaultOptions are the options Docker mounts every union with: dio lets
// O_DIRECT through to the branch filesystem, and the external inode number
// table (xino) goes to tmpfs, where its constant writes are cheap. aufs
// creates that file and unlinks it at once, so one path serves every mount
// and nothing stays behind.
var defaultOptions = []string{"dio", "xino=/dev/shm/aufs.xino"}

func init() {
	drivers.Register(drivers.Registration{
		Name:    Name,
		Factory: New,
		// The options that change what users meet: renaming a lower
		// directory (dirren), and how aufs notices changes made to a
		// branch behind its back (udba; reval, the default, is what
		// Docker mounts).
		Variants: [][]string{{"dirren"}, {"udba=notify"}, {"udba=none"}},
		Doc:      "aufs in /proc/filesystems (Ubuntu kernels up to 20.04, or the aufs module), root, a backing fs with d_type that is not btrfs",
	})
}

// Driver is Docker's aufs storage driver: one diff directory per layer,
// stacked as aufs branches at mount time. Creating, mounting, unmounting
// and removing are serialized by one mutex; mounting even the deepest
// stack is a handful of mount(2) calls.
type Driver struct {
	root     string
	name     string
	variant  []string // the variant's mount options
	dirperm1 bool     // whether this aufs takes dirperm1 (probed)
	build    build    // what New measured of this kernel's aufs
	maxDepth int
	pageSize int
	auplink  string // aufs-tools' auplink, "" when not installed
	// branchDir is "" when mount data names branches by absolute path, or
	// the root when it names them relative to it (see branchPath).
	branchDir string

	// The kernel-facing calls; tests replace them to see what would be
	// passed to the kernel on a host without aufs.
	mountFn   func(dir, source, target, fstype string, flags uintptr, data string) error
	unmountFn func(target string) error

	mu sync.Mutex
	// mounts holds the layers this driver mounted, with the stat of the
	// empty mnt/<id> directory each mount covers (for Usage).
	mounts map[string]unix.Stat_t
}

var _ drivers.Driver = (*Driver)(nil)

// New is the driver's Factory. It refuses a root that is "/" or a
// container runtime's storage, and returns an error wrapping
// drivers.ErrNotSupported when this host cannot run aufs with these
// options: not root, aufs not in the kernel, a user namespace, a btrfs or
// ecryptfs backing filesystem, no d_type, or a failing test mount.
func New(root string, opts drivers.Options) (drivers.Driver, error) {
	d, err := newDriver(root, opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.root, 0o710); err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	if err := checkHost(d.root); err != nil {
		return nil, err
	}
	if d.build, err = probe(d.root, d.baseOptions, d.variant); err != nil {
		return nil, err
	}
	d.dirperm1 = d.build.dirperm1
	// The kernel's branch limit is the deepest stack: Docker's aufs driver
	// sets none of its own.
	switch {
	case opts.MaxDepth == 0 || opts.MaxDepth == drivers.Deepest:
		d.maxDepth = d.build.branchMax
	case opts.MaxDepth > d.build.branchMax:
		return nil, fmt.Errorf("%w (this aufs takes %d branches a mount: CONFIG_AUFS_BRANCH_MAX_%d)",
			&drivers.DepthError{Driver: d.name, Depth: opts.MaxDepth, Max: d.build.branchMax}, d.build.branchMax, d.build.branchMax)
	}
	return d, d.makeDirs()
}

// Details says what this kernel's aufs is, for `unionbench drivers`:
// its version, its branch limit and whether it takes dirperm1.
func (d *Driver) Details() string {
	dp := "takes dirperm1"
	if !d.build.dirperm1 {
		dp = "no dirperm1"
	}
	return fmt.Sprintf("aufs %s, %d branches a mount (CONFIG_AUFS_BRANCH_MAX_%d: measured, one more is ENOSPC), %s",
		d.build.version, d.build.branchMax, d.build.branchMax, dp)
}

// newDriver checks the root and the options and writes nothing: New
// asks the host, then makes the directories. Tests skip the asking to
// check everything short of the kernel on hosts without aufs.
func newDriver(root string, opts drivers.Options) (*Driver, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	for _, o := range opts.MountOptions {
		if err := checkOption(o); err != nil {
			return nil, err
		}
	}
	d := &Driver{
		root:      root,
		name:      drivers.Variant{Driver: Name, Options: opts.MountOptions}.String(),
		variant:   append([]string(nil), opts.MountOptions...),
		maxDepth:  DefaultMaxDepth,
		pageSize:  unix.Getpagesize(),
		mountFn:   mountutil.MountAt,
		unmountFn: mountutil.Unmount,
		mounts:    map[string]unix.Stat_t{},
	}
	switch {
	case opts.MaxDepth > 0:
		d.maxDepth = opts.MaxDepth
	case opts.MaxDepth < 0 && opts.MaxDepth != drivers.Deepest:
		return nil, fmt.Errorf("%s: MaxDepth %d out of range: want 0 (the kernel's branch limit), %d (the same) or a positive number of layers",
			Name, opts.MaxDepth, drivers.Deepest)
	}
	if strings.ContainsAny(root, unsafeInBranch) {
		d.branchDir = root
	}
	if p, err := exec.LookPath("auplink"); err == nil {
		d.auplink = p
	}
	return d, nil
}

// options are the aufs options after the branches: Docker's, dirperm1
// where this aufs knows it, then the variant's, which aufs lets override
// the ones before them.
func (d *Driver) options(dirperm1 bool) string {
	return strings.Join(append(strings.Split(d.baseOptions(dirperm1), ","), d.variant...), ",")
}

// baseOptions are Docker's options, without the variant's.
func (d *Driver) baseOptions(dirperm1 bool) string {
	o := append([]string(nil), defaultOptions...)
	if dirperm1 {
		o = append(o, "dirperm1")
	}
	return strings.Join(o, ",")
}

// makeDirs makes the root's diff/, layers/ and mnt/ if missing, 0710 as
// Docker makes them: only root looks inside.
func (d *Driver) makeDirs() error {
	for _, dir := range []string{diffDir, layersDir, mntDir} {
		if err := mkdirMode(filepath.Join(d.root, dir), 0o710); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", Name, err)
		}
	}
	return nil
}

// checkID rejects ids that are not plain directory names.
func checkID(id string) error {
	if err := drivers.ValidateID(id); err != nil {
		return fmt.Errorf("%s: %w", Name, err)
	}
	return nil
}

func (d *Driver) Name() string  { return d.name }
func (d *Driver) Root() string  { return d.root }
func (d *Driver) MaxDepth() int { return d.maxDepth }

// Create makes an image layer: diff/<id> and mnt/<id> (Docker makes the
// mount point of every layer up front), the layers/<id> chain file, and
// the spec applied to diff/<id> in aufs's format over the parents' diff
// directories.
func (d *Driver) Create(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	return d.create(ctx, id, parent, spec)
}

// CreateReadWrite makes a container layer. aufs has no difference between
// the two: any layer with parents is mounted with its own diff directory
// as the writable branch.
func (d *Driver) CreateReadWrite(ctx context.Context, id, parent string, spec *layerspec.Layer) error {
	return d.create(ctx, id, parent, spec)
}

// layerErr is the *drivers.LayerError of op on layer id.
func (d *Driver) layerErr(op, id string, err error) error {
	return &drivers.LayerError{Driver: d.name, Op: op, ID: id, Err: err}
}

func (d *Driver) create(ctx context.Context, id, parent string, spec *layerspec.Layer) (err error) {
	if err := checkID(id); err != nil {
		return err
	}
	if parent != "" {
		if err := drivers.ValidateID(parent); err != nil {
			return fmt.Errorf("%s: parent of %q: %w", Name, id, err)
		}
	}
	if spec != nil {
		if err := spec.Validate(); err != nil {
			return fmt.Errorf("%s: layer %q: %w", Name, id, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return d.layerErr("create", id, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var parentChain []string
	depth := 1
	if parent != "" {
		if parentChain, err = d.chain(parent); errors.Is(err, drivers.ErrUnknownLayer) {
			return drivers.UnknownParent(d.name, id, parent)
		} else if err != nil {
			return d.layerErr("create", id, fmt.Errorf("parent: %w", err))
		}
		depth = len(parentChain) + 2
	}
	if depth > d.maxDepth {
		return &drivers.DepthError{Driver: d.name, Depth: depth, Max: d.maxDepth}
	}
	if _, err := os.Lstat(d.layersPath(id)); err == nil {
		return d.layerErr("create", id, fmt.Errorf("%w (%s)", drivers.ErrLayerExists, d.layersPath(id)))
	}
	diff := d.diffPath(id)
	if err := mkdirMode(diff, 0o755); err != nil {
		return d.layerErr("create", id, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, d.removeDirs(id))
		}
	}()
	if err := mkdirMode(d.mntPath(id), 0o755); err != nil {
		return d.layerErr("create", id, err)
	}
	if err := writeNew(d.layersPath(id), layersFile(parent, parentChain), 0o644); err != nil {
		return d.layerErr("create", id, err)
	}
	if spec == nil {
		return nil
	}
	lowers := make([]string, 0, len(parentChain)+1)
	if parent != "" {
		for _, p := range append([]string{parent}, parentChain...) {
			lowers = append(lowers, d.diffPath(p))
		}
	}
	if err := layerspec.Apply(ctx, diff, spec, layerspec.AufsFormat{}, lowers); err != nil {
		return d.layerErr("create", id, err)
	}
	return nil
}

// plan returns the mount calls that assemble layer id's union: its own
// diff directory writable, its parents' read-only with whiteouts, nearest
// first.
func (d *Driver) plan(id string, parents []string) (mountPlan, error) {
	ro := make([]string, len(parents))
	for i, p := range parents {
		ro[i] = d.branchPath(p)
	}
	return planMount(d.branchPath(id), ro, d.options(d.dirperm1), d.pageSize)
}

// Mount mounts the union of id and its parents at mnt/<id>. A layer
// without parents is not mounted: as in Docker, its diff directory is
// already the whole tree, and that is what Mount returns. ctx is looked
// at before each of the mount calls; once it is done, what they mounted is
// unmounted again.
func (d *Driver) Mount(ctx context.Context, id string) (string, error) {
	if err := checkID(id); err != nil {
		return "", err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	parents, err := d.chain(id)
	if err != nil {
		return "", d.layerErr("mount", id, err)
	}
	if err := ctx.Err(); err != nil {
		return "", d.layerErr("mount", id, err)
	}
	if len(parents) == 0 {
		return d.diffPath(id), nil
	}
	target := d.mntPath(id)
	if _, ok := d.mounts[id]; ok {
		return target, nil
	}
	plan, err := d.plan(id, parents)
	if err != nil {
		return "", d.layerErr("mount", id, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(target, &st); err != nil {
		return "", d.layerErr("mount", id, &fs.PathError{Op: "lstat", Path: target, Err: err})
	}
	if err := d.mountBranches(ctx, target, plan); err != nil {
		return "", d.layerErr("mount", id, fmt.Errorf("%d branches, %d calls at %s: %w", len(parents)+1, len(plan.Calls()), target, err))
	}
	d.mounts[id] = st
	return target, nil
}

// Unmount unmounts a layer this driver mounted; anything else is a no-op.
func (d *Driver) Unmount(id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.unmount(id)
}

func (d *Driver) unmount(id string) error {
	if _, ok := d.mounts[id]; !ok {
		return nil
	}
	if err := d.unmountBranches(d.mntPath(id)); err != nil {
		return d.layerErr("unmount", id, err)
	}
	delete(d.mounts, id)
	return nil
}

// Remove unmounts the layer if this driver mounted it and deletes its
// three entries. A layer that is still some layer's parent is refused.
func (d *Driver) Remove(id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.chain(id); err != nil {
		return d.layerErr("remove", id, err)
	}
	children, err := d.children(id)
	if err != nil {
		return d.layerErr("remove", id, err)
	}
	if len(children) > 0 {
		sort.Strings(children)
		return d.layerErr("remove", id, fmt.Errorf("%w (%s): remove them first", drivers.ErrLayerHasChildren, strings.Join(children, ", ")))
	}
	if err := d.unmount(id); err != nil {
		return err
	}
	return d.removeDirs(id)
}

// removeDirs deletes a layer's mount point, content and chain file, in
// that order. The mount point goes first and with os.Remove, which fails
// on a directory that is still mounted (by anyone), so the content is
// never deleted through a live union; the chain file goes last, so a
// failed removal leaves a layer that Remove can be retried on.
func (d *Driver) removeDirs(id string) error {
	if err := os.Remove(d.mntPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return d.layerErr("remove", id, err)
	}
	if err := os.RemoveAll(d.diffPath(id)); err != nil {
		return d.layerErr("remove", id, err)
	}
	if err := os.Remove(d.layersPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return d.layerErr("remove", id, err)
	}
	return nil
}

// Usage counts diff/<id> (including the files aufs itself keeps in a
// writable branch: .wh..wh.aufs, .wh..wh.plnk/, .wh..wh.orph/), the
// layers/<id> file and the mnt/<id> directory. A mounted mnt/<id> is not
// walked, which would count the whole union; the directory under the mount
// was measured just before mounting, and nothing can change it since.
func (d *Driver) Usage(id string) (drivers.Usage, error) {
	if err := checkID(id); err != nil {
		return drivers.Usage{}, err
	}
	if _, err := d.chain(id); err != nil {
		return drivers.Usage{}, d.layerErr("usage", id, err)
	}
	u, err := drivers.DirUsage(d.diffPath(id), d.layersPath(id))
	if err != nil {
		return u, d.layerErr("usage", id, err)
	}
	d.mu.Lock()
	st, mounted := d.mounts[id]
	d.mu.Unlock()
	if !mounted {
		if err := unix.Lstat(d.mntPath(id), &st); err != nil {
			return u, d.layerErr("usage", id, &fs.PathError{Op: "lstat", Path: d.mntPath(id), Err: err})
		}
	}
	u.Inodes++
	u.Bytes += st.Blocks * 512
	return u, nil
}

// Depth is the number of branches id's union has: itself and its parents.
func (d *Driver) Depth(id string) (int, error) {
	if err := checkID(id); err != nil {
		return 0, err
	}
	parents, err := d.chain(id)
	if err != nil {
		return 0, d.layerErr("depth", id, err)
	}
	return len(parents) + 1, nil
}

// Cleanup unmounts every layer this driver mounted, carrying on past
// failures.
func (d *Driver) Cleanup() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make([]string, 0, len(d.mounts))
	for id := range d.mounts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	for _, id := range ids {
		errs = append(errs, d.unmount(id))
	}
	return errors.Join(errs...)
}
