package hostinfo

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Facts are the host facts every result carries.
type Facts struct {
	Kernel      string `json:"kernel"`       // uname -r
	KernelBuild string `json:"kernel_build"` // uname -v
	Arch        string `json:"arch"`         // uname -m
	Distro      string `json:"distro"`       // PRETTY_NAME of /etc/os-release
	CPU         string `json:"cpu"`          // model name of the first CPU
	CPUs        int    `json:"cpus"`         // online CPUs
	MemoryBytes int64  `json:"memory_bytes"` // MemTotal
	Hypervisor  bool   `json:"hypervisor"`   // the CPU reports running under a hypervisor
	Emulated    bool   `json:"emulated"`     // the CPU is emulated (qemu TCG): timings are not native
	Clocksource string `json:"clocksource"`  // the kernel's current clocksource (tsc, hpet, kvm-clock, ...)
	// InstructionClock, when set, says the guest's clock is qemu's
	// instruction counter (unionbench vm --icount): "icount shift=N", each
	// instruction 2^N ns of guest time, so timings count the instructions
	// the guest ran rather than the host's time.
	InstructionClock string            `json:"instruction_clock,omitempty"`
	Overlay          map[string]string `json:"overlay_params"` // /sys/module/overlay/parameters
	Filesystems      []string          `json:"filesystems"`    // /proc/filesystems
	Aufs             string            `json:"aufs,omitempty"` // /sys/module/aufs/version where the kernel has aufs
	Version          string            `json:"unionbench"`     // unionbench's module version and VCS revision
}

// Read gathers the facts of this host.
func Read() Facts {
	var f Facts
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		f.Kernel = unix.ByteSliceToString(u.Release[:])
		f.KernelBuild = unix.ByteSliceToString(u.Version[:])
		f.Arch = unix.ByteSliceToString(u.Machine[:])
	}
	f.Distro = osRelease("/etc/os-release")
	f.CPU, f.Hypervisor = cpuInfo()
	// qemu without KVM names its CPU model after itself (e.g. "QEMU Virtual
	// CPU version 2.5+"); with KVM the host model shows through.
	f.Emulated = strings.Contains(f.CPU, "QEMU") || strings.Contains(f.CPU, "TCG") ||
		cmdlineHas("/proc/cmdline", EmulatedParam)
	f.Clocksource = Clocksource()
	if shift, ok := cmdlineValue("/proc/cmdline", ICountParam); ok {
		f.InstructionClock = "icount shift=" + shift
	}
	f.CPUs = runtime.NumCPU()
	f.MemoryBytes = memTotal()
	f.Overlay = OverlayParams()
	f.Filesystems = Filesystems()
	if b, err := os.ReadFile("/sys/module/aufs/version"); err == nil {
		f.Aufs = strings.TrimSpace(string(b))
	}
	f.Version = Version()
	return f
}

// EmulatedParam on the kernel command line marks a guest that qemu runs
// under TCG (`unionbench vm` adds it). The CPU model name alone depends on
// qemu's -cpu option, not on the accelerator: -cpu max says "QEMU TCG CPU",
// but a named model (-cpu Skylake-Client) shows a real Intel name while
// still emulated.
const EmulatedParam = "unionbench.emulated=1"

// ICountParam=N on the kernel command line marks a guest whose clock is
// qemu's instruction counter at 2^N ns an instruction (`unionbench vm
// --icount N` adds it).
const ICountParam = "unionbench.icount"

// Clocksource is the kernel's current clocksource, "" where sysfs does not
// say. What a timing costs depends on it: tsc is read in user space
// (vDSO), hpet and acpi_pm by a system call and a device read.
func Clocksource() string {
	b, err := os.ReadFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// cmdlineValue returns the value of the word key=VALUE on the kernel
// command line in path.
func cmdlineValue(path, key string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	for _, w := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(w, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// cmdlineHas reports whether the kernel command line in path has param as
// one of its words.
func cmdlineHas(path, param string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, w := range strings.Fields(string(b)) {
		if w == param {
			return true
		}
	}
	return false
}

func osRelease(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return "unknown"
}

func cpuInfo() (model string, hypervisor bool) {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown", false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name":
			if model == "" {
				model = v
			}
		case "flags":
			hypervisor = hypervisor || strings.Contains(" "+v+" ", " hypervisor ")
		}
	}
	if model == "" {
		model = "unknown"
	}
	return model, hypervisor
}

func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// OverlayParams reads the overlay module's parameters in effect (the
// defaults a mount without explicit options gets).
func OverlayParams() map[string]string {
	files, _ := filepath.Glob("/sys/module/overlay/parameters/*")
	out := map[string]string{}
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			out[filepath.Base(p)] = strings.TrimSpace(string(b))
		}
	}
	return out
}

// Filesystems lists the filesystem types the kernel knows now.
func Filesystems() []string {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			out = append(out, fields[len(fields)-1])
		}
	}
	sort.Strings(out)
	return out
}

// HasFilesystem reports whether /proc/filesystems lists fstype.
func HasFilesystem(fstype string) bool {
	for _, f := range Filesystems() {
		if f == fstype {
			return true
		}
	}
	return false
}

// Version is unionbench's version: the module version when built from a
// tagged module, else the VCS revision (with "+dirty" for a modified tree).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" && (v == "" || v == "(devel)") {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return rev + dirty
	}
	if v == "" {
		return "unknown"
	}
	return v
}
