package drivertest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/testenv"
)

// mustRunOnCI are the drivers whose suite may not skip when CI=true.
var mustRunOnCI = map[string]bool{"overlay2": true, "overlay": true, "vfs": true}

// skip skips, or fails on CI for the drivers CI must exercise.
func skip(t *testing.T, driver string, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if testenv.CI() && mustRunOnCI[driver] {
		t.Fatalf("CI=true: the %s conformance suite must run here, but: %s", driver, msg)
	}
	t.Skip(msg)
}

// QuickBackings narrows the backing kinds to tmpfs and ext4 for the rest
// of the test, unless UNIONBENCH_BACKINGS says otherwise: for the runs of
// the suite that repeat another (variants, another whiteout format).
func QuickBackings(t *testing.T) { testenv.NarrowBackings(t, backing.Tmpfs, backing.Ext4) }

// RunVariants runs the suite on each variant (mount options) of a driver,
// on QuickBackings. A variant the kernel lacks is data, not a failure: it
// skips, even on CI.
func RunVariants(t *testing.T, driver string, factory drivers.Factory, variants [][]string) {
	QuickBackings(t)
	for _, opts := range variants {
		v := drivers.Variant{Driver: driver, Options: opts}
		t.Run(v.String(), func(t *testing.T) {
			run(t, driver, func(t *testing.T, root string) (drivers.Driver, error) {
				d, err := factory(root, drivers.Options{MountOptions: opts})
				if errors.Is(err, drivers.ErrNotSupported) {
					t.Skipf("%v", err)
				}
				return d, err
			})
		})
	}
}

// Run runs every check of the suite for one driver, made by factory (the
// driver package's New) with default options, on every backing kind.
func Run(t *testing.T, driver string, factory drivers.Factory) {
	run(t, driver, func(t *testing.T, root string) (drivers.Driver, error) {
		return factory(root, drivers.Options{})
	})
}

func run(t *testing.T, driver string, factory func(t *testing.T, root string) (drivers.Driver, error)) {
	if !testenv.Root() {
		skip(t, driver, "the %s conformance suite mounts filesystems and needs root", driver)
	}
	for _, kind := range testenv.Backings(t) {
		t.Run("backing="+string(kind), func(t *testing.T) {
			fs, err := backing.Create(t.TempDir(), backing.Spec{Kind: kind, Size: 2 << 30})
			if errors.Is(err, backing.ErrUnsupported) {
				skip(t, driver, "backing %s: %v", kind, err)
			}
			require.NoError(t, err, "backing %s", kind)
			t.Cleanup(func() { assert.NoError(t, fs.Close()) })
			n := 0
			newDriver := func(t *testing.T) drivers.Driver {
				n++
				root := filepath.Join(fs.Dir, fmt.Sprintf("root%d", n))
				require.NoError(t, os.Mkdir(root, 0o700))
				d, err := factory(t, root)
				return started(t, driver, d, err)
			}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.run(t, newDriver(t)) })
			}
		})
	}
}

type check struct {
	name string
	run  func(t *testing.T, d drivers.Driver)
}

var checks = []check{
	{"UpperLayerWins", upperLayerWins},
	{"WhiteoutHidesLowerFile", whiteoutHides},
	{"OpaqueDirHidesLowerContents", opaqueHides},
	{"DeleteAndRecreateAcrossLayers", deleteAndRecreate},
	{"HardLinksAndSymlinksSurvive", linksSurvive},
	{"DeepStackEqualsFlattenedTree", deepStack},
	{"ContainerWritesLandOnlyInItsLayer", writesLandInUpper},
	{"RemoveLeavesNothingBehind", removeLeavesNothing},
	{"MountIsIdempotent", mountIdempotent},
	{"RejectsBadRequests", rejectsBadRequests},
	{"ErrorsAreTyped", typedErrors},
	{"CancelledContextRefuses", cancelledContextRefuses},
	{"CancelStopsABigBuild", cancelStopsABigBuild},
}
