package fuseoverlayfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/internal/overlayhost"
	"github.com/unionbench/unionbench/drivers/overlay2"
	"github.com/unionbench/unionbench/layerspec"
)

// Name is the driver's registered name.
const Name = "fuse-overlayfs"

// Program is the mount program, looked up on PATH.
const Program = "fuse-overlayfs"

const (
	// DockerMaxLowers is Docker's limit, the same 128 lowers as overlay2
	// (maxDepth in moby's fuse-overlayfs driver), kept as the default so
	// that both drivers are compared on the same stacks.
	DockerMaxLowers = 128
	// MaxLowers is how many lowers this driver lets Options.MaxDepth ask
	// for. fuse-overlayfs keeps its layers in a linked list and has no limit
	// of its own; FUSE does not pass its options through mount(2), so no
	// page limit applies either. What bounds it:
	//   - the -o argument must fit MAX_ARG_STRLEN, 32 pages (128 KiB), or
	//     execve fails with E2BIG. In the relative form an "l/<short>:"
	//     entry is 29 bytes, so 4096 lowers take 116 KiB and leave room for
	//     upperdir, workdir and options;
	//   - it holds one open descriptor per lower layer for its whole life,
	//     so the open-files limit it inherits bounds it too (about 1000
	//     lowers under the common soft limit of 1024: "cannot read lower
	//     dirs: Too many open files"). That depends on the host, so New
	//     checks it by experiment whenever more than Docker's 128 is asked.
	MaxLowers = 4096
	// maxArg is MAX_ARG_STRLEN minus the terminating NUL.
	maxArg = 32*4096 - 1
)

func init() {
	drivers.Register(drivers.Registration{
		Name:    Name,
		Factory: New,
		Doc:     "root; the fuse-overlayfs program (Debian package fuse-overlayfs); /dev/fuse; a backing fs with d_type",
	})
}

// New is the fuse-overlayfs factory. opts.MountOptions are passed to the
// program in its -o list; opts.MaxDepth (in layers) may raise the default
// of 129 (Docker's 128 lowers + the layer) up to MaxLowers+1.
func New(root string, opts drivers.Options) (drivers.Driver, error) {
	d, err := newDriver(root, opts, layerspec.AufsFormat{})
	if err != nil {
		return nil, err // not a nil *overlay2.Driver inside a non-nil interface
	}
	return d, nil
}

// newDriver takes the whiteout format so that tests can check that
// fuse-overlayfs reads overlay's native format too.
func newDriver(root string, opts drivers.Options, format layerspec.WhiteoutFormat) (*overlay2.Driver, error) {
	name := drivers.Variant{Driver: Name, Options: opts.MountOptions}.String()
	if err := overlayhost.CheckOptions(name, opts.MountOptions); err != nil {
		return nil, err
	}
	maxDepth, err := drivers.DepthLimit(name, opts.MaxDepth, DockerMaxLowers+1, MaxLowers+1,
		"the -o argument of 4096 relative lowers must fit in 128 KiB, MAX_ARG_STRLEN")
	if err != nil {
		return nil, err
	}
	if err := overlayhost.Check(Name, root, "fuse", 0o710); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath(Program); err != nil {
		return nil, drivers.NotSupported(Name, "%s not installed (Debian package fuse-overlayfs)", Program)
	}
	if fi, err := os.Stat("/dev/fuse"); err != nil || fi.Mode().Type() != fs.ModeDevice|fs.ModeCharDevice {
		return nil, drivers.NotSupported(Name, "/dev/fuse is missing or not a character device (%v)", err)
	}
	if _, err := overlay2.ProbeMount(root, 2, opts.MountOptions, Mount); err != nil {
		return nil, drivers.Unsupported(Name, err, "test mount of a two-layer stack failed")
	}
	if maxDepth > DockerMaxLowers+1 {
		if _, err := overlay2.ProbeMount(root, maxDepth-1, opts.MountOptions, Mount); err != nil {
			return nil, drivers.Unsupported(Name, err, "a test mount of %d lower layers (MaxDepth %d) failed", maxDepth-1, maxDepth)
		}
	}
	return overlay2.NewDriver(root, overlay2.Config{
		Name:     name,
		Format:   format,
		WorkMode: 0o710,
		MaxDepth: maxDepth,
		Options:  opts.MountOptions,
		Mount:    Mount,
	})
}

// Mount runs fuse-overlayfs -o <data> <merged> from the driver root, as
// Docker does, with absolute paths unless they do not fit in one argument.
// It returns once the program's first process exits, by which time the
// filesystem is mounted and a daemon serves it.
func Mount(spec overlay2.MountSpec) error {
	data := spec.Data(false)
	if len(data) > maxArg {
		data = spec.Data(true)
	}
	if len(data) > maxArg {
		return fmt.Errorf("%s: mount data of %d lowers is %d bytes even with relative paths; one argument takes at most %d (MAX_ARG_STRLEN)",
			Program, len(spec.Lowers), len(data), maxArg)
	}
	cmd := exec.Command(Program, "-o", data, spec.Abs(spec.Target))
	cmd.Dir = spec.Root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// The daemon redirects its stdio to /dev/null before it serves; should
	// it ever keep stderr, do not wait on it forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "<stderr empty>"
		}
		return fmt.Errorf("%s -o %s %s (in %s): %w: %s", Program, abbreviate(data), spec.Abs(spec.Target), spec.Root, err, msg)
	}
	return nil
}

// abbreviate keeps an error message about a 500-layer mount readable.
func abbreviate(s string) string {
	if len(s) <= 300 {
		return s
	}
	return s[:150] + fmt.Sprintf("...(%d bytes)...", len(s)-300) + s[len(s)-150:]
}

var versionRE = regexp.MustCompile(`(?m)^fuse-overlayfs: version (\S+)`)

// Version runs fuse-overlayfs --version and returns its version ("1.10").
func Version() (string, error) {
	out, err := exec.Command(Program, "--version").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%s --version: %w: %s", Program, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("%s --version: %w", Program, err)
	}
	return parseVersion(string(out))
}

func parseVersion(out string) (string, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("%s --version: no \"fuse-overlayfs: version X\" line in %q", Program, out)
	}
	return m[1], nil
}
