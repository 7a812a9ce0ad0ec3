package vm

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
)

// ConfigPath is where the guest's init finds its GuestConfig.
const ConfigPath = "/unionbench-vm.json"

// GuestConfig is everything the host tells the guest's init.
type GuestConfig struct {
	Release       string         `json:"release"`        // the kernel the host meant to boot, checked against uname -r
	Modules       []string       `json:"modules"`        // initramfs paths, in load order
	ScratchDevice string         `json:"scratch_device"` // the host-made ext4 image
	ScratchMount  string         `json:"scratch_mount"`  // where unionbench's work directories go
	ResultsTag    string         `json:"results_tag"`    // 9p mount tag of the host's results directory
	Commands      []GuestCommand `json:"commands"`
}

// GuestCommand is one program run inside the guest: unionbench, or a
// payload the host put into the initramfs (a test binary, say).
type GuestCommand struct {
	Program string   `json:"program,omitempty"` // a payload's guest path (PayloadPath); "": unionbench
	Args    []string `json:"args"`              // its arguments; unionbench's have --out pointed into the share
	Dir     string   `json:"dir"`               // its directory in the share: working directory and stdout.txt
	Env     []string `json:"env,omitempty"`     // KEY=value added to the guest's fixed environment
}

// Where the guest mounts things; fixed, so GuestCommand args can name them.
const (
	guestResults = "/results"
	guestScratch = "/var/tmp" // unionbench's default --workdir is /var/tmp/unionbench
	guestBinary  = "/bin/unionbench"
	payloadDir   = "/payload"
	scratchDev   = "/dev/vda"
	resultsTag   = "ubresults"
)

// GuestTools are the host programs copied into every guest, each with the
// shared libraries it needs: mkfs for the backing filesystems unionbench
// makes, fuse-overlayfs for its driver, sleep for the quirk probes that run a
// lower executable. One the host lacks is left out and named in vm.json; the
// guest then reports the same thing unsupported that the host would.
var GuestTools = []string{"mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "fuse-overlayfs", "sleep"}

// Initramfs says what goes into a guest's initramfs.
type Initramfs struct {
	Unionbench string   // the unionbench binary, run as /init
	Release    string   // modules go under /lib/modules/<Release>
	Modules    []Module // in load order
	Tools      []string // absolute host paths
	Payloads   []string // host paths of further programs, each at PayloadPath(path)
	OSRelease  []byte   // /etc/os-release for the guest
	Config     GuestConfig
}

// LookupTools finds GuestTools on the host: the paths found and the names
// missing.
func LookupTools() (found, missing []string) {
	for _, t := range GuestTools {
		if p, err := exec.LookPath(t); err == nil {
			found = append(found, p)
		} else {
			missing = append(missing, t)
		}
	}
	return found, missing
}

// Write writes the initramfs as an uncompressed newc cpio archive, which
// every kernel unpacks without a decompressor built in.
func (r *Initramfs) Write(w io.Writer) error {
	c := newCPIO(w)
	for _, d := range []string{"/proc", "/sys", "/dev", "/tmp", "/run", "/root", guestResults, guestScratch, "/etc", payloadDir} {
		c.Dir(d, 0o755)
	}
	c.CharDev("/dev/console", 0o600, 5, 1)
	c.CharDev("/dev/null", 0o666, 1, 3)

	bin, err := os.ReadFile(r.Unionbench)
	if err != nil {
		return err
	}
	c.File(guestBinary, 0o755, bin)
	c.Symlink("/init", guestBinary[1:])
	progs := []string{r.Unionbench}
	for _, t := range r.Tools {
		b, err := os.ReadFile(t)
		if err != nil {
			return err
		}
		c.File(t, 0o755, b)
		progs = append(progs, t)
	}
	for _, p := range r.Payloads {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("payload: %w", err)
		}
		c.File(PayloadPath(p), 0o755, b)
		progs = append(progs, p)
	}
	libs := map[string]bool{}
	for _, p := range progs {
		ls, err := sharedLibraries(p, libDirs)
		if err != nil {
			return err
		}
		for _, l := range ls {
			libs[l] = true
		}
	}
	for _, l := range slices.Sorted(maps.Keys(libs)) {
		b, err := os.ReadFile(l) // through symlinks: the guest gets the file itself
		if err != nil {
			return err
		}
		c.File(l, 0o755, b)
	}
	for _, m := range r.Modules {
		b, err := os.ReadFile(m.Path)
		if err != nil {
			return err
		}
		c.File(path.Join("/lib/modules", r.Release, m.Rel), 0o644, b)
	}

	c.File("/etc/os-release", 0o644, r.OSRelease)
	c.File("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	c.File("/etc/group", 0o644, []byte("root:x:0:\n"))
	c.Symlink("/etc/mtab", "../proc/self/mounts")
	// mkfs.ext4 without its configuration would make filesystems with
	// different features than on the host, and the backing fs is a fact of
	// every result.
	if b, err := os.ReadFile("/etc/mke2fs.conf"); err == nil {
		c.File("/etc/mke2fs.conf", 0o644, b)
	}
	cfg, err := json.MarshalIndent(r.Config, "", "  ")
	if err != nil {
		return err
	}
	c.File(ConfigPath, 0o644, append(cfg, '\n'))
	return c.Close()
}

// GuestOSRelease describes the guest's userland for hostinfo's distro
// field: the host's programs on a foreign kernel, named as such so a
// report never mistakes the guest for an installed distribution.
func GuestOSRelease(hostOSRelease []byte) []byte {
	pretty := "unknown"
	for _, line := range strings.Split(string(hostOSRelease), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			pretty = strings.Trim(v, `"'`)
		}
	}
	return fmt.Appendf(nil, "NAME=\"unionbench vm\"\nID=unionbench-vm\nPRETTY_NAME=\"unionbench vm initramfs (userland of %s)\"\n", pretty)
}

// GuestResultsDir is where a command's directory in the share is seen
// inside the guest.
func GuestResultsDir(dir string) string { return path.Join(guestResults, dir) }

// PayloadPath is where the payload at host path p is in the guest: under
// /payload by its file name, so a GuestCommand can name it before boot.
func PayloadPath(p string) string { return path.Join(payloadDir, path.Base(p)) }
