package quirks

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// cwdProbe runs getcwd(2) in a thread whose working directory is dir,
// after act has changed the tree under it from another thread. The thread
// unshares its fs_struct, so its chdir moves no other thread of this
// process, and it is never unlocked, so the runtime ends it rather than
// reuse it with a private working directory. The thread ends some time
// after the goroutine returns, so it leaves dir first: a cwd in the mount
// would make the unmount that follows the probe fail with EBUSY.
// A setup error means the probe could not be made.
func cwdProbe(dir string, act func() error) (cwd string, cwdErr, actErr, setupErr error) {
	type result struct {
		cwd string
		err error
	}
	ready, proceed := make(chan error), make(chan struct{})
	done := make(chan result)
	home, err := os.Getwd()
	if err != nil {
		return "", nil, nil, err
	}
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			ready <- sysErr("unshare", "CLONE_FS", err)
			return
		}
		defer unix.Chdir(home)
		if err := unix.Chdir(dir); err != nil {
			ready <- sysErr("chdir", dir, err)
			return
		}
		ready <- nil
		<-proceed
		buf := make([]byte, unix.PathMax)
		n, err := unix.Getcwd(buf)
		if n > 0 && buf[n-1] == 0 {
			n--
		}
		done <- result{string(buf[:max(n, 0)]), err}
	}()
	if err := <-ready; err != nil {
		return "", nil, nil, err
	}
	actErr = act()
	close(proceed)
	r := <-done
	return r.cwd, r.err, actErr, nil
}

func getcwdRenamed() Quirk {
	return Quirk{
		ID:       "getcwd-renamed",
		Title:    "getcwd(2) of a process in a lower directory whose parent is renamed",
		Requires: "getcwd returns the new path (POSIX getcwd: the absolute pathname of the current directory)",
		Image:    oneLayer(file("w/sub/a", 64, 100)),
		Probe: func(c *Container) (Outcome, error) {
			cwd, cwdErr, err, setupErr := cwdProbe(c.Path("w/sub"), func() error {
				return unix.Rename(c.Path("w"), c.Path("w2"))
			})
			switch {
			case setupErr != nil:
				return Outcome{}, setupErr
			case err != nil:
				return Outcome{"rename " + errnoName(err), false, fmt.Sprintf("rename of the lower directory w failed (%v); getcwd: %s", err, cwd)}, nil
			case cwdErr != nil:
				return Outcome{"getcwd " + errnoName(cwdErr), false, cwdErr.Error()}, nil
			}
			want := c.Path("w2/sub")
			obs, ok := verdict(cwd == want, "new path", "old or wrong path")
			return Outcome{obs, ok, fmt.Sprintf("getcwd returned %s", rel(c, cwd))}, nil
		},
	}
}

func getcwdRemoved() Quirk {
	return Quirk{
		ID:       "getcwd-removed",
		Title:    "getcwd(2) of a process in a lower directory that is removed",
		Requires: "ENOENT: the directory has no path any more (Linux getcwd(2); POSIX leaves it unspecified)",
		Image:    oneLayer(file("g/keep", 64, 101), layerspecDir("g/sub")),
		Probe: func(c *Container) (Outcome, error) {
			cwd, cwdErr, err, setupErr := cwdProbe(c.Path("g/sub"), func() error {
				return unix.Rmdir(c.Path("g/sub"))
			})
			switch {
			case setupErr != nil:
				return Outcome{}, setupErr
			case err != nil:
				return Outcome{"rmdir " + errnoName(err), false, err.Error()}, nil
			case cwdErr == unix.ENOENT:
				return Outcome{"ENOENT", true, "getcwd after rmdir of the cwd: ENOENT"}, nil
			case cwdErr != nil:
				return Outcome{errnoName(cwdErr), false, "getcwd after rmdir of the cwd: " + cwdErr.Error()}, nil
			}
			return Outcome{"returns a path", false, "getcwd after rmdir of the cwd returned " + cwd}, nil
		},
	}
}
