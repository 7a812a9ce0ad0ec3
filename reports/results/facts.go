package results

// Host is the host facts a record carries. It is results' own type, not
// the struct the harness gathers them in (internal/hostinfo), so that a
// change there cannot change what old results files mean; the runner
// copies the facts across. JSON names are those of schema 1.
type Host struct {
	Kernel      string `json:"kernel"`                // uname -r
	KernelBuild string `json:"kernel_build"`          // uname -v
	Arch        string `json:"arch"`                  // uname -m
	Distro      string `json:"distro"`                // PRETTY_NAME of /etc/os-release
	CPU         string `json:"cpu"`                   // model name of the first CPU
	CPUs        int    `json:"cpus"`                  // online CPUs
	MemoryBytes int64  `json:"memory_bytes"`          // MemTotal
	Hypervisor  bool   `json:"hypervisor"`            // the CPU reports running under a hypervisor
	Emulated    bool   `json:"emulated"`              // the CPU is emulated (qemu TCG): timings are not native
	Clocksource string `json:"clocksource,omitempty"` // the kernel's clocksource (tsc, hpet, ...); absent in older results
	// InstructionClock, when set ("icount shift=N"), says the guest's
	// clock was qemu's instruction counter: timings count instructions
	// (2^N ns each), not host time.
	InstructionClock string            `json:"instruction_clock,omitempty"`
	Overlay          map[string]string `json:"overlay_params"` // /sys/module/overlay/parameters
	Filesystems      []string          `json:"filesystems"`    // /proc/filesystems
	Version          string            `json:"unionbench"`     // unionbench's module version and VCS revision
	// Noise is the run's own measure of how steady the host was; nil
	// when not measured.
	Noise *Noise `json:"noise,omitempty"`
	// TracedFunctions, when set, is the set_ftrace_filter glob the
	// kernel's function tracer was on for during the run (run
	// --trace-functions): a slowdown of those functions made on purpose.
	TracedFunctions string `json:"traced_functions,omitempty"`
}

// Backing is the backing filesystem a record was measured on, as it
// turned out (what the kernel reported, not what was asked for). Like
// Host it is results' own copy of the harness's facts.
type Backing struct {
	Kind   string `json:"kind"`   // dir, tmpfs, ext4, xfs, btrfs
	FSType string `json:"fstype"` // as mountinfo names it; for dir, the host's
	Device string `json:"device,omitempty"`
	// Size and Free are in bytes; Inodes and InodesFree are 0 where the
	// filesystem has no fixed inode count (btrfs).
	Size         int64    `json:"size_bytes"`
	Free         int64    `json:"free_bytes"`
	Inodes       uint64   `json:"inodes"`
	InodesFree   uint64   `json:"inodes_free"`
	MountOptions string   `json:"mount_options"`
	DType        bool     `json:"d_type"`
	Reflink      bool     `json:"reflink"`
	Problems     []string `json:"problems,omitempty"` // facts that could not be found out, and why
}

// Noise is the host's own noise floor as measured at the start of a run
// (internal/noise): the mean time of one cached stat(2) over Windows
// windows, and the spread of those means, (max-min)/min. Absent in runs
// of unionbench before it was measured.
type Noise struct {
	Spread   float64 `json:"spread"`
	MinNs    float64 `json:"min_ns"`
	MaxNs    float64 `json:"max_ns"`
	Windows  int     `json:"windows"`
	WindowNs int64   `json:"window_ns"`
	Probe    string  `json:"probe"`
}
