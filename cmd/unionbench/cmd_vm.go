package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/vm"
	"github.com/unionbench/unionbench/reports/units"
)

// knownCommand reports whether name is a unionbench command. It is set in
// init because cmdVM referring to the commands map directly would make the
// map's initialisation depend on itself.
var knownCommand func(name string) bool

func init() {
	knownCommand = func(name string) bool { _, ok := commands[name]; return ok }
}

// outCommands write results into --out; vm points it into each kernel's
// directory. Other commands run with that directory as their working
// directory, and their stdout is kept there as stdout.txt.
var outCommands = map[string]bool{"run": true, "quirks": true}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type vmFlags struct {
	kernels, modules                multiFlag
	timeout, bootTimeout            time.Duration
	out, accel, disk, cache, binary string
	qemu, workdir, icount           string
	memory, cpus                    int
}

func cmdVM(args []string, stdout io.Writer) error {
	if vm.IsGuest() {
		vm.GuestMain() // this process is the init of a guest: never returns
	}
	var f vmFlags
	fs := newFlags("vm")
	fs.Var(&f.kernels, "kernel", "kernel to boot: a linux-image .deb, a tree with boot/vmlinuz-R and lib/modules/R, or a bzImage (repeat for several)")
	fs.DurationVar(&f.timeout, "timeout", time.Hour, "kill a guest that has not finished after this long")
	fs.DurationVar(&f.bootTimeout, "boot-timeout", 10*time.Minute, "kill a guest whose init is not ready after this long")
	fs.StringVar(&f.out, "out", "", "results directory; each kernel's go to OUT/<release>/ (default results/vm-<run id>)")
	fs.StringVar(&f.accel, "accel", "auto", "qemu accelerator: auto (kvm when /dev/kvm works, else tcg), kvm or tcg")
	fs.IntVar(&f.memory, "memory", 2048, "guest memory in MiB")
	fs.IntVar(&f.cpus, "cpus", 0, "guest CPUs (default 2 with kvm, 1 with tcg: emulated CPUs each take a host core)")
	fs.StringVar(&f.disk, "disk", "32GiB", "size of the guest's sparse scratch disk (holds --workdir)")
	fs.Var(&f.modules, "module", "another module to load in the guest, e.g. xfs or aufs (repeatable)")
	fs.StringVar(&f.cache, "cache", vm.DefaultCacheDir(), "where unpacked kernel packages are kept")
	fs.StringVar(&f.binary, "unionbench", "", "unionbench binary to run in the guest (default this one; a static one, CGO_ENABLED=0, needs no libraries)")
	fs.StringVar(&f.qemu, "qemu", "qemu-system-x86_64", "qemu binary")
	fs.StringVar(&f.icount, "icount", "off", "the guest's clock is qemu's instruction counter, `SHIFT`: 2^SHIFT ns an instruction (0-10; implies tcg): timings count the guest's instructions, not the host's time, so host noise stays out of them; off: the host's clock")
	fs.StringVar(&f.workdir, "workdir", defaultWorkdir, "directory for the guest's initramfs and sparse scratch disk while it runs (`unionbench clean` removes those of killed runs)")
	cmds, err := parseVM(fs, &f, args)
	if err != nil {
		return err
	}
	opts, err := vmOptions(&f)
	if err != nil {
		return err
	}
	if f.out != "" {
		if _, err := checkDir("--out", f.out, vmResultsDir); err != nil {
			return err
		}
	}
	if _, err := checkDir("--cache", f.cache, scratchDir); err != nil {
		return err
	}

	kernels := make([]*vm.Kernel, 0, len(f.kernels))
	seen := map[string]string{}
	for _, p := range f.kernels {
		k, err := vm.OpenKernel(p, f.cache)
		if err != nil {
			return badInput("--kernel %s: %v", p, err)
		}
		if prev, ok := seen[k.Release]; ok {
			return badInput("--kernel %s: release %s again (also %s): each kernel's results go to OUT/<release>", p, k.Release, prev)
		}
		seen[k.Release] = p
		kernels = append(kernels, k)
	}
	out := f.out
	if out == "" {
		out = filepath.Join("results", "vm-"+newRunID())
	}
	for _, k := range kernels {
		if ents, err := os.ReadDir(filepath.Join(out, k.Release)); err == nil && len(ents) > 0 {
			return badInput("--out %s: %s already holds results: choose another --out", out, filepath.Join(out, k.Release))
		}
	}

	if os.Geteuid() == 0 {
		// What killed vm runs left: their scratch disks are gigabytes
		// (sparse, but a full one is as large as --disk).
		if removed, err := sandbox.Clean(opts.WorkDir); err != nil {
			fmt.Fprintf(os.Stderr, "unionbench vm: cleaning %s: %v\n", opts.WorkDir, err)
		} else if len(removed) > 0 {
			fmt.Fprintf(os.Stderr, "unionbench vm: removed %d work directories left by killed runs\n", len(removed))
		}
	}
	chooseAccel(&opts, kernels[0])
	ctx, interrupt, release := onInterrupt("unionbench vm", "stopping the guest (qemu is killed; results the guest synced are kept)")
	defer release()
	fmt.Fprintf(os.Stderr, "unionbench vm: %d kernel(s), accel %s, %d MiB, %d CPU(s); results in %s\n", len(kernels), opts.Accel, opts.MemoryMiB, opts.CPUs, out)
	var done []*vm.Result
	var failures []string
	for _, k := range kernels {
		dir := filepath.Join(out, k.Release)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "unionbench vm: booting %s (%s)\n", k.Release, k.Source)
		res, err := vm.Boot(ctx, k, guestCommands(cmds), dir, opts)
		if res != nil {
			done = append(done, res)
		}
		switch {
		case err != nil:
			failures = append(failures, err.Error())
		case len(res.Failed()) > 0:
			for _, c := range res.Failed() {
				failures = append(failures, fmt.Sprintf("kernel %s: unionbench %s exited %d (see %s)", k.Release, strings.Join(c.Args, " "), c.ExitCode, res.ConsoleLog))
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	printVMSummary(stdout, out, done)
	switch {
	case ctx.Err() != nil:
		return &exitInterrupted{interrupt.Signal()}
	case len(failures) == 1:
		return errors.New(failures[0])
	case len(failures) > 1:
		return fmt.Errorf("%d failures: %s", len(failures), strings.Join(failures, "; "))
	}
	return nil
}

// parseVM parses vm's flags and the commands after "--": every further
// "--" starts another command run in the same boot, so one boot serves
// `-- quirks -- run --quick`.
func parseVM(fs *flag.FlagSet, f *vmFlags, args []string) ([][]string, error) {
	own, rest, found := cutDashes(args)
	if err := parse(fs, own); err != nil {
		if !found && fs.NArg() > 0 {
			return nil, badInput("want -- before unionbench's arguments: unionbench vm --kernel PATH -- run --quick")
		}
		return nil, err
	}
	if len(f.kernels) == 0 {
		return nil, badInput("want at least one --kernel (a linux-image .deb, a kernel tree or a bzImage)")
	}
	if !found {
		return nil, badInput("want -- and a unionbench command to run in the guest, e.g. -- quirks")
	}
	var cmds [][]string
	for {
		cmd, more, again := cutDashes(rest)
		if len(cmd) == 0 {
			return nil, badInput("empty command after --: want e.g. -- run --quick")
		}
		switch name := cmd[0]; {
		case name == "vm":
			return nil, badInput("-- vm: a guest cannot boot further guests")
		case !knownCommand(name):
			return nil, badInput("-- %s: unknown command", name)
		}
		for _, a := range cmd[1:] {
			if a == "--out" || a == "-out" || strings.HasPrefix(a, "--out=") || strings.HasPrefix(a, "-out=") {
				return nil, badInput("-- %s %s: vm chooses where results go (OUT/<release>/%s); give vm --out instead", cmd[0], a, cmd[0])
			}
		}
		cmds = append(cmds, cmd)
		if !again {
			return cmds, nil
		}
		rest = more
	}
}

func cutDashes(args []string) (before, after []string, found bool) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:], true
		}
	}
	return args, nil, false
}

func vmOptions(f *vmFlags) (vm.Options, error) {
	var o vm.Options
	switch {
	case f.timeout <= 0:
		return o, badInput("--timeout %v: want a positive duration, e.g. 30m", f.timeout)
	case f.bootTimeout <= 0:
		return o, badInput("--boot-timeout %v: want a positive duration, e.g. 5m", f.bootTimeout)
	case f.memory < 256 || f.memory > 1<<20:
		return o, badInput("--memory %d: want 256 to 1048576 MiB", f.memory)
	case f.cpus < 0 || f.cpus > 256:
		return o, badInput("--cpus %d: want 1 to 256 (0: default)", f.cpus)
	}
	disk, err := units.ParseSize(f.disk)
	if err != nil || disk < 256<<20 {
		return o, badInput("--disk %q: want a size of at least 256MiB, e.g. 32GiB", f.disk)
	}
	accel, auto, err := vm.ParseAccel(f.accel)
	if err != nil {
		return o, badInput("--accel: %v", err)
	}
	icount, shift := false, 0
	if f.icount != "off" {
		n, err := strconv.Atoi(f.icount)
		if err != nil || n < 0 || n > 10 {
			return o, badInput("--icount %q: want off or a shift from 0 to 10 (2^SHIFT ns an instruction)", f.icount)
		}
		if !auto && accel != vm.TCG {
			return o, badInput("--icount %s with --accel %s: qemu counts instructions only when it emulates the CPU (--accel tcg)", f.icount, f.accel)
		}
		icount, shift, accel, auto = true, n, vm.TCG, false
	}
	bin := f.binary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return o, err
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return o, badInput("--unionbench: %v", err)
	}
	work, err := checkWorkdir(f.workdir)
	if err != nil {
		return o, err
	}
	o = vm.Options{
		Qemu: f.qemu, Accel: accel, ICount: icount, ICountShift: shift, MemoryMiB: f.memory, CPUs: f.cpus, DiskBytes: disk,
		Timeout: f.timeout, BootTimeout: f.bootTimeout, Unionbench: bin,
		ExtraModules: f.modules, WorkDir: work, Progress: os.Stderr,
	}
	if auto {
		o.Accel = "" // decided by chooseAccel once the input is known to be good
	}
	return o, nil
}

// chooseAccel settles "auto" and the default CPU count. It runs after all
// input is checked, so that bad input stays a single line on stderr.
func chooseAccel(o *vm.Options, first *vm.Kernel) {
	if o.Accel == "" {
		var why string
		o.Accel, why = vm.DetectAccel()
		if o.Accel == vm.KVM {
			if err := vm.ProbeKVM(context.Background(), o.Qemu, first.Image, 20*time.Second); err != nil {
				o.Accel, why = vm.TCG, err.Error()
			}
		}
		if o.Accel == vm.TCG {
			fmt.Fprintf(os.Stderr, "unionbench vm: software emulation (tcg): %s; timings are marked emulated\n", why)
		}
	}
	if o.CPUs == 0 {
		// Each emulated CPU is a host thread at full speed: one keeps a
		// shared CI machine usable.
		o.CPUs = 1
		if o.Accel == vm.KVM {
			o.CPUs = min(2, runtime.NumCPU())
		}
	}
}

// guestCommands gives each command its directory in the share, named after
// the command (run, quirks; run-2 for a second run), and points --out
// there for the commands that write results.
func guestCommands(cmds [][]string) []vm.GuestCommand {
	count := map[string]int{}
	var out []vm.GuestCommand
	for _, c := range cmds {
		count[c[0]]++
		dir := c[0]
		if n := count[c[0]]; n > 1 {
			dir += "-" + strconv.Itoa(n)
		}
		args := append([]string{}, c...)
		if outCommands[c[0]] {
			args = append([]string{c[0], "--out", vm.GuestResultsDir(dir)}, c[1:]...)
		}
		out = append(out, vm.GuestCommand{Args: args, Dir: dir})
	}
	return out
}

func printVMSummary(w io.Writer, out string, done []*vm.Result) {
	if len(done) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tACCEL\tBOOT\tCOMMAND\tEXIT\tSECONDS\tRESULTS")
	var jsonl []string
	for _, r := range done {
		boot := "-"
		if r.BootSeconds > 0 {
			boot = fmt.Sprintf("%.1fs", r.BootSeconds)
		}
		for _, c := range r.Commands {
			exit := strconv.Itoa(c.ExitCode)
			if c.ExitCode < 0 {
				exit = "-"
			}
			dir := filepath.Join(out, r.Release, c.Dir)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f\t%s\n", r.Release, r.Accel, boot, strings.Join(c.Args, " "), exit, c.Seconds, dir)
			if p := filepath.Join(dir, "results.jsonl"); fileExists(p) {
				jsonl = append(jsonl, p)
			}
		}
	}
	tw.Flush()
	if len(jsonl) > 0 {
		fmt.Fprintf(w, "\nmerge them: unionbench report -o %s %s\n", filepath.Join(out, "report"), strings.Join(jsonl, " "))
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
