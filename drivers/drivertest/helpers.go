package drivertest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
)

// What every driver package's own tests share, so that each test file
// holds only what is particular to its driver.

// Main runs a driver package's tests in the private mount namespace that
// every test which mounts needs (internal/sandbox): a driver's TestMain is
// this one call.
func Main(m *testing.M) { sandbox.RunTests(m) }

// RequireRoot skips a test that needs root, or with CI=true fails it for
// the drivers CI must exercise.
func RequireRoot(t *testing.T, driver string) {
	t.Helper()
	if !testenv.Root() {
		skip(t, driver, "%s: needs root: drivers mount and create files owned by other users", driver)
	}
}

// New makes a driver with factory (a driver package's New) in a fresh
// directory on the sandbox's scratch filesystem. It skips when the host
// cannot run the driver (failing instead on CI for the drivers CI must
// exercise, as Run does), and at the end of the test checks that Cleanup
// leaves no mount under the root.
func New(t *testing.T, driver string, factory drivers.Factory, opts drivers.Options) drivers.Driver {
	t.Helper()
	RequireRoot(t, driver)
	d, err := factory(filepath.Join(t.TempDir(), driver), opts)
	return started(t, driver, d, err)
}

// started takes what a factory returned: a host that cannot run the
// driver skips the test (or fails it, on CI, for the drivers CI must
// exercise), any other error fails it, and a driver is cleaned up at the
// end of the test.
func started(t *testing.T, driver string, d drivers.Driver, err error) drivers.Driver {
	t.Helper()
	if errors.Is(err, drivers.ErrNotSupported) {
		skip(t, driver, "%v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { requireCleanup(t, d) })
	return d
}

// requireCleanup runs the driver's Cleanup and checks nothing is left
// mounted under its root.
func requireCleanup(t *testing.T, d drivers.Driver) {
	assert.NoError(t, d.Cleanup())
	mounts, err := mountutil.MountsUnder(d.Root())
	assert.NoError(t, err)
	assert.Empty(t, mounts, "Cleanup left mounts under the driver root")
}

// Lstat returns the stat of p itself (a symlink is not followed).
func Lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(p, &st), p)
	return st
}

// Mode returns the mode of p itself, type bits included.
func Mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	return fi.Mode()
}

// Names returns the names in directory dir, sorted.
func Names(t *testing.T, dir string) []string { return readdir(t, dir) }

// ReadString returns the content of file p.
func ReadString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}
