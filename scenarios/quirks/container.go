package quirks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/scenarios"
)

// ExecPath is where a probe with Exec finds its lower executable.
const ExecPath = "bin/quirk-sleep"

// execSource is the program copied to ExecPath: any ELF that runs long
// enough without arguments beyond a duration would do; sleep is everywhere.
var execSource = []string{"/bin/sleep", "/usr/bin/sleep"}

// Container is the mounted container a probe acts on.
type Container struct {
	// Dir is the merged view.
	Dir string
	// Variant is the driver variant; probes must not branch on it (they
	// observe), it is here for details such as naming the driver in errors.
	Variant drivers.Variant
	// FS is the backing filesystem, for probes that compare with it.
	FS *backing.FS
	// MountOptions is what the kernel shows for the container's mount.
	MountOptions string

	d       drivers.Driver
	id      string
	layers  []string // bottom first
	cleanup []func() error
}

// Path is the absolute path of rel in the merged view.
func (c *Container) Path(rel string) string { return filepath.Join(c.Dir, rel) }

// Defer registers fn to run before the container is unmounted (last
// registered, first run): killing a child that keeps a file open there,
// closing a descriptor. Without it the unmount would find the mount busy.
func (c *Container) Defer(fn func() error) { c.cleanup = append(c.cleanup, fn) }

// newContainer builds q's image and a container on it, the way Docker
// would, and mounts it. On failure nothing it made is left.
func newContainer(d drivers.Driver, env *scenarios.Env, q Quirk) (c *Container, err error) {
	c = &Container{d: d, id: q.ID + ".c", Variant: variantOf(d, env), FS: env.FS}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.remove())
			c = nil
		}
	}()
	top := ""
	layers := q.Image()
	if len(layers) == 0 {
		return nil, fmt.Errorf("quirk %s declares no image", q.ID)
	}
	for i, l := range layers {
		id := fmt.Sprintf("%s.l%d", q.ID, i)
		if err := d.Create(context.TODO(), id, top, l); err != nil {
			return c, err
		}
		c.layers = append(c.layers, id)
		top = id
	}
	if q.Exec {
		if err := placeExecutable(d, top); err != nil {
			return c, err
		}
	}
	if err := drivers.NewContainer(context.TODO(), d, c.id, top); err != nil {
		c.id = "" // NewContainer removes what it made when it fails
		return c, err
	}
	if c.Dir, err = d.Mount(context.TODO(), c.id); err != nil {
		return c, err
	}
	c.MountOptions = mountOptions(c.Dir)
	return c, nil
}

func variantOf(d drivers.Driver, env *scenarios.Env) drivers.Variant {
	if env.Variant.Driver != "" {
		return env.Variant
	}
	v, _ := drivers.ParseVariant(d.Name())
	return v
}

// placeExecutable copies sleep into the image's top layer before anything
// stacks on it. Layer specs only declare generated content, so the binary
// goes in the way Docker's naive ApplyDiff fills a layer: through the
// driver's own Mount of that layer (its directory for vfs and overlay's
// image layers, an overlay whose upper is the layer's diff for overlay2),
// then Unmount. The container made afterwards sees it as a lower file.
func placeExecutable(d drivers.Driver, layer string) (err error) {
	dir, err := d.Mount(context.TODO(), layer)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, d.Unmount(layer)) }()
	var src *os.File
	for _, p := range execSource {
		if src, err = os.Open(p); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("no sleep program to run as a lower executable: %w", err)
	}
	defer src.Close()
	dst := filepath.Join(dir, ExecPath)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	// Closed before anyone execs it: an open writer is itself ETXTBSY.
	return f.Close()
}

// Remount unmounts the container and mounts it again, as a restart of it
// would: what a union keeps only while mounted is gone afterwards. The
// deferred cleanups run first, since anything they hold open would keep
// the mount busy.
func (c *Container) Remount() error {
	var errs []error
	for i := len(c.cleanup) - 1; i >= 0; i-- {
		errs = append(errs, c.cleanup[i]())
	}
	c.cleanup = nil
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := c.d.Unmount(c.id); err != nil {
		return err
	}
	dir, err := c.d.Mount(context.TODO(), c.id)
	if err != nil {
		return err
	}
	c.Dir = dir
	return nil
}

// remove runs the deferred cleanups, unmounts and removes the container and
// the image, reporting every failure (a failed unmount must not stop the
// rest from being tried, and the driver's own Cleanup unmounts what is left).
func (c *Container) remove() error {
	var errs []error
	for i := len(c.cleanup) - 1; i >= 0; i-- {
		errs = append(errs, c.cleanup[i]())
	}
	c.cleanup = nil
	if c.id != "" {
		errs = append(errs, c.d.Unmount(c.id), drivers.RemoveContainer(c.d, c.id))
	}
	for i := len(c.layers) - 1; i >= 0; i-- {
		errs = append(errs, c.d.Remove(c.layers[i]))
	}
	return errors.Join(errs...)
}

// mountOptions is the option string of the mount at dir, per-mount options
// first, without the layer paths (long, and the same information as the
// driver's layout), or "" when dir is not a mount point.
func mountOptions(dir string) string {
	mounts, err := mountutil.MountsUnder(dir)
	if err != nil {
		return ""
	}
	// Parents come first in mountinfo order: the first is the one at dir.
	for _, m := range mounts {
		var out []string
		seen := map[string]bool{}
		for _, o := range strings.Split(m.Options+","+m.VFSOptions, ",") {
			key, _, _ := strings.Cut(o, "=")
			switch key {
			case "", "lowerdir", "upperdir", "workdir", "lowerdir+", "datadir+":
				continue
			case "si": // aufs's id of this one mount, different every time
				continue
			}
			if strings.HasPrefix(o, "br:") { // aufs's branches, like lowerdir
				continue
			}
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
		return m.FSType + ":" + strings.Join(out, ",")
	}
	return ""
}
