package fuseoverlayfs

import (
	"testing"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/drivertest"
	"github.com/unionbench/unionbench/layerspec"
)

func TestMain(m *testing.M) { drivertest.Main(m) }

// TestConformance runs the suite on layers written as Docker writes them
// for fuse-overlayfs: aufs-style .wh. whiteouts.
func TestConformance(t *testing.T) { drivertest.Run(t, Name, New) }

// TestConformanceOverlayWhiteouts runs the suite on layers in overlay's
// native format (0/0 character devices, trusted.overlay.opaque), which
// fuse-overlayfs reads too when it runs as root, so that an overlay2 root
// could be mounted by fuse-overlayfs as is.
func TestConformanceOverlayWhiteouts(t *testing.T) {
	drivertest.QuickBackings(t)
	drivertest.Run(t, Name, func(root string, opts drivers.Options) (drivers.Driver, error) {
		d, err := newDriver(root, opts, layerspec.OverlayFormat{})
		if err != nil {
			return nil, err // not a nil *overlay2.Driver inside a non-nil interface
		}
		return d, nil
	})
}
