package layerset

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/layerspec"
)

// Create makes layer id on parent: it checks everything a layer is refused
// for (see add) before anything is created, makes the layer's directory dir
// with exactly mode, whatever the umask, and calls build to fill it. If
// build fails, dir is removed and id forgotten; build gets ctx, and a
// ctx done before anything is made refuses the layer. Errors are
// *drivers.LayerError values naming the driver, the layer and dir.
func (s *Set) Create(ctx context.Context, id, parent string, spec *layerspec.Layer, max int, dir string, mode os.FileMode, build func(ctx context.Context) error) (err error) {
	if err := s.add(id, parent, spec, max); err != nil {
		return err
	}
	made := false
	defer func() {
		if err != nil {
			err = &drivers.LayerError{Driver: s.driver, Op: "create", ID: id, Err: fmt.Errorf("in %s: %w", dir, err)}
			if made { // never remove a directory someone else made
				err = errors.Join(err, RemoveTree(dir))
			}
		}
		s.done(id, err == nil)
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Mkdir(dir, mode); err != nil {
		return err
	}
	made = true
	if err := os.Chmod(dir, mode); err != nil {
		return err
	}
	return build(ctx)
}

// RemoveTree removes a layer's directory and everything in it, refusing
// (and removing nothing) while anything is mounted at or below it: a
// recursive delete through a mount would delete the data of whatever is
// mounted there, a lower layer or a bind-mounted host directory.
func RemoveTree(dir string) error {
	mounts, err := mountutil.MountsUnder(dir)
	if err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if len(mounts) > 0 {
		return fmt.Errorf("remove %s: refusing while %s is mounted there", dir, mounts[0].Mountpoint)
	}
	return os.RemoveAll(dir)
}
