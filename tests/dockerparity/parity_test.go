package dockerparity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/internal/dockerd"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/internal/testenv"
)

// parityDoc lists every difference from Docker that is deliberate.
const parityDoc = "../../docs/docker-parity.md"

// TestDockerParity is the oracle test: for each driver, Docker's driver
// root, merged view and mount options against unionbench's for the same
// image and container.
func TestDockerParity(t *testing.T) {
	testenv.NeedRoot(t, "the parity test runs dockerd and mounts")
	allow, err := readAllowances(parityDoc)
	require.NoError(t, err)
	archive, err := writeArchive(filepath.Join(t.TempDir(), "image.tar"), testImage())
	require.NoError(t, err)

	var compared, undocumented int
	used := make([]bool, len(allow))
	ran := map[string]bool{}
	for _, driver := range dockerd.Drivers {
		t.Run(driver, func(t *testing.T) {
			diffs, n := runParity(t, driver, archive)
			compared += n
			for _, d := range diffs {
				documented := false
				for i, a := range allow {
					if a.matches(driver, d) {
						used[i], documented = true, true
					}
				}
				if !documented {
					undocumented++
					t.Errorf("undocumented difference from Docker's %s: %s", driver, d)
				}
			}
			ran[driver] = !t.Skipped()
		})
	}
	fmt.Printf("parity: %d entries compared, %d undocumented differences\n", compared, undocumented)
	if len(ran) == len(dockerd.Drivers) && !t.Failed() {
		for i, a := range allow {
			if !used[i] && (a.driver == "*" || ran[a.driver]) {
				t.Errorf("%s lists a difference that no longer occurs: %q", parityDoc, a.line)
			}
		}
	}
}

// runParity builds the image and a container in Docker and in unionbench
// with driver and returns every difference and how many entries it
// compared.
func runParity(t *testing.T, driver string, archive imageArchive) ([]difference, int) {
	ctx := t.Context()
	reg, ok := drivers.Lookup(driver)
	require.True(t, ok, driver)
	ours, err := reg.Factory(filepath.Join(t.TempDir(), driver), drivers.Options{})
	if errors.Is(err, drivers.ErrNotSupported) {
		testenv.Skip(t, "%v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ours.Cleanup()) })

	dock := dockerd.StartT(t, driver)
	_, err = dock.Docker(ctx, "load", "--quiet", "--input", archive.Path)
	require.NoError(t, err)
	out, err := dock.Docker(ctx, "create", "--network", "none", imageTag)
	require.NoError(t, err)
	container := strings.TrimSpace(string(out))

	// The layer store's names for the driver's layer ids.
	layerdb := filepath.Join(dock.DataRoot, "image", driver, "layerdb")
	var cacheIDs []string
	for _, chain := range chainIDs(archive.DiffIDs) {
		cacheIDs = append(cacheIDs, readTrim(t, filepath.Join(layerdb, "sha256", strings.TrimPrefix(chain, "sha256:"), "cache-id")))
	}
	mountID := readTrim(t, filepath.Join(layerdb, "mounts", container, "mount-id"))
	require.Equal(t, drivers.InitID(mountID), readTrim(t, filepath.Join(layerdb, "mounts", container, "init-id")))

	// The same layers under the same ids in unionbench.
	parent := ""
	for i, l := range testImage() {
		require.NoError(t, ours.Create(ctx, cacheIDs[i], parent, l))
		parent = cacheIDs[i]
	}
	require.NoError(t, drivers.NewContainer(ctx, ours, mountID, parent))
	// Docker's create mounts the container once, for volumes and the
	// working directory (daemon createContainerOSSpecificSettings): not the
	// driver's doing, so NewContainer does not, but a first mount changes
	// the layer (overlay's work/work, the upper's trusted.overlay.uuid,
	// uuid=on shown only by the first mount), so the test does the same.
	_, err = ours.Mount(ctx, mountID)
	require.NoError(t, err)
	require.NoError(t, ours.Unmount(mountID))

	var diffs []difference
	total := 0
	add := func(n int, d []difference) { total += n; diffs = append(diffs, d...) }

	// The merged views and the mounts' options.
	ourDir, err := ours.Mount(ctx, mountID)
	require.NoError(t, err)
	dockDir, unmountDocker := mountAsDocker(t, driver, dock.DriverRoot(), mountID)
	dm, err := snapshot(dockDir, func(s string) string { return s })
	require.NoError(t, err)
	om, err := snapshot(ourDir, func(s string) string { return s })
	require.NoError(t, err)
	add(compare("merged", dm, om))
	if driver != "vfs" { // vfs mounts nothing
		add(compare("mount",
			mountOptions(t, dockDir, dock.DriverRoot()),
			mountOptions(t, ourDir, ours.Root())))
	}

	// The driver roots, with both containers unmounted again.
	require.NoError(t, ours.Unmount(mountID))
	unmountDocker()
	dt, err := snapshot(dock.DriverRoot(), shortIDs(t, dock.DriverRoot()))
	require.NoError(t, err)
	ot, err := snapshot(ours.Root(), shortIDs(t, ours.Root()))
	require.NoError(t, err)
	add(compare("root", dt, ot))
	for _, line := range strings.Split(dock.LogTail(400), "\n") {
		if strings.Contains(line, "xattr") || strings.Contains(line, "level=error") {
			t.Log("dockerd: " + line)
		}
	}
	t.Logf("%s: %d entries compared, %d differences", driver, total, len(diffs))
	return diffs, total
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

// shortIDs renames the short ids of an overlay2-layout root (Docker draws
// them at random, unionbench derives them) to "<link of ID>", reading each
// layer's link file; other layouts have none and keep their names.
func shortIDs(t *testing.T, root string) func(string) string {
	t.Helper()
	links, err := filepath.Glob(filepath.Join(root, "*", "link"))
	require.NoError(t, err)
	var pairs []string
	for _, l := range links {
		short := readTrim(t, l)
		pairs = append(pairs, short, "<link of "+filepath.Base(filepath.Dir(l))+">")
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// mountAsDocker mounts Docker's container layer mountID the way Docker
// 20.10's driver's Get would (moby daemon/graphdriver/<driver>: the same
// mount data, program and target), for a container Docker has not
// started. It returns the merged view and what unmounts it as Docker's Put
// would (which the end of the test also does, if it has not run).
func mountAsDocker(t *testing.T, driver, root, id string) (string, func()) {
	t.Helper()
	dir := filepath.Join(root, id)
	switch driver {
	case "vfs":
		return filepath.Join(root, "dir", id), func() {}
	case "overlay":
		lowerID := readTrim(t, filepath.Join(dir, "lower-id"))
		data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s",
			filepath.Join(root, lowerID, "root"), filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
		return mountMerged(t, dir, func(target string) error { return unix.Mount("overlay", target, "overlay", 0, data) })
	}
	lowers := strings.Split(readTrim(t, filepath.Join(dir, "lower")), ":")
	for i := range lowers {
		lowers[i] = filepath.Join(root, lowers[i])
	}
	data := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + filepath.Join(dir, "diff") + ",workdir=" + filepath.Join(dir, "work")
	require.Less(t, len(data), unix.Getpagesize(), "the test image is shallow enough for absolute mount data")
	if driver == "fuse-overlayfs" {
		return mountMerged(t, dir, func(target string) error {
			out, err := exec.CommandContext(context.Background(), "fuse-overlayfs", "-o", data, target).CombinedOutput()
			if err != nil {
				return fmt.Errorf("fuse-overlayfs -o %s %s: %w: %s", data, target, err, out)
			}
			return nil
		})
	}
	if _, err := os.Stat("/sys/module/overlay/parameters/index"); err == nil {
		data = "index=off," + data
	}
	return mountMerged(t, dir, func(target string) error { return unix.Mount("overlay", target, "overlay", 0, data) })
}

// mountMerged makes <dir>/merged (0700, as Docker), mounts on it, and
// returns the directory and what unmounts and removes it (once).
func mountMerged(t *testing.T, dir string, mount func(target string) error) (string, func()) {
	t.Helper()
	merged := filepath.Join(dir, "merged")
	require.NoError(t, os.Mkdir(merged, 0o700))
	require.NoError(t, mount(merged))
	var once sync.Once
	unmount := func() {
		once.Do(func() {
			require.NoError(t, mountutil.Unmount(merged))
			require.NoError(t, os.Remove(merged))
		})
	}
	t.Cleanup(unmount)
	return merged, unmount
}

// mountOptions is the mount on dir's options as mountinfo shows them, the
// driver root written <root> and short ids renamed: one entry per option.
func mountOptions(t *testing.T, dir, root string) tree {
	t.Helper()
	mounts, err := mountutil.MountsUnder(dir)
	require.NoError(t, err)
	require.NotEmpty(t, mounts, "nothing mounted on %s", dir)
	m := mounts[len(mounts)-1]
	rename := shortIDs(t, root)
	opts := tree{"fstype": entry{"value": m.FSType}, "source": entry{"value": m.Source}}
	for i, o := range append(strings.Split(m.Options, ","), strings.Split(m.VFSOptions, ",")...) {
		key, val, _ := strings.Cut(o, "=")
		val = rename(strings.ReplaceAll(val, root, "<root>"))
		if i < len(strings.Split(m.Options, ",")) {
			key = "per-mount " + key
		}
		opts[key] = entry{"value": val}
	}
	return opts
}
