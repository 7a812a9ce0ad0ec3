package dockerd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/sandbox"
)

// Drivers are the storage drivers Docker 20.10 has that unionbench also
// builds on this kernel (aufs is not in it).
var Drivers = []string{"overlay2", "overlay", "vfs", "fuse-overlayfs"}

// Programs are the programs Start runs; a missing one is what
// ErrNotInstalled names.
const (
	DaemonProgram = "dockerd"
	// The docker.io client first: a newer client elsewhere in PATH (one
	// may be in /usr/local/bin) talks a newer API than the 20.10 daemon.
	clientProgram = "/usr/bin/docker"
)

// ErrNotInstalled is returned by Start when dockerd or the docker client
// is missing: apt-get install docker.io.
var ErrNotInstalled = errors.New("docker.io is not installed (apt-get install docker.io)")

// How long Start waits for the socket and Stop for the daemon to exit.
var (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// Daemon is one running dockerd.
type Daemon struct {
	Driver string // the storage driver (--storage-driver)
	// Dir is the scratch directory: everything of this daemon is under it
	// but, with DataRootIn, the data root.
	Dir      string
	DataRoot string // --data-root: <Dir>/data, or a new directory under DataRootIn's
	ExecRoot string // --exec-root: <Dir>/exec
	Socket   string // the API socket: <Dir>/docker.sock

	client string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error // the daemon's exit, once exited is closed
}

// Option changes how Start sets a daemon up.
type Option func(*options)

type options struct {
	dataRootIn string // "": <Dir>/data
}

// DataRootIn puts the daemon's --data-root in a new directory under dir
// rather than in its scratch directory, so that it can be on a filesystem
// of the caller's choosing (the backing fs a benchmark measures, whose
// mount point is too long a path for containerd's sockets). Docker keeps
// its TMPDIR there too (<data-root>/tmp: `docker load` unpacks the archive
// into it). Stop unmounts and removes it as it does the scratch directory.
func DataRootIn(dir string) Option {
	return func(o *options) { o.dataRootIn = dir }
}

// Start starts dockerd with storage driver driver in a new directory under
// parent, and returns once its API answers. On failure nothing is left.
// parent must be short (say, under 40 bytes): containerd puts its sockets
// about 60 bytes below it.
func Start(ctx context.Context, parent, driver string, opts ...Option) (_ *Daemon, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	daemon, derr := exec.LookPath(DaemonProgram)
	client := clientProgram
	if _, cerr := os.Stat(client); derr != nil || cerr != nil {
		return nil, fmt.Errorf("dockerd for %s: %w", driver, ErrNotInstalled)
	}
	// A short name: containerd's sockets live under the exec root and a
	// unix socket path has at most 104 bytes.
	if err := ownProc(); err != nil {
		return nil, fmt.Errorf("dockerd for %s: %w", driver, err)
	}
	dir, err := os.MkdirTemp(parent, "dd")
	if err != nil {
		return nil, fmt.Errorf("dockerd for %s: %w", driver, err)
	}
	d := &Daemon{
		Driver:   driver,
		Dir:      dir,
		DataRoot: filepath.Join(dir, "data"),
		ExecRoot: filepath.Join(dir, "exec"),
		Socket:   filepath.Join(dir, "docker.sock"),
		client:   client,
		log:      filepath.Join(dir, "dockerd.log"),
		exited:   make(chan struct{}),
	}
	if o.dataRootIn != "" {
		if d.DataRoot, err = os.MkdirTemp(o.dataRootIn, "docker-data-"); err != nil {
			return nil, errors.Join(fmt.Errorf("dockerd for %s: data root: %w", driver, err), os.RemoveAll(dir))
		}
	}
	logf, err := os.Create(d.log)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("dockerd for %s: %w", driver, err), d.removeDirs())
	}
	defer logf.Close()
	d.cmd = exec.Command(daemon,
		"--data-root", d.DataRoot,
		"--exec-root", d.ExecRoot,
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--host", "unix://"+d.Socket,
		"--storage-driver", driver,
		"--iptables=false", "--ip6tables=false", "--ip-masq=false", "--bridge=none",
		"--userland-proxy=false",
	)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its own process group, so a test's ^C reaches the test, which stops
	// the daemon in order, rather than dockerd and containerd at once. A
	// test binary killed outright takes the daemon with it all the same:
	// the sandbox's PID namespace ends with its first process.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("dockerd for %s: %w", driver, err), d.removeDirs())
	}
	go func() { d.err = d.cmd.Wait(); close(d.exited) }()
	defer func() {
		if err != nil {
			err = errors.Join(err, d.Stop())
		}
	}()
	if err := d.waitReady(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// waitReady polls `docker version` until the daemon answers, it exits, or
// startTimeout passes.
func (d *Daemon) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		if _, err := os.Stat(d.Socket); err == nil {
			if _, err := d.Docker(ctx, "version", "--format", "{{.Server.Version}}"); err == nil {
				return nil
			}
		}
		select {
		case <-d.exited:
			return fmt.Errorf("dockerd for %s exited before it answered (%v): %s", d.Driver, d.err, d.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("dockerd for %s: no answer on %s: %w: %s", d.Driver, d.Socket, ctx.Err(), d.LogTail(20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Docker runs the docker client against this daemon and returns its
// standard output; an error carries the command and its standard error.
func (d *Daemon) Docker(ctx context.Context, args ...string) ([]byte, error) {
	return d.DockerInput(ctx, nil, args...)
}

// DockerInput is Docker with stdin read from in (nil for none).
func (d *Daemon) DockerInput(ctx context.Context, in *os.File, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, d.client, args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+d.Socket, "DOCKER_BUILDKIT=0",
		"DOCKER_CONFIG="+filepath.Join(d.Dir, "client"))
	if in != nil {
		cmd.Stdin = in
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("docker %s (%s daemon): %w: %s", strings.Join(args, " "), d.Driver, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// DriverRoot is Docker's /var/lib/docker/<driver> for this daemon. Docker
// 20.10's fuse-overlayfs driver keeps its layers in
// <data-root>/fuse-overlayfs as well.
func (d *Daemon) DriverRoot() string { return filepath.Join(d.DataRoot, d.Driver) }

// LogTail is the last n lines of the daemon's log, for error messages.
func (d *Daemon) LogTail(n int) string {
	b, _ := os.ReadFile(d.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Stop stops the daemon (SIGTERM, then SIGKILL after stopTimeout; dockerd
// stops the containerd it started itself), unmounts whatever is still
// mounted under its directory and its data root, deepest first, and
// removes them. It is safe to call twice.
func (d *Daemon) Stop() error {
	var errs []error
	if d.cmd != nil && d.cmd.Process != nil {
		select {
		case <-d.exited:
		default:
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.exited:
			case <-time.After(stopTimeout):
				errs = append(errs, fmt.Errorf("dockerd for %s did not stop within %v of SIGTERM: killed", d.Driver, stopTimeout))
				_ = unix.Kill(-d.cmd.Process.Pid, unix.SIGKILL)
				<-d.exited
			}
		}
		// containerd and its shims are in the daemon's process group; one
		// that outlived the daemon would hold the exec root.
		_ = unix.Kill(-d.cmd.Process.Pid, unix.SIGKILL)
	}
	errs = append(errs, d.removeDirs())
	return errors.Join(errs...)
}

// removeDirs unmounts what is mounted under the scratch directory and a
// data root of DataRootIn's, and removes them.
func (d *Daemon) removeDirs() error {
	dirs := []string{d.Dir}
	if !strings.HasPrefix(d.DataRoot, d.Dir+string(filepath.Separator)) {
		dirs = append(dirs, d.DataRoot)
	}
	var errs []error
	for _, dir := range dirs {
		if err := unmountUnder(dir); err != nil {
			errs = append(errs, err)
		} else if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("dockerd for %s: remove %s: %w", d.Driver, dir, err))
		}
	}
	return errors.Join(errs...)
}

// ownProc makes sure /proc is a procfs of this process's PID namespace.
// The sandbox gives tests a PID namespace of their own but leaves the
// host's /proc in place, where containerd's shim cannot find its own
// process (it fails to set oom_score_adj) and runc cannot start a
// container, so `docker build` RUN steps fail. Inside the sandbox's private
// mount namespace a fresh procfs on /proc is seen by nobody else and goes
// with the namespace; outside one, /proc is left alone.
func ownProc() error {
	self, err := os.Readlink("/proc/self")
	if err == nil && self == strconv.Itoa(os.Getpid()) {
		return nil
	}
	if !sandbox.Inside() {
		return nil // the host's own /proc, or not ours to replace
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount a procfs of the sandbox's PID namespace on /proc: %w", err)
	}
	return nil
}

// unmountUnder unmounts every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return fmt.Errorf("mounts under %s: %w", dir, err)
	}
	points := make([]string, 0, len(mounts))
	for _, m := range mounts {
		points = append(points, m.Mountpoint)
	}
	// Longer paths are deeper; a path mounted twice is unmounted twice.
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := unix.Unmount(p, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			if derr := unix.Unmount(p, unix.MNT_DETACH); derr != nil {
				errs = append(errs, fmt.Errorf("unmount %s left by dockerd: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}
