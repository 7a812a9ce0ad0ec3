package backing

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Facts describe a backing filesystem as it turned out, for results:
// what the kernel reports, not what was asked for.
type Facts struct {
	Kind   Kind   `json:"kind"`
	FSType string `json:"fstype"` // as mountinfo names it; for dir, the host's
	Device string `json:"device,omitempty"`
	// Size and Free are in bytes (Free is what an unprivileged user may
	// still use); Inodes and InodesFree are 0 where the filesystem has no
	// fixed inode count (btrfs).
	Size       int64  `json:"size_bytes"`
	Free       int64  `json:"free_bytes"`
	Inodes     uint64 `json:"inodes"`
	InodesFree uint64 `json:"inodes_free"`
	// MountOptions are the per-mount options followed by the superblock
	// options, as /proc/self/mountinfo shows them, duplicates dropped.
	MountOptions string `json:"mount_options"`
	DType        bool   `json:"d_type"`
	Reflink      bool   `json:"reflink"`
	// Problems lists facts that could not be found out, and why.
	Problems []string `json:"problems,omitempty"`
}

// Statfs is statfs(2) on Dir.
func (f *FS) Statfs() (unix.Statfs_t, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(f.Dir, &st); err != nil {
		return st, &os.PathError{Op: "statfs", Path: f.Dir, Err: err}
	}
	return st, nil
}

// Describe finds out the facts. It never fails; what it cannot find out is
// listed in Problems. It runs the d_type and reflink probes, which write a
// little into Dir.
func (f *FS) Describe() Facts {
	facts := Facts{Kind: f.Spec.Kind, Device: f.Device}
	problem := func(what string, err error) {
		facts.Problems = append(facts.Problems, fmt.Sprintf("%s: %v", what, err))
	}
	if st, err := f.Statfs(); err != nil {
		problem("statfs", err)
	} else {
		facts.Size = int64(st.Blocks) * st.Bsize
		facts.Free = int64(st.Bavail) * st.Bsize
		facts.Inodes, facts.InodesFree = st.Files, st.Ffree
	}
	if m, err := mountOf(f.Dir); err != nil {
		problem("mountinfo", err)
	} else {
		facts.FSType = m.FSType
		facts.MountOptions = mergeOptions(m.Options, m.VFSOptions)
	}
	var err error
	if facts.DType, err = f.DType(); err != nil {
		problem("d_type", err)
	}
	if facts.Reflink, err = f.Reflink(); err != nil {
		problem("reflink", err)
	}
	return facts
}

// mountOf finds the mount dir is on: the one with the longest mount point
// at or above it (the last of those, if several are stacked).
func mountOf(dir string) (*mountinfo.Info, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(dir))
	if err != nil {
		return nil, err
	}
	var best *mountinfo.Info
	for _, m := range mounts {
		if best == nil || len(m.Mountpoint) >= len(best.Mountpoint) {
			best = m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no mount above %s", dir)
	}
	return best, nil
}

func mergeOptions(lists ...string) string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, o := range strings.Split(l, ",") {
			if o != "" && !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	return strings.Join(out, ",")
}

// DeviceWrites returns how many bytes have been written to f's block device
// since Create attached it, from the loop device's sysfs stat (sectors
// written, always counted in 512-byte units; the counter outlives attach
// cycles, so Create notes where it stood). It counts what reached the
// device, after the page cache: call it around a sync to charge a
// workload's writeback to it. ok is false for dir and tmpfs, which have no
// device, and after Close.
func DeviceWrites(f *FS) (bytes int64, ok bool) {
	if f == nil || f.Device == "" || f.closed {
		return 0, false
	}
	n, err := deviceWriteBytes(f.Device)
	if err != nil {
		return 0, false
	}
	return n - f.writesAtAttach, true
}

func deviceWriteBytes(dev string) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(dev), "stat"))
	if err != nil {
		return 0, err
	}
	// reads, merges, sectors, ticks, writes, merges, sectors written, ...
	fields := strings.Fields(string(b))
	if len(fields) < 7 {
		return 0, fmt.Errorf("%s: unexpected stat %q", dev, b)
	}
	sectors, err := strconv.ParseInt(fields[6], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: unexpected stat %q", dev, b)
	}
	return sectors * 512, nil
}
