package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/mountutil"
)

// Images keeps the images that cases build, so that cases of one variant
// that differ only in cache state (copyup, lookup), container count
// (pagecache) or scenario (mount after lookup) share one image, and the
// passes after the first reuse it, instead of each building its own.
// Building is the costly, untimed part of preparing most cases (a
// 64-layer image, two 64 MiB files copied in by vfs) and gives the same
// bytes every time (layer specs are seeded); every case still makes its
// own containers and mounts on it, each pass anew.
//
// What building does not give twice is where the blocks land on the
// backing fs, and that moves some figures: the page cache a cold read
// through the loop device leaves was 72 or 91 MiB for one 32 MiB file,
// from one build to the next. A fresh backing fs lays them out anew in
// each run, so a figure that depends on the layout must see new layouts
// within a run too, or compare takes the run's one layout for a change
// (kept for the whole run, pagecache's images made it flag cache-bytes
// between two A/A runs). Such a scenario keeps its images for a pass
// only (Env.PassImage); the timings of copyup and lookup did not move
// with the layout (0 flagged in three A/A pairs with run-long images)
// and keep theirs for the run (Env.Image).
//
// Images are kept while the backing fs has room for them beyond what the
// largest case needs (Reserve); past that, an image is built and removed
// per case.
type Images struct {
	// FS is the backing fs the images live on.
	FS *backing.FS
	// Reserve is the free space kept images must leave on FS: the most
	// any one case needs (Sizer), with a margin.
	Reserve int64

	mu   sync.Mutex
	kept map[string]*keptImage
}

type keptImage struct {
	d      drivers.Driver
	top    string
	leased bool
	names  []string // rootNames after the build
}

// BuildFunc builds an image's layers in d and returns its top layer.
type BuildFunc func(ctx context.Context, d drivers.Driver) (top string, err error)

// Image returns a driver of env's variant holding the image build makes,
// and release, to be called when the case is done with it: the case must
// by then have unmounted and removed every container it made on it. key
// names the image within the scenario (copyup's "size=64MiB"); it is kept
// apart per variant and depth limit. Without env.Images (a single
// Measure, a test) the image is built for the case and release removes
// it.
func (e *Env) Image(ctx context.Context, key string, build BuildFunc) (d drivers.Driver, top string, release func() error, err error) {
	return e.image(ctx, e.Images, key, build)
}

// PassImage is Image, kept for the rest of the pass only: for a scenario
// whose figures depend on where the image's blocks land (see Images).
func (e *Env) PassImage(ctx context.Context, key string, build BuildFunc) (d drivers.Driver, top string, release func() error, err error) {
	return e.image(ctx, e.PassImages, key, build)
}

func (e *Env) image(ctx context.Context, im *Images, key string, build BuildFunc) (drivers.Driver, string, func() error, error) {
	if im == nil {
		return e.buildImage(ctx, build)
	}
	return im.lease(ctx, e, fmt.Sprintf("%s|%s|depth=%d", key, e.Variant, e.MaxDepth), build)
}

// buildImage makes a fresh driver and builds the image in it; release
// removes the driver's whole root.
func (e *Env) buildImage(ctx context.Context, build BuildFunc) (drivers.Driver, string, func() error, error) {
	d, cleanup, err := e.NewDriver()
	if err != nil {
		return nil, "", nil, err
	}
	top, err := build(ctx, d)
	if err != nil {
		return nil, "", nil, errors.Join(err, cleanup())
	}
	return d, top, cleanup, nil
}

func (im *Images) lease(ctx context.Context, env *Env, key string, build BuildFunc) (drivers.Driver, string, func() error, error) {
	im.mu.Lock()
	k := im.kept[key]
	if k != nil && !k.leased {
		k.leased = true
		im.mu.Unlock()
		return k.d, k.top, func() error { return im.giveBack(key, k) }, nil
	}
	im.mu.Unlock()
	d, top, remove, err := env.buildImage(ctx, build)
	if err != nil || k != nil || !im.room() {
		// Leased already (two cases of one image at once), or no room to
		// keep it: this case's own, removed after it.
		return d, top, remove, err
	}
	names, err := rootNames(d.Root())
	if err != nil {
		return d, top, remove, nil // not kept: removed after this case
	}
	k = &keptImage{d: d, top: top, leased: true, names: names}
	im.mu.Lock()
	if im.kept == nil {
		im.kept = map[string]*keptImage{}
	}
	im.kept[key] = k
	im.mu.Unlock()
	return d, top, func() error { return im.giveBack(key, k) }, nil
}

// room says whether the backing fs has Reserve free beside the images
// kept so far.
func (im *Images) room() bool {
	st, err := im.FS.Statfs()
	return err == nil && int64(st.Bavail)*st.Bsize >= im.Reserve
}

// giveBack ends a lease. An image the case left a mount or a layer on
// (a container it did not remove) is not handed out again: it is
// removed, mounts and all, and the case is told.
func (im *Images) giveBack(key string, k *keptImage) error {
	left := "" // what the case left, if anything
	mounts, err := mountutil.MountsUnder(k.d.Root())
	switch {
	case err != nil:
		left = err.Error()
	case len(mounts) > 0:
		left = fmt.Sprintf("%d mount(s) left on a kept image, at %s", len(mounts), mounts[0].Mountpoint)
	default:
		names, err := rootNames(k.d.Root())
		if err == nil {
			err = sameLayers(k.names, names)
		}
		if err != nil {
			left = fmt.Sprintf("%s: %v", k.d.Root(), err)
		}
	}
	im.mu.Lock()
	if left == "" {
		k.leased = false
	} else {
		delete(im.kept, key)
	}
	im.mu.Unlock()
	if left == "" {
		return nil
	}
	return errors.Join(fmt.Errorf("%s: %s", k.d.Name(), left), RemoveDriver(k.d))
}

// rootNames lists a driver root two levels deep, a directory or symlink
// marked with a trailing "/": every driver keeps a layer as a directory
// or link at one of those levels (overlay2's <id> and l/<link>, vfs's
// dir/<id>, aufs's diff/<id>), so a container not removed shows in it.
func rootNames(root string) ([]string, error) {
	var names []string
	top, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range top {
		names = append(names, e.Name())
		if !e.IsDir() {
			continue
		}
		sub, err := os.ReadDir(filepath.Join(root, e.Name()))
		if err != nil {
			return nil, err
		}
		for _, s := range sub {
			n := e.Name() + "/" + s.Name()
			if !s.Type().IsRegular() {
				n += "/"
			}
			names = append(names, n)
		}
	}
	return names, nil
}

// sameLayers says whether a driver root still holds the layers it held
// after the build (rootNames before and now): nothing gone, and nothing
// new but plain files inside a layer (overlay2 marks a layer "committed"
// once a container sits on it).
func sameLayers(built, now []string) error {
	for _, n := range built {
		if !slices.Contains(now, n) {
			return fmt.Errorf("%s is gone", n)
		}
	}
	for _, n := range now {
		if slices.Contains(built, n) {
			continue
		}
		if strings.Count(n, "/") != 1 || strings.HasSuffix(n, "/") {
			return fmt.Errorf("layers left on a kept image: %s", n)
		}
	}
	return nil
}

// Close removes every kept image (the runner's, at the end of the run or
// of each pass).
func (im *Images) Close() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	var errs []error
	for key, k := range im.kept {
		errs = append(errs, RemoveDriver(k.d))
		delete(im.kept, key)
	}
	return errors.Join(errs...)
}
