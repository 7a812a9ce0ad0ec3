package vm

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Accel is how qemu runs the guest's CPU.
type Accel string

const (
	KVM Accel = "kvm" // hardware virtualisation: timings close to native
	TCG Accel = "tcg" // software emulation: timings only comparable with other TCG runs
)

// ParseAccel reads "auto", "kvm" or "tcg".
func ParseAccel(s string) (Accel, bool, error) {
	switch s {
	case "auto", "":
		return "", true, nil
	case "kvm":
		return KVM, false, nil
	case "tcg":
		return TCG, false, nil
	}
	return "", false, fmt.Errorf("unknown accelerator %q: want auto, kvm or tcg", s)
}

// DetectAccel picks KVM when this process can create a virtual machine
// through /dev/kvm, and TCG otherwise, with the reason. Opening the device
// is not enough: in a container or a nested guest /dev/kvm can exist and
// still refuse KVM_CREATE_VM.
func DetectAccel() (Accel, string) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return TCG, fmt.Sprintf("no usable /dev/kvm (%v)", err)
	}
	defer f.Close()
	const kvmGetAPIVersion, kvmCreateVM = 0xAE00, 0xAE01
	if v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion); err != nil || v != 12 {
		return TCG, fmt.Sprintf("/dev/kvm: KVM_GET_API_VERSION %d, %v (want 12)", v, err)
	}
	vm, err := unix.IoctlRetInt(int(f.Fd()), kvmCreateVM)
	if err != nil {
		return TCG, fmt.Sprintf("/dev/kvm: KVM_CREATE_VM: %v", err)
	}
	unix.Close(vm)
	return KVM, "/dev/kvm creates virtual machines"
}

// ProbeKVM boots image under KVM without an initramfs and waits for the
// kernel's first words ("Linux version") on an early console. /dev/kvm
// creating a VM does not prove qemu can run one: under nested
// virtualisation qemu can abort setting an MSR for -cpu host, or the guest
// can hang in real mode before the kernel even decompresses. A kernel that
// speaks within a few seconds under KVM will boot; otherwise TCG is the
// honest choice.
func ProbeKVM(ctx context.Context, qemu, image string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-serial", "stdio", "-m", "256", "-accel", "kvm", "-cpu", "host",
		"-kernel", image, "-append", "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1",
	}
	cmd := exec.CommandContext(ctx, qemu, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	runtime.LockOSThread() // Pdeathsig follows the forking thread
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return err
	}
	spoke := false
	s := bufio.NewScanner(stdout)
	s.Split(scanConsoleLines)
	for s.Scan() {
		if strings.Contains(s.Text(), "Linux version") {
			spoke = true
			cancel() // enough: the rest of the boot is not needed
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	switch {
	case spoke:
		return nil
	case stderr.Len() > 0:
		return fmt.Errorf("qemu -accel kvm failed: %s", oneLine(stderr.String()))
	case ctx.Err() != nil:
		return fmt.Errorf("qemu -accel kvm: the kernel said nothing within %v (nested virtualisation?)", timeout)
	default:
		return fmt.Errorf("qemu -accel kvm ended (%v) before the kernel spoke", werr)
	}
}
