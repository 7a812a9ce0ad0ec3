package backing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/unionbench/unionbench/internal/mountutil"
	"golang.org/x/sys/unix"
)

// ErrUnsupported is wrapped by Create's error when this host cannot make the
// requested kind at all: the kernel lacks the filesystem, or its mkfs is not
// installed. Callers skip on it; other errors are failures.
var ErrUnsupported = errors.New("backing filesystem not supported on this host")

// DefaultImageSize is the size of an image when Spec.Size is 0. Images are
// sparse, so only what is written takes space on the host.
const DefaultImageSize int64 = 4 << 30

// Spec says what backing filesystem to make. Fields a kind cannot honour
// are refused rather than ignored, so a result never claims a setting that
// was not in force.
type Spec struct {
	Kind Kind
	// Size in bytes: the image size for ext4, xfs and btrfs (default
	// DefaultImageSize), size= for tmpfs (default half of RAM). Ignored for
	// dir, which has whatever room the work directory has (Describe says
	// how much), so that one Spec can be used for every kind.
	Size int64
	// Inodes: for ext4 the exact inode count (mkfs.ext4 -N, which rounds up
	// to fill whole inode-table blocks); for tmpfs nr_inodes=. xfs allocates
	// inodes on demand; it gets the smallest -i maxpct that leaves room for
	// this many, which caps it only coarsely (to whole percents of the
	// space). Not for btrfs or dir, which have no limit to set. 0 = default.
	Inodes int64
	// Reflink: xfs is formatted with -m reflink=0 or 1; btrfs always
	// reflinks; ext4 and tmpfs never do. nil = whatever the kind does by
	// default.
	Reflink *bool
	// Options are extra mount options, flags included ("noatime,discard").
	// Not for dir.
	Options string
}

// FS is a backing filesystem made by Create. Close it.
type FS struct {
	Spec Spec
	// Dir is where to put things: the mount point (or the directory, for
	// kind dir), with symlinks resolved.
	Dir string
	// Device is the loop device (/dev/loopN) for image kinds, else "".
	Device string
	// Image is the image file for image kinds, else "".
	Image string
	// MountOptions are the options Create mounted with, as it wrote them;
	// Describe reports what the kernel made of them.
	MountOptions string

	writesAtAttach int64 // the device's write counter when attached
	closed         bool
}

func (s Spec) validate() error {
	refuse := func(what string) error {
		return fmt.Errorf("backing %s: %s", s.Kind, what)
	}
	if !slices.Contains(Kinds, s.Kind) {
		return fmt.Errorf("unknown backing filesystem %q: want dir, tmpfs, ext4, xfs or btrfs", s.Kind)
	}
	switch {
	case s.Size < 0 || s.Inodes < 0:
		return refuse("negative size or inode count")
	case s.Kind == Dir && (s.Inodes != 0 || s.Options != ""):
		return refuse("a plain directory has no inode count or mount options of its own")
	case s.Kind == Btrfs && s.Inodes != 0:
		return refuse("btrfs allocates inodes without limit; an inode count cannot be set")
	case s.Reflink != nil && *s.Reflink && (s.Kind == Ext4 || s.Kind == Tmpfs):
		return refuse("no reflink support")
	case s.Reflink != nil && !*s.Reflink && s.Kind == Btrfs:
		return refuse("reflinks cannot be turned off")
	case s.Reflink != nil && s.Kind == Dir:
		return refuse("reflink support is whatever the work directory's filesystem has")
	}
	return nil
}

// Create makes a backing filesystem of spec's kind, everything of it under
// workdir (created if missing, refused if CheckWorkdir refuses it): the
// mount point, and for image kinds the image file. Create must run as root
// in a private mount namespace for every kind but dir.
func Create(workdir string, spec Spec) (*FS, error) {
	return create(workdir, spec)
}

// create takes extra mkfs arguments, for tests that need a filesystem
// Spec does not offer (xfs without ftype).
func create(workdir string, spec Spec, mkfsArgs ...string) (_ *FS, err error) {
	if err := CheckWorkdir(workdir); err != nil {
		return nil, err
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return nil, err
	}
	// mountinfo lists resolved paths; Dir must compare equal to them.
	if workdir, err = filepath.EvalSymlinks(workdir); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(workdir, "backing-"+string(spec.Kind)+"-")
	if err != nil {
		return nil, err
	}
	// MkdirTemp makes it 0700; layers owned by other users must be
	// reachable through it.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.Remove(dir)
		return nil, err
	}
	f := &FS{Spec: spec, Dir: dir}
	defer func() {
		if err != nil {
			if cerr := f.Close(); cerr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, cerr)
			}
		}
	}()
	switch {
	case spec.Kind == Tmpfs:
		opts := []string{"mode=0755"}
		if spec.Size > 0 {
			opts = append(opts, "size="+strconv.FormatInt(spec.Size, 10))
		}
		if spec.Inodes > 0 {
			opts = append(opts, "nr_inodes="+strconv.FormatInt(spec.Inodes, 10))
		}
		if spec.Options != "" {
			opts = append(opts, spec.Options)
		}
		f.MountOptions = strings.Join(opts, ",")
		flags, data := mountutil.ParseOptions(f.MountOptions)
		if err := mountutil.Mount("unionbench-tmpfs", dir, "tmpfs", flags, data); err != nil {
			return nil, unsupportedIfENODEV(err)
		}
	case spec.Kind.onImage():
		if err := f.makeImage(mkfsArgs); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// makeImage formats a sparse image file and mounts it through a loop device.
func (f *FS) makeImage(mkfsArgs []string) error {
	size := f.Spec.Size
	if size == 0 {
		size = DefaultImageSize
	}
	img, err := os.OpenFile(f.Dir+".img", os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f.Image = img.Name()
	err = img.Truncate(size) // sparse: no blocks until written
	if cerr := img.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// Formatting the file rather than the device is faster (no loop
	// overhead) and leaves no window in which another process could grab
	// an attached device before it holds a filesystem.
	if err := mkfs(f.Spec, f.Image, size, mkfsArgs); err != nil {
		return err
	}
	dev, loop, err := attachLoop(f.Image)
	if err != nil {
		return err
	}
	// Closing our handle hands the device's lifetime to the mount: from
	// here on it detaches when the filesystem is unmounted, or right away
	// if the mount below fails.
	defer loop.Close()
	f.Device = dev
	if f.writesAtAttach, err = deviceWriteBytes(dev); err != nil {
		return err
	}
	f.MountOptions = f.Spec.Options
	flags, data := mountutil.ParseOptions(f.MountOptions)
	if err := mountutil.Mount(dev, f.Dir, string(f.Spec.Kind), flags, data); err != nil {
		return unsupportedIfENODEV(err)
	}
	return nil
}

func unsupportedIfENODEV(err error) error {
	if errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("%w: the kernel does not know this filesystem: %w", ErrUnsupported, err)
	}
	return err
}

// detachTimeout bounds the wait for an autoclear loop device to let go.
const detachTimeout = 10 * time.Second

// Close unmounts everything at or below Dir, waits until the loop device has
// detached, and removes the image and the mount point. It removes nothing if
// a mount remains: deleting files under a mount point that is still mounted
// deletes the filesystem's contents instead. Close is safe to call again.
func (f *FS) Close() error {
	if f.closed {
		return nil
	}
	if f.Spec.Kind == Dir {
		// Only here is a recursive delete right, and only with nothing
		// mounted below: a driver that left a container mounted would
		// otherwise have its lower layers emptied through the mount.
		mounts, err := mountutil.MountsUnder(f.Dir)
		if err != nil {
			return err
		}
		if len(mounts) > 0 {
			return fmt.Errorf("close backing %s: %d mounts left below it (first %s); not removing anything", f.Dir, len(mounts), mounts[0].Mountpoint)
		}
		if err := os.RemoveAll(f.Dir); err != nil {
			return err
		}
		f.closed = true
		return nil
	}

	var errs []error
	if err := mountutil.UnmountAll(f.Dir); err != nil {
		errs = append(errs, err)
		if mounts, merr := mountutil.MountsUnder(f.Dir); merr != nil || len(mounts) > 0 {
			return fmt.Errorf("close backing %s: still mounted, not removing anything: %w", f.Dir, errors.Join(append(errs, merr)...))
		}
		// Detached lazily: the mount point is free; go on, and report.
	}
	if f.Device != "" {
		if err := waitDetached(f.Device, f.Image, detachTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	if f.Image != "" {
		if err := os.Remove(f.Image); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(f.Dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	f.closed = true
	if len(errs) > 0 {
		return fmt.Errorf("close backing %s: %w", f.Dir, errors.Join(errs...))
	}
	return nil
}
