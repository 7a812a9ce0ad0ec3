package dockerd

import (
	"errors"
	"os"
	"testing"

	"github.com/unionbench/unionbench/internal/testenv"
)

// StartT starts a daemon for driver in the test's temporary directory and
// stops it when the test ends, pass or fail. Without docker.io it skips the
// test (fails it under CI=true, which is provisioned with it); a daemon
// that does not start fails it.
func StartT(t testing.TB, driver string, opts ...Option) *Daemon {
	t.Helper()
	testenv.NeedRoot(t, "dockerd "+driver)
	// os.TempDir, not t.TempDir: the test's directory name is too long for
	// containerd's socket paths. Inside the sandbox it is the sandbox's
	// scratch directory, which goes with the sandbox.
	d, err := Start(t.Context(), os.TempDir(), driver, opts...)
	if errors.Is(err, ErrNotInstalled) {
		testenv.Skip(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Error(err)
		}
	})
	return d
}
