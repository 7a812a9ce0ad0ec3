// Package imagetest builds the test image the image tests and benchmarks
// run on, with the real tools and from real Debian packages, as the image
// an operator pulls is made: `mmdebstrap --variant=minbase bookworm` makes
// a root filesystem, a real Docker daemon (Debian's docker.io, 20.10,
// started by internal/dockerd on a scratch data root with the overlay2
// driver) `docker import`s it and `docker build`s three RUN steps on it
// (the Dockerfile is dockerfile below): an application with many small
// files, a large file, hard links, symlinks, a fifo, a device node and a
// file with a capability (setcap); a clean-up that deletes files
// (whiteouts) and replaces directories (opaque); and a last step that
// makes a deleted name again. `docker save` writes the archive (Docker
// 20.10's form, uncompressed layer tars), and skopeo copies it to an OCI
// layout directory (gzip layers) and to a tar of an OCI layout (zstd
// layers). So every layer tar the tests read is one Docker wrote itself.
//
// Building takes a few minutes (mmdebstrap fetches from Debian's archive,
// then the daemon builds), so the result is kept under testenv.CacheDir,
// keyed by a hash of the recipe; concurrent test packages wait for one
// build on a file lock. The daemon is stopped and its data root removed
// before Build returns; it runs in the caller's mount namespace, so Build
// must be called from a test run inside internal/sandbox.
//
// BadImages writes the broken and hostile images of the refusal tests by
// hand (write.go): no real tool makes those.
package imagetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/dockerd"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
)

// recipe names this version of the build; change it whenever what Build
// makes changes, so a cached image of an older recipe is not reused.
var recipe = "unionbench-testimage-v2 mmdebstrap --variant=minbase --include=libcap2-bin bookworm | docker.io 20.10 build | skopeo copy\n" + dockerfile("unionbench-base")

// What the image's layers hold, for tests to check. Layer 0 is the
// imported root filesystem and each RUN step of dockerfile makes one more.
const (
	SmallFiles   = 2000          // app/small/fNNNN, 1 KiB each (layer 1)
	Deleted      = 100           // app/small/f0000..f0099 whited out (layer 2)
	BigFile      = "app/big.bin" // layer 1
	BigSize      = 32 << 20
	CapFile      = "app/bin/pinger" // carries security.capability, cap_net_raw+ep (layer 1)
	HardLink     = "app/bin/tool-link"
	HardTarget   = "app/bin/tool"
	OpaqueDir    = "etc/apt/apt.conf.d" // replaced in layer 2 (a base directory)
	OpaqueKept   = "etc/apt/apt.conf.d/99unionbench"
	LayerCount   = 4
	RecreatedDel = "app/small/f0000" // deleted in layer 2, made again in layer 3
	Tag          = "unionbench/test:latest"
)

// dockerfile is what Docker builds on the imported base image: one RUN per
// layer, so the image has LayerCount layers (ENV and CMD add none).
func dockerfile(base string) string {
	return fmt.Sprintf(`FROM %[1]s
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN set -e; mkdir -p /app/bin /app/small /app/conf /app/dev; \
    for n in $(seq -f %%04g 0 %[2]d); do yes "small file $n" | head -c 1024 > /app/small/f$n; done; \
    head -c %[3]d /dev/urandom > /%[4]s; \
    printf '#!/bin/sh\necho tool\n' > /%[5]s; chmod 755 /%[5]s; ln /%[5]s /%[6]s; \
    printf '#!/bin/sh\nexit 0\n' > /%[7]s; chmod 755 /%[7]s; setcap cap_net_raw+ep /%[7]s; \
    ln -s /app/bin /app/current; ln -s bin/tool /app/rel; \
    mkfifo -m 644 /app/dev/fifo; mknod -m 666 /app/dev/null c 1 3; \
    for i in 0 1 2 3 4 5 6 7 8 9; do echo old > /app/conf/c$i.conf; done
RUN set -e; for n in $(seq -f %%04g 0 %[8]d); do rm /app/small/f$n; done; \
    cd /usr/share/doc; ls | head -n 5 | xargs rm -r; \
    rm -r /%[9]s; mkdir /%[9]s; echo 'APT::Install-Recommends "false";' > /%[10]s; \
    rm -r /app/conf; mkdir /app/conf; echo new > /app/conf/new.conf
RUN set -e; echo 'made again' > /%[11]s; chmod 600 /%[11]s; echo 'unionbench test image' > /etc/unionbench-release
CMD ["/bin/sh", "-c", "true"]
`, base, SmallFiles-1, BigSize, BigFile, HardTarget, HardLink, CapFile, Deleted-1, OpaqueDir, OpaqueKept, RecreatedDel)
}

// Image is where the built test image is.
type Image struct {
	DockerSave string // docker save archive, uncompressed layers (Docker 20.10's form)
	OCIDir     string // OCI image layout directory, gzip layers (skopeo copy)
	OCITar     string // tar of an OCI image layout, zstd layers (skopeo copy)
}

// Build returns the test image, building it on first use. It skips the
// test (fails it under CI=true) without root, mmdebstrap, docker.io or
// skopeo.
func Build(t testing.TB) Image {
	t.Helper()
	testenv.NeedRoot(t, "mmdebstrap and dockerd build the test image as root")
	if !sandbox.Inside() {
		t.Fatal("imagetest.Build runs dockerd in the caller's mount namespace: call it from a test run by sandbox.RunTests")
	}
	tools := buildTools{
		mmdebstrap: testenv.NeedTool(t, "mmdebstrap", "mmdebstrap"),
		skopeo:     testenv.NeedTool(t, "skopeo", "skopeo"),
	}
	sum := sha256.Sum256([]byte(recipe))
	key := hex.EncodeToString(sum[:8])
	cache := testenv.CacheDir(t, "images")
	dir := filepath.Join(cache, key)
	im := Image{
		DockerSave: filepath.Join(dir, "save.tar"),
		OCIDir:     filepath.Join(dir, "oci"),
		OCITar:     filepath.Join(dir, "oci-zstd.tar"),
	}
	lock, err := os.OpenFile(filepath.Join(cache, key+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return im
	}
	start := time.Now()
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := tools.build(ctx, tmp, t.Logf); err != nil {
		os.RemoveAll(tmp)
		if errors.Is(err, dockerd.ErrNotInstalled) {
			testenv.Skip(t, "building the test image: %v", err)
		}
		t.Fatalf("building the test image: %v", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "done"), []byte(recipe), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the test image in %s (%v)", dir, time.Since(start).Round(time.Second))
	return im
}

// buildTools are the programs build runs (dockerd is internal/dockerd's).
type buildTools struct{ mmdebstrap, skopeo string }

// build makes the image's three forms in dir: save.tar, oci/ and
// oci-zstd.tar. It logs how long each tool took, which says where a slow
// build spent its time (the network, the daemon or the copies).
func (b buildTools) build(ctx context.Context, dir string, logf func(string, ...any)) (err error) {
	step := time.Now()
	took := func(what string) {
		logf("test image: %s took %v", what, time.Since(step).Round(100*time.Millisecond))
		step = time.Now()
	}
	rootfs := filepath.Join(dir, "rootfs.tar")
	if err := run(ctx, b.mmdebstrap, "--quiet", "--variant=minbase", "--include=libcap2-bin", "bookworm", rootfs); err != nil {
		return err
	}
	took("mmdebstrap")
	defer func() { err = errors.Join(err, os.Remove(rootfs)) }()
	// os.TempDir is the sandbox's scratch directory: short enough for
	// containerd's socket paths, and gone with the sandbox even if the
	// daemon is killed.
	d, err := dockerd.Start(ctx, os.TempDir(), "overlay2")
	if err != nil {
		return err
	}
	// The daemon is stopped as soon as the archive is saved (skopeo needs
	// no daemon); on a failure before that, here.
	stop := d.Stop
	defer func() {
		if stop != nil {
			err = errors.Join(err, stop())
		}
	}()
	if err := d.Import(ctx, rootfs, "unionbench-base"); err != nil {
		return err
	}
	if err := d.Build(ctx, dockerfile("unionbench-base"), Tag); err != nil {
		return fmt.Errorf("%w\n%s", err, d.LogTail(20))
	}
	save := filepath.Join(dir, "save.tar")
	if err := d.Save(ctx, Tag, save); err != nil {
		return err
	}
	err, stop = stop(), nil
	if err != nil {
		return err
	}
	took("dockerd start, import, build, save and stop")
	// skopeo's signature policy is for pulls; these are local files, and
	// the host's /etc/containers is not the tests' to depend on.
	src := "docker-archive:" + save
	if err := run(ctx, b.skopeo, "--insecure-policy", "copy", "--quiet", src, "oci:"+filepath.Join(dir, "oci")+":unionbench"); err != nil {
		return err
	}
	if err := run(ctx, b.skopeo, "--insecure-policy", "copy", "--quiet", "--dest-compress-format", "zstd",
		src, "oci-archive:"+filepath.Join(dir, "oci-zstd.tar")+":unionbench"); err != nil {
		return err
	}
	took("skopeo copy (gzip layout, zstd layout tar)")
	return nil
}

// run runs a build program; its error carries the command and its output.
func run(ctx context.Context, prog string, args ...string) error {
	cmd := exec.CommandContext(ctx, prog, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}
