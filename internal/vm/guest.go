package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Marker lines the guest prints on its console for the host to follow:
// "unionbench-vm: ready", "unionbench-vm: start 0 run --quick ...",
// "unionbench-vm: exit 0 code=0 seconds=12.3", "unionbench-vm: error ...",
// "unionbench-vm: done". The console is the one channel that works even
// when the results share does not mount.
const markerPrefix = "unionbench-vm: "

// IsGuest reports whether this process is the init of a guest booted by
// Boot: pid 1 with the config the host put into the initramfs. Nothing else
// runs unionbench as pid 1.
func IsGuest() bool {
	if os.Getpid() != 1 {
		return false
	}
	_, err := os.Stat(ConfigPath)
	return err == nil
}

// GuestMain is the guest's init. It mounts what the kernel does not, loads
// the modules, mounts the scratch disk and the results share, runs each
// command, and powers the machine off. It never returns: pid 1 exiting
// would panic the kernel, which the host would see only as a crash.
func GuestMain() {
	say := func(format string, args ...any) {
		fmt.Fprintf(os.Stdout, markerPrefix+format+"\n", args...)
	}
	defer func() {
		if r := recover(); r != nil {
			say("error init panicked: %v", r)
			powerOff()
		}
	}()
	if err := guest(say); err != nil {
		say("error %s", oneLine(err.Error()))
	} else {
		say("done")
	}
	powerOff()
}

func guest(say func(string, ...any)) error {
	for _, m := range []struct{ src, dst, fstype, data string }{
		{"proc", "/proc", "proc", ""},
		{"sysfs", "/sys", "sysfs", ""},
		{"devtmpfs", "/dev", "devtmpfs", ""},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"},
		{"tmpfs", "/run", "tmpfs", "mode=755"},
		// Docker's aufs driver puts every union's xino file here.
		{"tmpfs", "/dev/shm", "tmpfs", "mode=1777"},
	} {
		// /dev/shm is not made by devtmpfs.
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, m.data); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dst, err)
		}
	}
	say("init %s seconds=%s", uname(), uptime())
	b, err := os.ReadFile(ConfigPath)
	if err != nil {
		return err
	}
	var cfg GuestConfig
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("%s: %w", ConfigPath, err)
	}
	if rel := uname(); rel != cfg.Release {
		return fmt.Errorf("booted kernel %s, but the initramfs was built for %s", rel, cfg.Release)
	}
	start := time.Now()
	for _, m := range cfg.Modules {
		if err := loadModule(m); err != nil {
			return err
		}
	}
	say("modules %d seconds=%.1f", len(cfg.Modules), time.Since(start).Seconds())

	// Drivers bind devices asynchronously after their module loads.
	if err := waitFor(cfg.ScratchDevice, 60*time.Second); err != nil {
		return err
	}
	// noinit_itable: the host made the image with lazy inode tables, and
	// zeroing them here would write gigabytes behind the measurements.
	if err := unix.Mount(cfg.ScratchDevice, cfg.ScratchMount, "ext4", 0, "noinit_itable"); err != nil {
		return fmt.Errorf("mount scratch disk %s on %s: %w", cfg.ScratchDevice, cfg.ScratchMount, err)
	}
	if err := unix.Mount(cfg.ResultsTag, guestResults, "9p", 0, "trans=virtio,version=9p2000.L,msize=262144,cache=none"); err != nil {
		return fmt.Errorf("mount the 9p results share %q on %s: %w", cfg.ResultsTag, guestResults, err)
	}
	say("ready seconds=%s", uptime())

	for i, c := range cfg.Commands {
		code, secs, err := runGuestCommand(say, i, c)
		if err != nil {
			return err
		}
		say("exit %d code=%d seconds=%.1f", i, code, secs)
	}
	unix.Sync()
	// Unmount so the host's copy of results and the scratch image are
	// complete; a failure here is worth knowing but the results are synced.
	for _, m := range []string{guestResults, cfg.ScratchMount} {
		if err := unix.Unmount(m, 0); err != nil {
			say("warning unmount %s: %v", m, err)
		}
	}
	return nil
}

func runGuestCommand(say func(string, ...any), i int, c GuestCommand) (code int, secs float64, err error) {
	dir := filepath.Join(guestResults, c.Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	out, err := os.Create(filepath.Join(dir, "stdout.txt"))
	if err != nil {
		return 0, 0, err
	}
	defer out.Close()
	say("start %d %s", i, strings.Join(c.Args, " "))
	cmd := exec.Command(guestBinary, c.Args...)
	cmd.Dir = dir
	cmd.Stdout = io.MultiWriter(os.Stdout, out)
	cmd.Stderr = os.Stderr
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "TERM=dumb", "LANG=C.UTF-8", "TMPDIR=" + guestScratch,
	}
	start := time.Now()
	err = cmd.Run()
	secs = time.Since(start).Seconds()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	case err != nil:
		return 0, 0, fmt.Errorf("start %s: %w", strings.Join(c.Args, " "), err)
	}
	out.Sync()
	return code, secs, nil
}

// loadModule loads one module file with finit_module(2). A module that is
// already there (loaded as a dependency under another name) is fine.
func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := 0
	if !strings.HasSuffix(path, ".ko") {
		// .ko.xz / .ko.zst / .ko.gz: the kernel decompresses it itself
		// (CONFIG_MODULE_DECOMPRESS) or refuses with EOPNOTSUPP.
		flags |= 4 // MODULE_INIT_COMPRESSED_FILE, not in x/sys/unix
	}
	err = unix.FinitModule(int(f.Fd()), "", flags)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("finit_module %s: %w", path, err)
	}
	return nil
}

func waitFor(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %v (virtio disk driver missing?)", path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func uname() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// powerOff ends the guest. qemu runs with -no-reboot, so if power-off is
// not possible (no ACPI) a reboot ends it just as well.
func powerOff() {
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
	for {
		time.Sleep(time.Hour)
	}
}
