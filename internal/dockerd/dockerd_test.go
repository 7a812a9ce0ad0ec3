package dockerd

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/internal/sandbox"
)

func TestMain(m *testing.M) { sandbox.RunTests(m) }

// TestStartStop starts a vfs daemon (the one driver that needs nothing of
// the kernel), checks it runs on its own data root with the driver asked
// for, and that Stop leaves neither a mount nor a file.
func TestStartStop(t *testing.T) {
	d := StartT(t, "vfs")
	out, err := d.Docker(t.Context(), "info", "--format", "{{.Driver}} {{.DockerRootDir}}")
	require.NoError(t, err)
	assert.Equal(t, "vfs "+d.DataRoot, strings.TrimSpace(string(out)))
	assert.DirExists(t, d.DriverRoot())
	assert.NotContains(t, d.DataRoot, "/var/lib/docker")

	require.NoError(t, d.Stop())
	_, err = os.Stat(d.Dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "Stop removes the scratch directory")
	mounts, err := mountutil.MountsUnder(d.Dir)
	require.NoError(t, err)
	assert.Empty(t, mounts)
	require.NoError(t, d.Stop(), "a second Stop is harmless")
}

// TestUnknownDriverFailsWithTheLog: a daemon that cannot start says why
// (its log's last lines) and leaves nothing.
func TestUnknownDriverFailsWithTheLog(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	parent := t.TempDir()
	_, err := Start(t.Context(), parent, "no-such-driver")
	require.Error(t, err)
	assert.ErrorContains(t, err, "no-such-driver")
	left, rerr := os.ReadDir(parent)
	require.NoError(t, rerr)
	assert.Empty(t, left)
}
