package sandbox

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// envRole tells a process inside the sandbox whether it is the namespace's
// init (pid 1) or the worker that does the real work.
const envRole = "UNIONBENCH_SANDBOX_ROLE"

// runInit is pid 1 of the sandbox's pid namespace. A pid 1 must reap every
// orphan in its namespace (fuse-overlayfs daemons, for one, are orphaned
// when they daemonize), or zombies pile up over a long run; Go's os/exec
// only reaps its own children, so the worker runs as a child of this small
// reaper instead of being pid 1 itself. When the worker exits, init exits
// with its status, and the kernel kills whatever else is left in the
// namespace.
func runInit() {
	// Every stop signal is forwarded to the worker. Ctrl-C at a terminal
	// reaches the worker directly as well (same process group), so it may
	// see SIGINT twice; the worker treats the first as "stop" and ignores
	// the rest. Not forwarding would lose a SIGINT sent with kill(1) to the
	// unionbench process a user started.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)

	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox init:", err)
		os.Exit(1)
	}
	// StartProcess does not de-duplicate the environment and getenv takes
	// the first match, so the old role must go, or the worker would be
	// another init.
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, envRole+"=") {
			env = append(env, e)
		}
	}
	env = append(env, envRole+"=worker")
	worker, err := os.StartProcess(exe, os.Args, &os.ProcAttr{Env: env, Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox init: start worker:", err)
		os.Exit(1)
	}
	go func() {
		for s := range sigs {
			worker.Signal(s)
		}
	}()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "sandbox init: wait:", err)
			os.Exit(1)
		}
		if pid != worker.Pid {
			continue // an orphan, now reaped
		}
		switch {
		case ws.Exited():
			os.Exit(ws.ExitStatus())
		case ws.Signaled():
			os.Exit(128 + int(ws.Signal()))
		}
	}
}
