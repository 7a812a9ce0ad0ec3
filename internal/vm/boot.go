package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/sandbox"
)

// Options say how to boot each kernel.
type Options struct {
	Qemu      string // qemu-system-x86_64 binary ("" = from PATH)
	Accel     Accel  // KVM or TCG
	MemoryMiB int    // guest memory
	CPUs      int    // guest CPUs
	// ICount, with TCG, makes the guest's clock qemu's instruction
	// counter (-icount shift=ICountShift,sleep=off): guest time is the
	// instructions the guest ran, 2^ICountShift ns each, whatever the host
	// was doing meanwhile, and idle time passes at once.
	ICount       bool
	ICountShift  int
	DiskBytes    int64         // size of the sparse scratch disk
	Timeout      time.Duration // the whole boot, commands included
	BootTimeout  time.Duration // until the guest's init is ready (0: Timeout)
	Unionbench   string        // the unionbench binary the guest runs
	ExtraModules []string      // loaded after RequiredModules
	Payloads     []string      // further programs for GuestCommand.Program (PayloadPath); distinct file names
	WorkDir      string        // where the initramfs and scratch image live while the guest runs (a directory sandbox.Clean reaps)
	Progress     io.Writer     // markers and the guest commands' output, for the person watching
}

// Result is what one boot did; Boot writes it as vm.json beside the
// results.
type Result struct {
	Release       string          `json:"release"`
	Source        string          `json:"source"`
	Accel         Accel           `json:"accel"`
	Emulated      bool            `json:"emulated"`
	ICount        string          `json:"icount,omitempty"` // qemu's -icount, when the guest's clock counted instructions
	Qemu          string          `json:"qemu"`
	QemuArgs      []string        `json:"qemu_args"`
	MemoryMiB     int             `json:"memory_mib"`
	CPUs          int             `json:"cpus"`
	Modules       []string        `json:"modules"`
	Builtin       []string        `json:"builtin_modules,omitempty"`
	Tools         []string        `json:"tools"`
	ToolsMissing  []string        `json:"tools_missing,omitempty"`
	InitramfsSize int64           `json:"initramfs_bytes"`
	KernelSeconds float64         `json:"kernel_seconds"` // guest uptime when init started
	BootSeconds   float64         `json:"boot_seconds"`   // host wall clock from qemu start to init ready
	TotalSeconds  float64         `json:"total_seconds"`  // host wall clock from qemu start to its exit
	Commands      []CommandResult `json:"commands"`
	ConsoleLog    string          `json:"console_log"`
	Error         string          `json:"error,omitempty"`
}

// CommandResult is one command's outcome in the guest.
type CommandResult struct {
	Program  string   `json:"program,omitempty"` // "": unionbench
	Args     []string `json:"args"`
	Dir      string   `json:"dir"`
	ExitCode int      `json:"exit_code"` // -1: never finished
	Seconds  float64  `json:"seconds"`
}

// Failed lists the commands that did not exit 0.
func (r *Result) Failed() []CommandResult {
	var out []CommandResult
	for _, c := range r.Commands {
		if c.ExitCode != 0 {
			out = append(out, c)
		}
	}
	return out
}

// BootError is a guest that did not finish: it timed out, panicked, or its
// init failed. It names the kernel and the console log, which says why.
type BootError struct {
	Release, Log, What string
}

func (e *BootError) Error() string {
	return fmt.Sprintf("kernel %s: %s; console log: %s", e.Release, e.What, e.Log)
}

// Boot runs cmds in a guest booted from k, with dir (created, and empty)
// shared as the guest's /results. It returns the boot's Result (also
// written to dir/vm.json) and a *BootError when the guest did not finish;
// a command that exited non-zero is in Result, not an error.
func Boot(ctx context.Context, k *Kernel, cmds []GuestCommand, dir string, opts Options) (*Result, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Release: k.Release, Source: k.Source, Accel: opts.Accel, Emulated: opts.Accel == TCG, ICount: icountArg(opts),
		MemoryMiB: opts.MemoryMiB, CPUs: opts.CPUs,
		ConsoleLog: filepath.Join(dir, "console.log"),
	}
	for _, c := range cmds {
		res.Commands = append(res.Commands, CommandResult{Program: c.Program, Args: c.Args, Dir: c.Dir, ExitCode: -1})
	}
	err = boot(ctx, k, cmds, dir, opts, res)
	if err != nil {
		res.Error = err.Error()
	}
	if b, jerr := json.MarshalIndent(res, "", "  "); jerr == nil {
		if werr := os.WriteFile(filepath.Join(dir, "vm.json"), append(b, '\n'), 0o644); werr != nil && err == nil {
			err = werr
		}
	}
	return res, err
}

func boot(ctx context.Context, k *Kernel, cmds []GuestCommand, dir string, opts Options, res *Result) error {
	qemu := opts.Qemu
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	qemuPath, err := exec.LookPath(qemu)
	if err != nil {
		return fmt.Errorf("%s not found (Debian package qemu-system-x86): %w", qemu, err)
	}
	if out, err := exec.Command(qemuPath, "--version").Output(); err == nil {
		res.Qemu, _, _ = strings.Cut(string(out), "\n")
	}

	var mods []Module
	want := append(append([]string{}, RequiredModules...), opts.ExtraModules...)
	if k.ModulesDir != "" {
		if mods, res.Builtin, err = ResolveModules(k.ModulesDir, want); err != nil {
			return fmt.Errorf("kernel %s: %w", k.Release, err)
		}
	} else if len(opts.ExtraModules) > 0 {
		return fmt.Errorf("kernel %s: --module %s: %w", k.Release, strings.Join(opts.ExtraModules, ","), errNoModules)
	}
	cfg := GuestConfig{
		Release: k.Release, ScratchDevice: scratchDev, ScratchMount: guestScratch,
		ResultsTag: resultsTag, Commands: cmds,
	}
	for _, m := range mods {
		res.Modules = append(res.Modules, m.Name)
		cfg.Modules = append(cfg.Modules, filepath.Join("/lib/modules", k.Release, m.Rel))
	}
	names := map[string]string{}
	for _, p := range opts.Payloads {
		if prev, ok := names[PayloadPath(p)]; ok {
			return fmt.Errorf("payloads %s and %s: both would be %s in the guest", prev, p, PayloadPath(p))
		}
		names[PayloadPath(p)] = p
	}
	res.Tools, res.ToolsMissing = LookupTools()
	hostOS, _ := os.ReadFile("/etc/os-release")

	// A scratch directory with an owner lock: if unionbench is killed
	// before the deferred removal, the next run or `unionbench clean` of
	// the same work directory finds the lock free and removes the image.
	tmp, lock, err := sandbox.MakeScratch(opts.WorkDir)
	if err != nil {
		return fmt.Errorf("scratch directory for the guest's disk in %s: %w", opts.WorkDir, err)
	}
	defer lock.Close()
	defer os.RemoveAll(tmp) // image files only: the host never mounts them
	initrd := filepath.Join(tmp, "initramfs.cpio")
	if err := writeInitramfs(initrd, &Initramfs{
		Unionbench: opts.Unionbench, Release: k.Release, Modules: mods,
		Tools: res.Tools, Payloads: opts.Payloads, OSRelease: GuestOSRelease(hostOS), Config: cfg,
	}); err != nil {
		return fmt.Errorf("initramfs for %s: %w", k.Release, err)
	}
	if st, err := os.Stat(initrd); err == nil {
		res.InitramfsSize = st.Size()
	}
	scratch := filepath.Join(tmp, "scratch.img")
	if err := makeScratchDisk(scratch, opts.DiskBytes); err != nil {
		return err
	}

	log, err := os.Create(res.ConsoleLog)
	if err != nil {
		return err
	}
	defer log.Close()
	res.QemuArgs = qemuArgs(opts, k.Image, initrd, scratch, dir)
	return runQemu(ctx, qemuPath, opts, res, log)
}

func writeInitramfs(path string, r *Initramfs) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := r.Write(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// makeScratchDisk makes a sparse ext4 image for the guest's work
// directories. Lazy inode-table init keeps mkfs fast and the file sparse;
// the guest mounts it with noinit_itable so the tables are never zeroed.
func makeScratchDisk(path string, size int64) error {
	mkfs, err := exec.LookPath("mkfs.ext4")
	if err != nil {
		return fmt.Errorf("the guest's scratch disk needs mkfs.ext4 (Debian package e2fsprogs): %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	out, err := exec.Command(mkfs, "-q", "-F", "-L", "ub-scratch",
		"-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mkfs.ext4 %s: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// KernelCmdline is the guest kernel's command line. panic=-1 with qemu's
// -no-reboot turns a kernel panic into qemu exiting at once instead of a
// hang until the timeout, and oops=panic makes an oops one: a process that
// oopses in a syscall dies holding locks (the aufs 6.1 kernel's mount
// error path did, and the test waiting on it hung for its whole timeout),
// and nothing measured after an oops describes a working kernel. The
// words after "--" are init's arguments, which make /init (unionbench) run
// its vm command as the guest's init.
//
// With the instruction clock (ICount) the TSC is qemu's instruction
// counter, which no host hiccup can make jump: clocksource=tsc and
// tsc=reliable keep the kernel on it rather than on the HPET or the ACPI
// PM timer, each read of which is an emulated device access inside every
// timed sample. The guests' records say which clocksource they ran on.
func KernelCmdline(opts Options) string {
	s := "console=ttyS0,115200 panic=-1 oops=panic loglevel=4 rdinit=/init"
	if opts.Accel == TCG {
		s += " " + hostinfo.EmulatedParam
		if opts.ICount {
			s += fmt.Sprintf(" %s=%d clocksource=tsc tsc=reliable", hostinfo.ICountParam, opts.ICountShift)
		}
	}
	return s + " -- vm"
}

// icountArg is qemu's -icount value for opts, "" without the instruction
// clock.
func icountArg(opts Options) string {
	if !opts.ICount || opts.Accel != TCG {
		return ""
	}
	return fmt.Sprintf("shift=%d,sleep=off", opts.ICountShift)
}

func qemuArgs(opts Options, image, initrd, scratch, results string) []string {
	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-serial", "stdio",
		"-m", strconv.Itoa(opts.MemoryMiB), "-smp", strconv.Itoa(opts.CPUs),
		"-kernel", image, "-initrd", initrd, "-append", KernelCmdline(opts),
		"-drive", "file=" + scratch + ",format=raw,if=virtio",
		"-virtfs", "local,path=" + results + ",mount_tag=" + resultsTag + ",security_model=none,id=" + resultsTag,
	}
	if opts.Accel == KVM {
		// -cpu host: the guest sees the host's CPU model and features, so
		// its facts and timings describe this machine.
		return append(args, "-accel", "kvm", "-cpu", "host")
	}
	args = append(args, "-accel", "tcg", "-cpu", "max")
	if ic := icountArg(opts); ic != "" {
		args = append(args, "-icount", ic)
	}
	return args
}

// runQemu runs qemu to the end, logging its console and following the
// guest's markers. It kills qemu when the guest is not ready within
// BootTimeout, not done within Timeout, or lingers after saying done.
func runQemu(parent context.Context, qemuPath string, opts Options, res *Result, log io.Writer) error {
	fail := func(what string) error {
		return &BootError{Release: res.Release, Log: res.ConsoleLog, What: what}
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemuPath, res.QemuArgs...)
	// If unionbench dies, qemu dies with it instead of running on unseen.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var qemuErr strings.Builder
	cmd.Stderr = io.MultiWriter(log, &qemuErr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	// Pdeathsig fires when the thread that forked exits, not the process.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", qemuPath, err)
	}

	var mu sync.Mutex
	var state struct {
		ready, done bool
		guestErr    string
		last        []string
		running     int
		oops        oopsSummary
	}
	state.running = -1
	readyCh, doneCh := make(chan struct{}), make(chan struct{})
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		prefix := "[" + res.Release + "] "
		s := bufio.NewScanner(io.TeeReader(stdout, log))
		s.Buffer(make([]byte, 64<<10), 1<<20)
		s.Split(scanConsoleLines)
		// Whatever happens to the scanner, the pipe is drained to the log:
		// a full pipe would stall the guest's serial console.
		defer io.Copy(log, stdout)
		for s.Scan() {
			line := s.Text()
			if strings.TrimSpace(line) == "" {
				continue
			}
			mu.Lock()
			if state.last = append(state.last, line); len(state.last) > 20 {
				state.last = state.last[1:]
			}
			state.oops.add(line)
			i := strings.Index(line, markerPrefix)
			if i < 0 {
				if state.running >= 0 && opts.Progress != nil {
					fmt.Fprintln(opts.Progress, prefix+line)
				}
				mu.Unlock()
				continue
			}
			word, rest, _ := strings.Cut(line[i+len(markerPrefix):], " ")
			switch word {
			case "init":
				res.KernelSeconds = floatField(rest, "seconds")
			case "ready":
				res.BootSeconds = time.Since(start).Seconds()
				state.ready = true
				close(readyCh)
			case "start":
				n, _, _ := strings.Cut(rest, " ")
				state.running, _ = strconv.Atoi(n)
			case "exit":
				n, fields, _ := strings.Cut(rest, " ")
				if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < len(res.Commands) {
					res.Commands[i].ExitCode = int(floatField(fields, "code"))
					res.Commands[i].Seconds = floatField(fields, "seconds")
				}
				state.running = -1
			case "error":
				state.guestErr = rest
			case "done":
				state.done = true
				close(doneCh)
			}
			if opts.Progress != nil {
				fmt.Fprintln(opts.Progress, prefix+line[i:])
			}
			mu.Unlock()
		}
	}()

	waited := make(chan error, 1)
	go func() {
		<-scanned // the pipe is drained before Wait closes it
		waited <- cmd.Wait()
	}()
	bootTimeout := opts.BootTimeout
	if bootTimeout <= 0 || bootTimeout > opts.Timeout {
		bootTimeout = opts.Timeout
	}
	bootTimer := time.NewTimer(bootTimeout)
	defer bootTimer.Stop()
	allTimer := time.NewTimer(opts.Timeout)
	defer allTimer.Stop()
	var linger <-chan time.Time
	var killed string
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-waited:
			break loop
		case <-readyCh:
			readyCh = nil
			bootTimer.Stop()
		case <-doneCh:
			doneCh = nil
			// The guest powers off right after; if that does not end qemu
			// (no ACPI), the results are complete anyway.
			linger = time.After(30 * time.Second)
		case <-linger:
			linger = nil
			cancel()
		case <-bootTimer.C:
			killed = fmt.Sprintf("the guest's init was not ready within %v: killed", bootTimeout)
			cancel()
		case <-allTimer.C:
			killed = fmt.Sprintf("the guest did not finish within %v: killed", opts.Timeout)
			cancel()
		}
	}
	res.TotalSeconds = time.Since(start).Seconds()
	mu.Lock()
	defer mu.Unlock()
	lastLine := ""
	for i := len(state.last) - 1; i >= 0; i-- {
		if strings.TrimSpace(state.last[i]) != "" {
			lastLine = strings.TrimSpace(state.last[i])
			break
		}
	}
	switch {
	case state.done:
		return nil
	case len(state.oops.lines) > 0:
		what := "the guest kernel oopsed"
		if state.running >= 0 {
			what += fmt.Sprintf(" while running %q", strings.Join(res.Commands[state.running].Args, " "))
		}
		return fail(fmt.Sprintf("%s: %s", what, strings.Join(state.oops.lines, " | ")))
	case killed != "":
		if state.running >= 0 {
			killed += fmt.Sprintf(" while running %q", strings.Join(res.Commands[state.running].Args, " "))
		}
		return fail(fmt.Sprintf("%s (last console line: %q)", killed, lastLine))
	case state.guestErr != "":
		return fail("the guest's init failed: " + state.guestErr)
	case parent.Err() != nil:
		return fail(fmt.Sprintf("interrupted (%v)", context.Cause(parent)))
	case waitErr != nil && qemuErr.Len() > 0:
		return fail(fmt.Sprintf("qemu failed: %v: %s", waitErr, oneLine(qemuErr.String())))
	default:
		return fail(fmt.Sprintf("the guest stopped before finishing (a kernel panic reboots it; last console line: %q)", lastLine))
	}
}

// floatField reads "key=value" out of space-separated fields.
func floatField(fields, key string) float64 {
	for _, f := range strings.Fields(fields) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return n
		}
	}
	return 0
}

// scanConsoleLines splits the console at "\n" and at "\r": progress bars
// redraw a line with "\r" alone, and each redraw is news.
func scanConsoleLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// oopsSummary keeps the telling lines of the first oops on the console:
// what happened, where, and the call trace's frames. The host's error
// carries them, so no one has to open the log to learn the kernel crashed.
type oopsSummary struct {
	lines []string
	seen  int // console lines since the oops began; 0: none yet
}

// oopsWindow is how many console lines after its first an oops is read for:
// its register dump comes before the call trace.
const oopsWindow = 40

func (o *oopsSummary) add(line string) {
	if o.seen == 0 && !isOopsStart(line) {
		return
	}
	if o.seen++; o.seen > oopsWindow {
		return
	}
	t := strings.TrimSpace(line)
	if isOopsStart(t) || strings.Contains(t, "RIP: 0010:") || strings.Contains(t, "] #PF: ") {
		o.lines = append(o.lines, t)
		return
	}
	// Call trace frames: "[   18.157371]  path_put+0xd/0x20" ("? x" are guesses).
	if _, frame, ok := strings.Cut(t, "]  "); ok && strings.Contains(frame, "+0x") && !strings.HasPrefix(frame, "?") {
		o.lines = append(o.lines, strings.TrimSpace(frame))
	}
}

// isOopsStart says whether a console line starts a kernel oops or BUG.
func isOopsStart(line string) bool {
	for _, w := range []string{"] BUG: ", "] Oops: ", "] kernel BUG at ", "] general protection fault"} {
		if strings.Contains(line, w) {
			return true
		}
	}
	return false
}
