package overlayhost

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
)

func TestCheckOptions(t *testing.T) {
	assert.NoError(t, CheckOptions("overlay2", []string{"metacopy=on", "redirect_dir=on", "volatile"}))
	for _, o := range []string{"lowerdir=/x", "lowerdir+=/x", "upperdir=/x", "workdir=/x", "datadir+=/x"} {
		err := CheckOptions("overlay", []string{o})
		assert.ErrorContains(t, err, "set by the driver", o)
		assert.ErrorContains(t, err, "overlay: ", "the error names the driver")
	}
	for _, o := range []string{"", "=on", "a,b", "a b"} {
		assert.ErrorContains(t, CheckOptions("overlay2", []string{o}), "bad mount option", "%q", o)
	}
}

func TestCheck(t *testing.T) {
	for _, root := range []string{"/", "/var/lib/docker/overlay2"} {
		err := Check("overlay2", root, "overlay", 0o710)
		assert.Error(t, err, root)
		assert.NotErrorIs(t, err, drivers.ErrNotSupported, "a forbidden root is a mistake, not a host limit")
	}
	if os.Geteuid() != 0 {
		err := Check("overlay2", t.TempDir(), "overlay", 0o710)
		assert.ErrorIs(t, err, drivers.ErrNotSupported)
		return
	}
	root := filepath.Join(t.TempDir(), "root")
	err := Check("x", root, "no-such-filesystem", 0o710)
	var ns *drivers.NotSupportedError
	require.ErrorAs(t, err, &ns)
	assert.Equal(t, "x", ns.Driver)
	assert.Contains(t, ns.Reason, `"no-such-filesystem" in /proc/filesystems`)
	assert.NoDirExists(t, root, "nothing is made for a host that cannot run the driver")

	require.NoError(t, Check("overlay2", root, "overlay", 0o710))
	assert.DirExists(t, root, "made once the host can run the driver")
}
