package quirks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/layerspec"
	"github.com/unionbench/unionbench/reports/render"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/scenariotest"
)

// Every assertion about a driver below is derived from the kernel's
// Documentation/filesystems/overlayfs.rst (sections named in each comment)
// or from the overlayfs maintainers' account of when each non-standard
// behaviour was fixed (github.com/amir73il/overlayfs wiki, "Overlayfs
// non-standard behavior"), never from a previous run of these probes.

func TestMain(m *testing.M) { scenariotest.Main(m) }

// cell is one quirk on one variant as a run records it.
type cell = render.QuirkResult

// matrix runs qs on the variants through the runner `unionbench quirks`
// uses and returns the recorded cells by variant and quirk, checking that
// the run made every step and left nothing on the backing fs.
func matrix(t *testing.T, fs *backing.FS, variants string, qs []Quirk) map[string]map[string]cell {
	t.Helper()
	vs, err := drivers.ParseList(variants)
	require.NoError(t, err)
	p := &scenarios.Plan{RunID: "matrix", Scenarios: []scenarios.Scenario{RunScenario{Quirks: qs}}, Variants: vs,
		Suite: scenarios.Quick, Count: 1, FS: fs, Host: hostinfo.Read()}
	var recs []results.Record
	_, err = scenarios.Run(context.Background(), p, func(r *results.Record) error {
		require.NoError(t, r.Validate())
		require.NotEqual(t, "all", r.Metric, "a step failed as a whole: %s", r.Why())
		recs = append(recs, *r)
		return nil
	}, nil)
	require.NoError(t, err)
	scenariotest.AssertNothingLeft(t, fs)
	out := map[string]map[string]cell{}
	for _, c := range render.QuirkResults(recs) {
		if out[c.Variant] == nil {
			out[c.Variant] = map[string]cell{}
		}
		out[c.Variant][c.Quirk] = c
	}
	return out
}

// mustCell returns one result that must have run.
func mustCell(t *testing.T, m map[string]map[string]cell, variant, quirk string) cell {
	t.Helper()
	r, ok := m[variant][quirk]
	require.True(t, ok, "no result for %s on %s", quirk, variant)
	require.Equal(t, StatusOK, r.Status, "%s on %s: %s", quirk, variant, r.Detail)
	return r
}

func kernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	rel := hostinfo.Read().Kernel
	parts := strings.SplitN(rel, ".", 3)
	require.GreaterOrEqual(t, len(parts), 2, "kernel release %q", rel)
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	require.NoError(t, errors.Join(err1, err2), "kernel release %q", rel)
	return maj > major || (maj == major && min >= minor)
}

// redirectDirOn says whether the mount creates redirects, from the mount's
// own options or, when it names none, the overlay module's default
// (overlayfs.rst, "renaming directories": the module option and the
// kernel config set the default; the mount option overrides it).
func redirectDirOn(r cell) bool {
	for _, o := range strings.Split(strings.TrimPrefix(r.Mount, "overlay:"), ",") {
		if v, ok := strings.CutPrefix(o, "redirect_dir="); ok {
			return v == "on"
		}
	}
	return hostinfo.Read().Overlay["redirect_dir"] == "Y"
}

func indexOn(r cell) bool {
	for _, o := range strings.Split(strings.TrimPrefix(r.Mount, "overlay:"), ",") {
		if v, ok := strings.CutPrefix(o, "index="); ok {
			return v == "on"
		}
	}
	return hostinfo.Read().Overlay["index"] == "Y"
}

// kernelOverlays are the variants mounted by the kernel's overlayfs that
// run on this host (xino=on is refused by the driver when all layers share
// one filesystem, because the kernel then ignores it; see TestUnsupported).
var kernelOverlays = []string{
	"overlay2", "overlay2+redirect_dir=on", "overlay2+index=on",
	"overlay2+metacopy=on+redirect_dir=on", "overlay2+volatile",
}

func TestQuirkCatalogue(t *testing.T) {
	doc, err := os.ReadFile("../../docs/quirks.md")
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, q := range Catalogue() {
		assert.False(t, seen[q.ID], "duplicate id %s", q.ID)
		seen[q.ID] = true
		assert.NoError(t, drivers.ValidateID(q.ID+".c-init"), "the id names layers")
		assert.NotEmpty(t, q.Title, q.ID)
		assert.NotEmpty(t, q.Requires, q.ID)
		require.NotNil(t, q.Probe, q.ID)
		for i, l := range q.Image() {
			assert.NoError(t, l.Validate(), "%s layer %d", q.ID, i)
		}
		assert.Contains(t, string(doc), "\n## "+q.ID+"\n", "docs/quirks.md documents %s", q.ID)
	}
	assert.GreaterOrEqual(t, len(seen), 30)
	_, err = ParseList("open-ro-rw,nope")
	assert.ErrorContains(t, err, `unknown quirk "nope"`)
}

// The whole catalogue on every driver that runs here, on tmpfs (all layers
// on one filesystem), and the documented behaviours checked against it.
func TestQuirkMatrix(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	all := "overlay,fuse-overlayfs,vfs," + strings.Join(kernelOverlays, ",")
	m := matrix(t, fs, all, Catalogue())
	for v, col := range m {
		for id, r := range col {
			assert.Equal(t, StatusOK, r.Status, "%s on %s ran: %s", id, v, r.Detail)
			assert.NotEmpty(t, r.Observed, "%s on %s", id, v)
		}
	}

	// vfs is plain directories on the backing fs: no union, so every probe
	// must find what POSIX requires. A deviation here is a probe bug, but
	// for one: a vfs layer is a copy of its parent made as Docker's DirCopy
	// makes it, which keeps only security.capability and the opaque xattr,
	// so a lower file's user.* xattr is gone from the container's copy
	// before anything writes it (tests/dockerparity checks that against a
	// real dockerd).
	t.Run("vfs conforms on every quirk", func(t *testing.T) {
		for _, q := range Catalogue() {
			r := mustCell(t, m, "vfs", q.ID)
			if q.ID == "xattr-copyup" {
				assert.False(t, r.POSIX, "%s on vfs: Docker's vfs copies drop user.* xattrs: %s (%s)", q.ID, r.Observed, r.Detail)
				assert.Equal(t, "xattr lost", r.Observed, r.Detail)
				continue
			}
			assert.True(t, r.POSIX, "%s on vfs: %s (%s)", q.ID, r.Observed, r.Detail)
		}
	})

	// overlayfs.rst, "Non-standard behavior" / "redirect_dir": "If this
	// feature is disabled, then rename(2) on a lower or merged directory
	// will fail with EXDEV"; with it (since v4.10) "the directory will be
	// copied up (but not the contents)" and moved. "renaming directories"
	// limits EXDEV to directories "not created on the upper layer".
	t.Run("rename of a lower dir is EXDEV without redirect_dir, works with it", func(t *testing.T) {
		for _, v := range append([]string{"overlay"}, kernelOverlays...) {
			for _, id := range []string{"rename-lower-dir", "rename-lower-dir-empty"} {
				r := mustCell(t, m, v, id)
				if redirectDirOn(r) {
					assert.Equal(t, "renamed", r.Observed, "%s on %s (%s): %s", id, v, r.Mount, r.Detail)
					assert.True(t, r.POSIX)
				} else {
					assert.Equal(t, "EXDEV", r.Observed, "%s on %s (%s): %s", id, v, r.Mount, r.Detail)
					assert.False(t, r.POSIX)
				}
			}
			assert.True(t, mustCell(t, m, v, "rename-upper-dir").POSIX, "%s: a directory made in the upper layer renames", v)
		}
		assert.False(t, redirectDirOn(mustCell(t, m, "overlay2", "rename-lower-dir")), "this host's module default is redirect_dir=N, so plain overlay2 must be the EXDEV case")
		assert.True(t, redirectDirOn(mustCell(t, m, "overlay2+redirect_dir=on", "rename-lower-dir")))
	})

	// overlayfs.rst, "index": "If this feature is disabled and a file with
	// multiple hard links is copied up, then this will 'break' the link.
	// Changes will not be propagated to other names referring to the same
	// inode." The index feature (v4.13) keeps them one inode.
	t.Run("copy-up breaks a lower hard link unless index=on", func(t *testing.T) {
		for _, v := range kernelOverlays {
			w, n := mustCell(t, m, v, "hardlink-write"), mustCell(t, m, v, "hardlink-count")
			if indexOn(w) {
				assert.True(t, w.POSIX, "%s: %s", v, w.Detail)
				assert.True(t, n.POSIX, "%s: %s", v, n.Detail)
			} else {
				assert.Equal(t, "link broken", w.Observed, "%s (%s): %s", v, w.Mount, w.Detail)
				assert.False(t, n.POSIX, "%s: %s", v, n.Detail)
			}
		}
		assert.True(t, indexOn(mustCell(t, m, "overlay2+index=on", "hardlink-write")))
		assert.False(t, indexOn(mustCell(t, m, "overlay2", "hardlink-write")), "Docker's overlay2 mounts index=off")
	})

	// The "Non-standard behavior" list lost "any open files referring to
	// this inode will access the old data" when overlayfs got stacked file
	// operations: per the maintainers' wiki, "a fix for the case of read(2)
	// was merged in kernel v4.19", while data "accessed via a
	// MAP_SHARED|PROT_READ mapped file may still access the old data",
	// which overlayfs.rst still lists as item b).
	t.Run("since 4.19 a read-only fd sees writes, a MAP_SHARED mapping does not", func(t *testing.T) {
		require.True(t, kernelAtLeast(t, 4, 19), "this host runs a kernel older than 4.19")
		for _, v := range append([]string{"overlay"}, kernelOverlays...) {
			r := mustCell(t, m, v, "open-ro-rw")
			assert.Equal(t, "sees the write", r.Observed, "%s: %s", v, r.Detail)
			mm := mustCell(t, m, v, "mmap-shared")
			assert.Equal(t, "old data", mm.Observed, "%s: %s", v, mm.Detail)
			assert.False(t, mm.POSIX)
		}
	})

	// overlayfs.rst, "Non-standard behavior" a): "POSIX mandates updating
	// st_atime for reads. This is currently not done in the case when the
	// file resides on a lower layer."
	t.Run("reading a lower file does not update atime", func(t *testing.T) {
		for _, v := range append([]string{"overlay"}, kernelOverlays...) {
			r := mustCell(t, m, v, "atime-read")
			assert.Equal(t, "not updated", r.Observed, "%s: %s", v, r.Detail)
		}
	})

	// overlayfs.rst, "Overlay objects" and the "Inode properties" table:
	// "In the special case of all overlay layers on the same underlying
	// filesystem, all objects will report an st_dev from the overlay
	// filesystem and st_ino from the underlying filesystem", with st_ino
	// persistent, st_dev uniform and st_ino == d_ino (row "All layers on
	// same fs": Y everywhere). Every layer here is on one tmpfs.
	//
	// Persistence across copy-up is asserted for overlay2 only: overlay's
	// image layers are hard-link farms, every lower file has several links,
	// and with index off a copy-up breaks links (the "index" section), so
	// the copied-up file cannot keep the lower inode's number.
	t.Run("all layers on one fs: uniform st_dev, persistent and unique st_ino", func(t *testing.T) {
		for _, v := range append([]string{"overlay"}, kernelOverlays...) {
			for _, id := range []string{"dev-uniform", "ino-unique"} {
				r := mustCell(t, m, v, id)
				assert.True(t, r.POSIX, "%s on %s: %s (%s)", id, v, r.Observed, r.Detail)
			}
		}
		for _, v := range kernelOverlays {
			r := mustCell(t, m, v, "ino-copyup")
			assert.Equal(t, "kept", r.Observed, "%s: %s", v, r.Detail)
			r = mustCell(t, m, v, "rename-lower-file")
			assert.True(t, r.POSIX, "%s: %s", v, r.Detail)
		}
	})

	// overlayfs.rst, "Metadata only copy up": with metacopy "overlayfs will
	// only copy up metadata (as opposed to whole file), when a metadata
	// specific operation like chown/chmod is performed"; the data is copied
	// "when file is opened for WRITE". The file must still read as before.
	t.Run("metacopy: chmod and chown show, data still read from below", func(t *testing.T) {
		for _, id := range []string{"chmod-copyup", "chown-copyup", "utimes-copyup", "truncate-lower"} {
			r := mustCell(t, m, "overlay2+metacopy=on+redirect_dir=on", id)
			assert.True(t, r.POSIX, "%s: %s (%s)", id, r.Observed, r.Detail)
		}
	})

	// overlayfs.rst, "Directories"/"whiteouts and opaque directories" and
	// "readdir": names are merged ("entries that already exist are not
	// re-added"), whiteouts hide lower names and "a seekdir to the start of
	// the directory (offset 0) followed by a readdir will cause the cache
	// to be discarded and rebuilt".
	t.Run("readdir merges once, whiteouts and rewind show deletes", func(t *testing.T) {
		for _, v := range append([]string{"overlay"}, kernelOverlays...) {
			for _, id := range []string{"readdir-dedup", "readdir-after-delete", "unlink-recreate", "rmdir-mkdir"} {
				r := mustCell(t, m, v, id)
				assert.True(t, r.POSIX, "%s on %s: %s (%s)", id, v, r.Observed, r.Detail)
			}
		}
	})

	// overlayfs.rst, "whiteouts and opaque directories": "A whiteout is
	// created as a character device with 0/0 device number". Such a node
	// in the merged view would read as a deletion, so it cannot exist
	// there as the device the caller asked for: whatever the kernel
	// answers, it is not POSIX's plain device node.
	t.Run("a 0/0 device node cannot be made through overlay", func(t *testing.T) {
		for _, v := range append([]string{"overlay"}, kernelOverlays...) {
			r := mustCell(t, m, v, "mknod-0-0")
			assert.False(t, r.POSIX, "%s: %s (%s)", v, r.Observed, r.Detail)
		}
	})
}

// aufs and its variants, where the kernel has aufs (the guest of
// `unionbench vm` with an aufs kernel), checked against the aufs manual:
// aufs.5 of aufs-util and Documentation/filesystems/aufs of
// aufs-standalone (branch aufs6.1), never against a previous run.
func TestQuirkAufs(t *testing.T) {
	if !hostinfo.HasFilesystem("aufs") {
		t.Skip("aufs is not in /proc/filesystems: run this test binary in an aufs kernel (unionbench vm)")
	}
	// ext4, as `unionbench quirks` uses by default: the guest's tmpfs
	// refuses the user.* xattr xattr-copyup's layer carries.
	fs := scenariotest.NewFS(t, backing.Ext4, 1<<30)
	aufs := []string{"aufs", "aufs+dirren", "aufs+udba=notify", "aufs+udba=none"}
	m := matrix(t, fs, strings.Join(aufs, ",")+",vfs", Catalogue())
	for _, v := range aufs {
		for _, q := range Catalogue() {
			mustCell(t, m, v, q.ID)
		}
		assert.Contains(t, mustCell(t, m, v, "statfs").Observed, "aufs")
	}

	// aufs.5, "Incompatible with an Ordinary Filesystem": without dirren,
	// rename(2) of a directory "exists on the lower readonly branch and
	// it has child/children" returns EXDEV; design/06dirren.txt: dirren
	// records the rename instead (case D).
	t.Run("populated lower dir: EXDEV, renamed with dirren; empty lower dir: renamed", func(t *testing.T) {
		for _, v := range aufs {
			r := mustCell(t, m, v, "rename-lower-dir")
			if v == "aufs+dirren" {
				assert.Equal(t, "renamed", r.Observed, "%s: %s", v, r.Detail)
			} else {
				assert.Equal(t, "EXDEV", r.Observed, "%s: %s", v, r.Detail)
			}
			e := mustCell(t, m, v, "rename-lower-dir-empty")
			assert.Equal(t, "renamed", e.Observed, "%s: %s", v, e.Detail)
		}
	})

	// aufs.5, "Pseudo Link (hardlink over branches)": aufs "handles fileB
	// as if it existed on the writable branch, by referencing fileA's
	// inode" (plink is the default).
	t.Run("a write through one lower hard link shows through the other", func(t *testing.T) {
		for _, v := range aufs {
			r := mustCell(t, m, v, "hardlink-write")
			assert.Equal(t, "other link sees it", r.Observed, "%s: %s", v, r.Detail)
			assert.True(t, mustCell(t, m, v, "hardlink-count").POSIX, v)
		}
	})

	// aufs.5, "Incompatible with an Ordinary Filesystem": "The whiteout
	// prefix (.wh.) is reserved on all branches."
	t.Run("names with the whiteout prefix cannot be made", func(t *testing.T) {
		for _, v := range aufs {
			r := mustCell(t, m, v, "name-wh-prefix")
			assert.False(t, r.POSIX, "%s: %s (%s)", v, r.Observed, r.Detail)
		}
		assert.True(t, mustCell(t, m, "vfs", "name-wh-prefix").POSIX)
	})

	// The variants' own options are in force in every container
	// (aufs_show_options lists what differs from the defaults).
	t.Run("each variant's option shows in its mounts", func(t *testing.T) {
		for v, opt := range map[string]string{"aufs+dirren": "dirren", "aufs+udba=notify": "udba=notify", "aufs+udba=none": "udba=none"} {
			assert.Contains(t, strings.Split(mustCell(t, m, v, "open-ro-rw").Mount, ","), opt, v)
		}
		assert.NotContains(t, mustCell(t, m, "aufs", "open-ro-rw").Mount, "si=", "the per-mount id is left out")
	})
}

// overlayfs.rst, "Volatile mount": "all forms of sync calls to the upper
// filesystem are omitted". An fsync on overlay2+volatile therefore sends
// nothing to the device, while plain overlay2 (and vfs) must. That needs a
// block device to count writes on, hence ext4 on a loop device.
func TestQuirkVolatileSkipsFsync(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Ext4, 1<<30)
	qs, err := ParseList("fsync-copyup")
	require.NoError(t, err)
	m := matrix(t, fs, "overlay2,overlay2+volatile,vfs", qs)
	for _, v := range []string{"overlay2", "vfs"} {
		r := mustCell(t, m, v, "fsync-copyup")
		assert.Equal(t, "data on device", r.Observed, "%s: %s", v, r.Detail)
	}
	r := mustCell(t, m, "overlay2+volatile", "fsync-copyup")
	assert.Equal(t, "returns 0, not synced", r.Observed, r.Detail)
	assert.False(t, r.POSIX)
}

// A variant the host cannot run gives one n/a result per quirk, with the
// driver's reason, and a probe never panics the run.
func TestQuirkUnsupportedIsData(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	qs := Catalogue()[:3]
	// aufs is the other example where the kernel has none (every host but
	// an aufs kernel's guest).
	vs := []string{"overlay2+xino=on"}
	if !hostinfo.HasFilesystem("aufs") {
		vs = append(vs, "aufs")
	}
	m := matrix(t, fs, strings.Join(vs, ","), qs)
	for _, v := range vs {
		require.Len(t, m[v], len(qs), v)
		for _, q := range qs {
			r := m[v][q.ID]
			assert.Equal(t, StatusUnsupported, r.Status, "%s on %s", q.ID, v)
			assert.Equal(t, "n/a", r.Observed)
			assert.NotEmpty(t, r.Detail)
		}
	}
	if slices.Contains(vs, "aufs") {
		assert.Contains(t, m["aufs"]["open-ro-rw"].Detail, "/proc/filesystems")
	}
}

// A probe that fails, panics or leaves a process running in the container
// still leaves no mount and no layer behind.
func TestQuirkFailingProbesCleanUp(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	image := oneLayer(file("a", 64, 1))
	qs := []Quirk{
		{ID: "fails", Image: image, Probe: func(c *Container) (Outcome, error) {
			return Outcome{}, fmt.Errorf("setup failed")
		}},
		{ID: "panics", Image: image, Probe: func(c *Container) (Outcome, error) { panic("boom") }},
		{ID: "busy", Image: image, Exec: true, Probe: func(c *Container) (Outcome, error) {
			cmd := exec.Command(c.Path(ExecPath), "60")
			cmd.Dir = c.Dir
			if err := cmd.Start(); err != nil {
				return Outcome{}, err
			}
			c.Defer(func() error { cmd.Process.Kill(); cmd.Wait(); return nil })
			fd, err := unix.Open(c.Path("a"), unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return Outcome{}, err
			}
			c.Defer(func() error { return unix.Close(fd) })
			return Outcome{"held", true, ""}, nil
		}},
		{ID: "bad-image", Image: func() []*layerspec.Layer {
			return []*layerspec.Layer{{Entries: []layerspec.Entry{{Path: "../x", Kind: layerspec.File}}}}
		}, Probe: func(c *Container) (Outcome, error) { return Outcome{}, nil }},
	}
	m := matrix(t, fs, "overlay2,fuse-overlayfs,vfs", qs)
	for v, col := range m {
		assert.Equal(t, StatusError, col["fails"].Status, v)
		assert.Contains(t, col["fails"].Detail, "setup failed")
		assert.Equal(t, StatusError, col["panics"].Status, v)
		assert.Contains(t, col["panics"].Detail, "boom")
		assert.Equal(t, StatusOK, col["busy"].Status, "%s: %s", v, col["busy"].Detail)
		assert.Equal(t, StatusError, col["bad-image"].Status, v)
	}
}

// A result is a measurement that says what it is: a behaviour, higher
// (POSIX) is better, exact; an unsupported or failed probe says so with
// the detail.
func TestQuirkMeasurements(t *testing.T) {
	for _, r := range []Result{
		{Driver: "vfs", Variant: "vfs", Quirk: "open-ro-rw", Observed: "sees the write", POSIX: true, Status: StatusOK},
		{Driver: "overlay2", Variant: "overlay2", Quirk: "rename-lower-dir", Observed: "EXDEV", Status: StatusOK, Mount: "overlay:rw"},
		{Driver: "aufs", Variant: "aufs", Quirk: "open-ro-rw", Observed: "n/a", Detail: "not here", Status: StatusUnsupported},
		{Driver: "vfs", Variant: "vfs", Quirk: "open-ro-rw", Observed: "error", Detail: "boom", Status: StatusError},
	} {
		m := r.Measurement()
		assert.Equal(t, r.Quirk, m.Metric)
		assert.Equal(t, Unit, m.Unit)
		assert.Equal(t, results.Higher, m.Better)
		assert.True(t, m.Exact)
		assert.Empty(t, m.Floor)
		assert.Equal(t, r.Observed, m.Extra["observed"])
		switch {
		case r.Status == StatusUnsupported:
			assert.Equal(t, results.Unsupported, m.Status)
			assert.EqualError(t, m.Err, r.Detail)
			assert.Empty(t, m.Samples)
		case r.Status == StatusError:
			assert.Equal(t, results.Failed, m.Status)
			assert.EqualError(t, m.Err, r.Detail)
		case r.POSIX:
			assert.Equal(t, []float64{1}, m.Samples)
		default:
			assert.Equal(t, []float64{0}, m.Samples)
		}
	}
	s := RunScenario{Quirks: Catalogue()[:2]}
	assert.Equal(t, []string{Catalogue()[0].ID, Catalogue()[1].ID}, s.Metrics(scenarios.Case{}), "the selection's quirks")
	assert.Len(t, RunScenario{}.Metrics(scenarios.Case{}), len(Catalogue()))
}

// As a row of `unionbench run`, the catalogue is one measurement per
// quirk: on vfs (plain directories) every one of them is POSIX.
func TestQuirkScenarioInRun(t *testing.T) {
	fs := scenariotest.NewFS(t, backing.Tmpfs, 1<<30)
	env := scenariotest.Env(t, fs, "vfs")
	s := RunScenario{}
	require.Len(t, s.Cases(scenarios.Quick), 1)
	ms, err := s.Measure(context.Background(), env, s.Cases(scenarios.Quick)[0], 5)
	require.NoError(t, err)
	require.Len(t, ms, len(Catalogue()))
	for i, m := range ms {
		assert.Equal(t, Catalogue()[i].ID, m.Metric)
		assert.NoError(t, m.Err)
		want := []float64{1}
		if m.Metric == "xattr-copyup" {
			want = []float64{0} // Docker's vfs copies drop user.* xattrs (TestQuirkMatrix)
		}
		assert.Equal(t, want, m.Samples, "%s on vfs: %v", m.Metric, m.Extra["observed"])
	}
	scenariotest.AssertNothingLeft(t, fs)
}
