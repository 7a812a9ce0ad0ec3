package dockerparity

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/dockerd"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/internal/testenv"
)

// TestDockerMountIsReproduced checks the test's own stand-in for Docker's
// mount (mountAsDocker, which TestDockerParity compares unionbench's mount
// with) against Docker's real one: Docker starts a container of a busybox
// image, the test reads the container's mount from mountinfo (dockerd
// mounts in the test's own mount namespace), Docker stops it, and
// mountAsDocker must make the very same mount of the same layer.
func TestDockerMountIsReproduced(t *testing.T) {
	testenv.NeedRoot(t, "dockerd mounts")
	busybox := testenv.NeedTool(t, "busybox", "busybox-static")
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	require.NoError(t, dockerd.BusyboxRootfs(busybox, rootfs))
	for _, driver := range []string{"overlay2", "overlay", "fuse-overlayfs"} {
		t.Run(driver, func(t *testing.T) {
			ctx := t.Context()
			dock := dockerd.StartT(t, driver)
			require.NoError(t, dock.Import(ctx, rootfs, "bb"))
			out, err := dock.Docker(ctx, "run", "--detach", "--network", "none", "bb", "sleep", "600")
			require.NoError(t, err)
			container := strings.TrimSpace(string(out))
			mountID := readTrim(t, filepath.Join(dock.DataRoot, "image", driver, "layerdb", "mounts", container, "mount-id"))
			merged := filepath.Join(dock.DriverRoot(), mountID, "merged")
			real := mountOn(t, merged)

			_, err = dock.Docker(ctx, "rm", "--force", container)
			require.NoError(t, err)
			// Docker's Put unmounts (MNT_DETACH) and removes merged/ once
			// the container is gone; the layer stays until the rm ends.
			require.Eventually(t, func() bool {
				m, err := mountutil.MountsUnder(merged)
				return err == nil && len(m) == 0
			}, 10*time.Second, 50*time.Millisecond)
			// rm --force removed the layer too, so make it again the way
			// the test's mount needs it: recreate a container and stop it
			// before it starts anything.
			out, err = dock.Docker(ctx, "create", "--network", "none", "bb", "sleep", "600")
			require.NoError(t, err)
			container = strings.TrimSpace(string(out))
			mountID = readTrim(t, filepath.Join(dock.DataRoot, "image", driver, "layerdb", "mounts", container, "mount-id"))
			dir, unmount := mountAsDocker(t, driver, dock.DriverRoot(), mountID)
			ours := mountOn(t, dir)
			unmount()

			t.Logf("Docker's own mount: %s %s %s", real.FSType, real.Options, real.VFSOptions)
			// The two containers differ in their mount id only.
			assert.Equal(t, real.FSType, ours.FSType)
			assert.Equal(t, real.Options, ours.Options)
			assert.Equal(t, len(real.VFSOptions), len(ours.VFSOptions), "same data length: %s\n%s", real.VFSOptions, ours.VFSOptions)
			assert.Equal(t, normalizeIDs(real.VFSOptions), normalizeIDs(ours.VFSOptions))
		})
	}
}

// mountInfo is what the comparison reads of one mount.
type mountInfo struct{ FSType, Options, VFSOptions string }

func mountOn(t *testing.T, dir string) mountInfo {
	t.Helper()
	mounts, err := mountutil.MountsUnder(dir)
	require.NoError(t, err)
	require.NotEmpty(t, mounts, "nothing mounted on %s", dir)
	m := mounts[len(mounts)-1]
	return mountInfo{m.FSType, m.Options, m.VFSOptions}
}

// normalizeIDs replaces 64-hex layer ids and 26-character short ids, which
// differ between two containers of one image, in mount options.
func normalizeIDs(s string) string {
	return shortOrLong.ReplaceAllString(s, "<id>")
}
