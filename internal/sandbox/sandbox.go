package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Environment variables the parent hands the sandboxed child.
const (
	envInside  = "UNIONBENCH_SANDBOX"         // the parent's mount namespace, proving a re-exec happened
	envScratch = "UNIONBENCH_SANDBOX_SCRATCH" // the scratch directory the parent removes afterwards
)

// Options say what the parent sets up for the child.
type Options struct {
	// ScratchParent is where the scratch directory is made ("" = os.TempDir()).
	// The child sees it as Scratch() and as TMPDIR, so t.TempDir() and
	// os.MkdirTemp land in it and are removed even after kill -9.
	ScratchParent string
	// KeepScratch leaves the scratch directory in place after the child
	// exits (for debugging a failed run).
	KeepScratch bool
	// AfterChild runs in the parent after the child has exited and before the
	// scratch directory is removed; its error turns a zero exit code into 1.
	AfterChild func(scratch string) error
}

// Inside reports whether this process runs in a sandbox made by Enter.
func Inside() bool { return os.Getenv(envInside) != "" }

// Scratch is the scratch directory of this sandbox ("" outside one).
func Scratch() string {
	if !Inside() {
		return ""
	}
	return os.Getenv(envScratch)
}

// ErrNotRoot is returned by Enter when the process cannot make namespaces.
var ErrNotRoot = errors.New("unionbench mounts filesystems and needs root (CAP_SYS_ADMIN): run it with sudo, or as root in a VM")

// Enter puts the program into a sandbox. Outside one, as root, it re-executes
// the program inside one and never returns: it exits with the child's exit
// code (128+signal if the child was killed). Inside one it checks the
// namespace is really private and returns nil. Not as root it returns
// ErrNotRoot and the caller decides whether to go on without mounts.
func Enter(opts Options) error {
	if Inside() {
		if os.Getenv(envRole) == "init" {
			runInit() // never returns
		}
		return verifyInside()
	}
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	os.Exit(runChild(opts))
	return nil
}

func verifyInside() error {
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if ns == os.Getenv(envInside) {
		return fmt.Errorf("sandbox: %s is set but this process shares the parent's mount namespace %s: refusing to mount", envInside, ns)
	}
	// Go's runtime already made / private after unshare(CLONE_NEWNS); doing it
	// again is cheap and makes the guarantee independent of that detail.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("sandbox: make / private: %w", err)
	}
	return nil
}

func runChild(opts Options) int {
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	scratch, lock, err := makeScratch(opts.ScratchParent)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: scratch directory:", err)
		return 1
	}
	defer lock.Close()
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		return 1
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envInside+"="+ns, envScratch+"="+scratch, "TMPDIR="+scratch, envRole+"=init")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   syscall.CLONE_NEWPID,
		Unshareflags: syscall.CLONE_NEWNS,
		// If this parent is killed, so is the child and with it the whole
		// namespace. Pdeathsig fires when the forking thread exits, so the
		// thread stays locked until the child is reaped.
		Pdeathsig: syscall.SIGKILL,
	}

	// Stop signals sent to this process (kill -INT, kill -TERM) are
	// forwarded to the child. Ctrl-C reaches the whole process group, so
	// the worker may get SIGINT more than once; it acts on the first.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)

	code := 0
	runtime.LockOSThread()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: start:", err)
		code = 1
	} else {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
	wait:
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s)
			case err := <-done:
				code = exitCode(cmd, err)
				break wait
			}
		}
	}
	runtime.UnlockOSThread()

	if opts.AfterChild != nil {
		if err := opts.AfterChild(scratch); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	if !opts.KeepScratch {
		// The child's mounts lived only in its namespace, which died with it,
		// so nothing here can be a mount of that run: RemoveAll only sees the
		// plain directories underneath.
		if err := os.RemoveAll(scratch); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox: remove scratch:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

func exitCode(cmd *exec.Cmd, err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "sandbox:", err)
	return 1
}
