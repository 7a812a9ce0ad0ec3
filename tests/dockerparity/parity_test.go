package dockerparity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/images"
	"github.com/unionbench/unionbench/images/imagetest"
	"github.com/unionbench/unionbench/internal/dockerd"
	"github.com/unionbench/unionbench/internal/mountutil"
	"github.com/unionbench/unionbench/internal/testenv"
)

// parityDoc lists every difference from Docker that is deliberate.
const parityDoc = "../../docs/docker-parity.md"

// summaryEnv names a file the test also writes its summary line to: `go
// test ./...` shows nothing of a package that passes, so CI (.ci/run)
// points this at a file and prints it after the run.
const summaryEnv = "UNIONBENCH_PARITY_SUMMARY"

// parityImage is one image the test loads into Docker and makes in
// unionbench under Docker's ids.
type parityImage struct {
	archive string   // the docker save archive `docker load` reads
	ref     string   // what `docker create` names: a tag or the image id
	diffIDs []string // "sha256:<hex>" of each layer tar, bottom first
	// build makes the image's layers in d, layer i under ids[i], bottom
	// first.
	build func(ctx context.Context, d drivers.Driver, ids []string) error
}

// syntheticImage is testImage written as a `docker save` archive for
// Docker, and the same layerspec layers created directly in unionbench.
func syntheticImage(t *testing.T) parityImage {
	t.Helper()
	archive, err := writeArchive(filepath.Join(t.TempDir(), "image.tar"), testImage())
	require.NoError(t, err)
	return parityImage{
		archive: archive.Path,
		ref:     imageTag,
		diffIDs: archive.DiffIDs,
		build: func(ctx context.Context, d drivers.Driver, ids []string) error {
			parent := ""
			for i, l := range testImage() {
				if err := d.Create(ctx, ids[i], parent, l); err != nil {
					return err
				}
				parent = ids[i]
			}
			return nil
		},
	}
}

// debianImage is the real test image (imagetest: a Debian bookworm
// minbase rootfs and the layers over it), the same `docker save` archive
// for both sides: unionbench imports it through the images package, as
// `unionbench run --image` does, from the layers' own tar streams.
func debianImage(t *testing.T) parityImage {
	t.Helper()
	built := imagetest.Build(t)
	im, err := images.Open(built.DockerSave, t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, im.Close()) })
	var diffIDs []string
	for _, d := range im.Config.RootFS.DiffIDs {
		diffIDs = append(diffIDs, d.String())
	}
	return parityImage{
		archive: built.DockerSave,
		ref:     im.ID.String(), // the image id: whatever the archive tags it
		diffIDs: diffIDs,
		build: func(ctx context.Context, d drivers.Driver, ids []string) error {
			_, err := im.ImportIDs(ctx, d, ids)
			return err
		},
	}
}

// TestDockerParity is the oracle test: for each image and driver,
// Docker's driver root, merged view and mount options against
// unionbench's for the same image and container.
func TestDockerParity(t *testing.T) {
	testenv.NeedRoot(t, "the parity test runs dockerd and mounts")
	allow, err := readAllowances(parityDoc)
	require.NoError(t, err)

	var (
		mu                     sync.Mutex // the drivers' subtests run in parallel
		compared, undocumented int
		used                   = make([]bool, len(allow))
	)
	ran := map[parityRun]bool{}
	for _, img := range []struct {
		name, title string
		make        func(*testing.T) parityImage
	}{
		{"synthetic", "synthetic image", syntheticImage},
		{"debian", "Debian test image", debianImage},
	} {
		t.Run(img.name, func(t *testing.T) {
			image := img.make(t)
			for _, driver := range longestFirst(dockerd.Drivers) {
				t.Run(driver, func(t *testing.T) {
					// Each driver has its own dockerd and roots; a Debian
					// rootfs makes each comparison take tens of seconds,
					// mostly Docker's load, so they run side by side (go
					// test's -parallel, GOMAXPROCS by default).
					t.Parallel()
					diffs, n := runParity(t, driver, image)
					mu.Lock()
					defer mu.Unlock()
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
							t.Errorf("undocumented difference from Docker's %s (%s): %s", driver, img.title, d)
						}
					}
					ran[parityRun{img.title, driver}] = true
				})
			}
		})
	}
	line := fmt.Sprintf("parity: %d entries compared (%s), %d undocumented differences", compared, ranWhat(ran), undocumented)
	fmt.Println(line)
	if p := os.Getenv(summaryEnv); p != "" {
		if !filepath.IsAbs(p) {
			t.Fatalf("%s=%q: want an absolute file path", summaryEnv, p)
		}
		require.NoError(t, os.WriteFile(p, []byte(line+"\n"), 0o644))
	}
	complete := len(ran) == 2*len(dockerd.Drivers)
	for _, ok := range ran {
		complete = complete && ok
	}
	if complete && !t.Failed() {
		for i, a := range allow {
			if !used[i] {
				t.Errorf("%s lists a difference that no longer occurs: %q", parityDoc, a.line)
			}
		}
	}
}

// longestFirst orders the drivers for the parallel comparisons: vfs, whose
// layers are full copies (a Debian image's is about three times the
// others' work), starts first, so that it does not run alone at the end.
func longestFirst(drivers []string) []string {
	out := slices.Clone(drivers)
	slices.SortStableFunc(out, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "vfs":
			return -1
		case b == "vfs":
			return 1
		}
		return 0
	})
	return out
}

// parityRun is one comparison: an image's title and a driver.
type parityRun struct{ image, driver string }

// ranWhat says which images and how many drivers the comparison covered:
// "synthetic image + Debian test image, 4 drivers".
func ranWhat(ran map[parityRun]bool) string {
	var imgs []string
	drv := map[string]bool{}
	for r, ok := range ran {
		if ok {
			if !slices.Contains(imgs, r.image) {
				imgs = append(imgs, r.image)
			}
			drv[r.driver] = true
		}
	}
	if len(imgs) == 0 {
		return "no image"
	}
	// The synthetic image first, as the test runs them.
	slices.SortFunc(imgs, func(a, b string) int { return strings.Compare(b, a) })
	return fmt.Sprintf("%s, %d drivers", strings.Join(imgs, " + "), len(drv))
}

// runParity loads image into a dockerd of driver and creates a container,
// makes the same layers and container in unionbench under Docker's ids,
// and returns every difference and how many entries it compared.
func runParity(t *testing.T, driver string, image parityImage) ([]difference, int) {
	ctx := t.Context()
	reg, ok := drivers.Lookup(driver)
	require.True(t, ok, driver)
	ours, err := reg.Factory(filepath.Join(t.TempDir(), driver), drivers.Options{})
	if errors.Is(err, drivers.ErrNotSupported) {
		testenv.Skip(t, "%v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ours.Cleanup()) })
	clock := newPhases()

	dock := dockerd.StartT(t, driver)
	_, err = dock.Docker(ctx, "load", "--quiet", "--input", image.archive)
	require.NoError(t, err)
	out, err := dock.Docker(ctx, "create", "--network", "none", image.ref)
	require.NoError(t, err)
	container := strings.TrimSpace(string(out))
	clock.done("docker")

	// The layer store's names for the driver's layer ids.
	layerdb := filepath.Join(dock.DataRoot, "image", driver, "layerdb")
	var cacheIDs []string
	for _, chain := range chainIDs(image.diffIDs) {
		cacheIDs = append(cacheIDs, readTrim(t, filepath.Join(layerdb, "sha256", strings.TrimPrefix(chain, "sha256:"), "cache-id")))
	}
	mountID := readTrim(t, filepath.Join(layerdb, "mounts", container, "mount-id"))
	require.Equal(t, drivers.InitID(mountID), readTrim(t, filepath.Join(layerdb, "mounts", container, "init-id")))

	// The same layers under the same ids in unionbench.
	require.NoError(t, image.build(ctx, ours, cacheIDs))
	require.NoError(t, drivers.NewContainer(ctx, ours, mountID, cacheIDs[len(cacheIDs)-1]))
	// Docker's create mounts the container once, for volumes and the
	// working directory (daemon createContainerOSSpecificSettings): not the
	// driver's doing, so NewContainer does not, but a first mount changes
	// the layer (overlay's work/work, the upper's trusted.overlay.uuid,
	// uuid=on shown only by the first mount), so the test does the same.
	_, err = ours.Mount(ctx, mountID)
	require.NoError(t, err)
	require.NoError(t, ours.Unmount(mountID))
	clock.done("unionbench")

	var diffs []difference
	total := 0
	add := func(n int, d []difference) { total += n; diffs = append(diffs, d...) }

	// The merged views and the mounts' options.
	ourDir, err := ours.Mount(ctx, mountID)
	require.NoError(t, err)
	dockDir, unmountDocker := mountAsDocker(t, driver, dock.DriverRoot(), mountID)
	same := func(s string) string { return s }
	dm, om, err := snapshotBoth(dockDir, same, ourDir, same)
	require.NoError(t, err)
	if driver == "fuse-overlayfs" {
		// The link count of a hard-linked lower file in a fuse-overlayfs
		// view is what the daemon reports, 1 or 2 from one read of the
		// same layers to the next (seen on Debian's usr/bin/perlbug, on
		// either side); the layers' own link counts are compared in the
		// driver roots (docs/docker-parity.md).
		dm.drop("nlink")
		om.drop("nlink")
	}
	add(compare("merged", dm, om))
	if driver != "vfs" { // vfs mounts nothing
		add(compare("mount",
			mountOptions(t, dockDir, dock.DriverRoot()),
			mountOptions(t, ourDir, ours.Root())))
	}
	clock.done("merged")

	// The driver roots, with both containers unmounted again.
	require.NoError(t, ours.Unmount(mountID))
	unmountDocker()
	dt, ot, err := snapshotBoth(dock.DriverRoot(), shortIDs(t, dock.DriverRoot()), ours.Root(), shortIDs(t, ours.Root()))
	require.NoError(t, err)
	add(compare("root", dt, ot))
	clock.done("root")
	for _, line := range strings.Split(dock.LogTail(400), "\n") {
		if strings.Contains(line, "xattr") || strings.Contains(line, "level=error") {
			t.Log("dockerd: " + line)
		}
	}
	t.Logf("%s: %d entries compared, %d differences (%s)", driver, total, len(diffs), clock)
	return diffs, total
}

// phases times the steps of one comparison, for the log: a real rootfs
// must stay quick to compare.
type phases struct {
	last  time.Time
	steps []string
}

func newPhases() *phases { return &phases{last: time.Now()} }

func (p *phases) done(step string) {
	now := time.Now()
	p.steps = append(p.steps, fmt.Sprintf("%s %v", step, now.Sub(p.last).Round(10*time.Millisecond)))
	p.last = now
}

func (p *phases) String() string { return strings.Join(p.steps, ", ") }

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
