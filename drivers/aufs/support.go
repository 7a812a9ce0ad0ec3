package aufs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/mountutil"
)

// checkRoot refuses roots the driver must never write to.
func checkRoot(root string) error {
	if err := backing.CheckWorkdir(root); err != nil {
		return fmt.Errorf("%s: %w", Name, err)
	}
	return nil
}

// checkHost is everything about this host that decides whether aufs runs,
// short of mounting it.
func checkHost(root string) error {
	if uid := os.Geteuid(); uid != 0 {
		return drivers.NotSupported(Name, "mounting aufs needs root (running as uid %d)", uid)
	}
	if !kernelHasAufs() {
		return drivers.NotSupported(Name, "aufs is not in /proc/filesystems (needs an Ubuntu kernel up to 20.04 / the aufs module)")
	}
	if inUserNS() {
		return drivers.NotSupported(Name, "aufs cannot be mounted from a user namespace other than the initial one")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return fmt.Errorf("%s: statfs %s: %w", Name, root, err)
	}
	// Docker refuses these backing filesystems for aufs: aufs cannot
	// stack on itself, and Docker found it broken over btrfs and ecryptfs.
	for magic, fs := range map[int64]string{aufsMagic: "aufs", unix.BTRFS_SUPER_MAGIC: "btrfs", unix.ECRYPTFS_SUPER_MAGIC: "ecryptfs"} {
		if int64(st.Type) == magic {
			return drivers.NotSupported(Name, "aufs does not run over a %s backing filesystem (%s); Docker refuses it too", fs, root)
		}
	}
	if err := backing.CheckDType(root); err != nil {
		return drivers.NotSupported(Name, "%v", err)
	}
	return nil
}

// aufsMagic is aufs's statfs f_type ("aufs" in ASCII).
const aufsMagic = 0x61756673

// kernelHasAufs reads /proc/filesystems, after asking modprobe to load the
// module if it is not there yet and modprobe is installed (it is a no-op
// without the module, and missing in containers).
func kernelHasAufs() bool {
	if listed() {
		return true
	}
	if modprobe, err := exec.LookPath("modprobe"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = exec.CommandContext(ctx, modprobe, "aufs").Run()
		return listed()
	}
	return false
}

func listed() bool {
	data, err := os.ReadFile("/proc/filesystems")
	return err == nil && hasFS(data, "aufs")
}

// hasFS reports whether a /proc/filesystems listing ("nodev\taufs" lines)
// names fstype.
func hasFS(listing []byte, fstype string) bool {
	s := bufio.NewScanner(bytes.NewReader(listing))
	for s.Scan() {
		if f := strings.Fields(s.Text()); len(f) > 0 && f[len(f)-1] == fstype {
			return true
		}
	}
	return false
}

// inUserNS reports whether this process maps fewer than all uids, the
// sign of a user namespace below the initial one.
func inUserNS() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

// build is what the Factory learns about this kernel's aufs by experiment.
type build struct {
	dirperm1  bool   // Docker adds dirperm1 when the test mount takes it
	branchMax int    // the most branches one mount takes (CONFIG_AUFS_BRANCH_MAX_*)
	version   string // /sys/module/aufs/version, "unknown" without it
}

// probe checks this aufs by experiment, in a directory of its own under
// root: a one-branch mount with Docker's options, first with dirperm1
// (Docker adds it where this aufs knows it: it makes permission checks on
// directories look only at the top branch's copy), then without; then the
// same with the variant's options, which must mount and must show in the
// mount's options (aufs ignores some options it was built without, e.g.
// dirren without CONFIG_AUFS_DIRREN, and the variant would then measure
// plain aufs under another name); then the branch limit. base gives the
// options without the variant's.
func probe(root string, base func(dirperm1 bool) string, variant []string) (b build, err error) {
	dir, err := os.MkdirTemp(root, ".aufs-probe-")
	if err != nil {
		return b, fmt.Errorf("%s: probe: %w", Name, err)
	}
	defer func() { err = errors.Join(err, removeProbe(dir)) }()
	for _, p := range []string{"br", "mnt"} {
		if err := os.Mkdir(filepath.Join(dir, p), 0o755); err != nil {
			return b, fmt.Errorf("%s: probe: %w", Name, err)
		}
	}
	plain, err := probeMount(dir, base(true))
	b.dirperm1 = err == nil
	if err != nil {
		if plain, err = probeMount(dir, base(false)); err != nil {
			return b, drivers.Unsupported(Name, err, "a test mount with options %s fails", base(false))
		}
	}
	if len(variant) > 0 {
		opts := strings.Join(variant, ",")
		got, err := probeMount(dir, base(b.dirperm1)+","+opts)
		if err != nil {
			return b, drivers.Unsupported(Name, err, "this aufs refuses %s%s", opts, optionHint(variant))
		}
		if slices.Equal(plain, got) {
			return b, drivers.NotSupported(Name, "this aufs accepts %s but ignores it: the mount shows the same options as without it (%s)%s",
				opts, strings.Join(got, ","), optionHint(variant))
		}
	}
	if b.branchMax, err = branchMax(dir, base(b.dirperm1)); err != nil {
		return b, fmt.Errorf("%s: probe: %w", Name, err)
	}
	b.version = Version()
	return b, nil
}

// optionHint says which part of an aufs build an option needs, from
// fs/aufs/fsctx.c: without CONFIG_AUFS_HNOTIFY "notify" is not a udba
// level (EINVAL), without CONFIG_AUFS_DIRREN "dirren" is accepted and
// ignored; udba=reval is the default, so asking for it changes nothing.
func optionHint(options []string) string {
	var hints []string
	for _, o := range options {
		switch o {
		case "dirren", "nodirren":
			hints = append(hints, "dirren needs an aufs built with CONFIG_AUFS_DIRREN")
		case "udba=notify", "udba=fsnotify":
			hints = append(hints, "udba=notify needs an aufs built with CONFIG_AUFS_HNOTIFY")
		case "udba=reval":
			hints = append(hints, "udba=reval is aufs's default and what Docker mounts, so this variant is plain aufs")
		}
	}
	if len(hints) == 0 {
		return ""
	}
	return " (" + strings.Join(hints, "; ") + ")"
}

// probeMount mounts dir/br alone at dir/mnt with opts and returns the
// options the kernel shows for it, without the per-mount ones (si=, the
// branches), so that two probe mounts can be compared. It unmounts before
// returning.
func probeMount(dir, opts string) (shown []string, err error) {
	mnt := filepath.Join(dir, "mnt")
	// Relative to dir, so that no character of root can upset the option
	// syntax (see Driver.branchPath).
	if err := mountutil.MountAt(dir, "none", "mnt", "aufs", 0, "br:br="+permRW+","+opts); err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, mountutil.Unmount(mnt)) }()
	mounts, err := mountutil.MountsUnder(mnt)
	if err != nil || len(mounts) == 0 {
		return nil, fmt.Errorf("probe mount on %s not in mountinfo: %v", mnt, err)
	}
	return ShownOptions(mounts[len(mounts)-1].VFSOptions), nil
}

// ShownOptions drops from an aufs mount's super options (mountinfo's last
// field) what differs between any two mounts with the same options: the
// mount's own id (si=) and its branches (br:..., shown unless the module's
// brs=1). What is left are the options in force that differ from aufs's
// defaults: aufs shows only those (fs/aufs/super.c, aufs_show_options).
func ShownOptions(super string) []string {
	var out []string
	for _, o := range strings.Split(super, ",") {
		switch {
		case o == "", strings.HasPrefix(o, "si="), strings.HasPrefix(o, "br:"), strings.HasPrefix(o, "br="), o == "rw", o == "ro":
			continue
		}
		out = append(out, o)
	}
	return out
}

// branchLimits are the branch counts aufs can be built for
// (CONFIG_AUFS_BRANCH_MAX_127, _511, _1023, _32767; fs/aufs/Kconfig),
// smallest first.
var branchLimits = []int{127, 511, 1023, 32767}

var (
	branchMaxMu    sync.Mutex
	branchMaxKnown int // 0 until measured
)

// versionPath is where a kernel with aufs (built in or loaded) says which
// aufs it runs.
const versionPath = "/sys/module/aufs/version"

// branchMax finds how many branches one mount takes on this kernel. The
// limit is compiled in (AUFS_BRANCH_MAX in linux/aufs_type.h) and nothing
// under /sys shows it for a built-in aufs, so it is measured: for each
// limit aufs can be built with, a mount of that many branches is asked to
// append one more, which aufs refuses with ENOSPC ("number of branches
// exceeded", fs/aufs/branch.c) when the limit is the build's. It is a
// property of the kernel, so it is measured once a process.
func branchMax(dir, opts string) (int, error) {
	branchMaxMu.Lock()
	defer branchMaxMu.Unlock()
	if branchMaxKnown > 0 {
		return branchMaxKnown, nil
	}
	brs := filepath.Join(dir, "branches")
	if err := os.Mkdir(brs, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(brs) // after the deferred unmounts: nothing is mounted there by then
	made := 0
	for _, limit := range branchLimits[:len(branchLimits)-1] {
		for ; made <= limit; made++ {
			if err := os.Mkdir(filepath.Join(brs, strconv.Itoa(made)), 0o755); err != nil {
				return 0, err
			}
		}
		full, err := refusesOneMore(brs, limit, opts)
		if err != nil {
			return 0, fmt.Errorf("measuring the branch limit with %d branches: %w", limit, err)
		}
		if full {
			branchMaxKnown = limit
			return limit, nil
		}
	}
	// More than 1023 taken: the one larger build is 32767.
	branchMaxKnown = branchLimits[len(branchLimits)-1]
	return branchMaxKnown, nil
}

// refusesOneMore mounts branches 0..n-1 of dir (0 writable) at dir/mnt
// and reports whether appending branch n is refused with ENOSPC.
func refusesOneMore(dir string, n int, opts string) (full bool, err error) {
	ro := make([]string, 0, n-1)
	for i := 1; i < n; i++ {
		ro = append(ro, strconv.Itoa(i))
	}
	plan, err := planMount("0", ro, opts, unix.Getpagesize())
	if err != nil {
		return false, err
	}
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		return false, err
	}
	defer func() { err = errors.Join(err, os.Remove(mnt)) }()
	defer func() { err = errors.Join(err, mountutil.Unmount(mnt)) }()
	for i, data := range plan.Calls() {
		flags := uintptr(0)
		if i > 0 {
			flags = unix.MS_REMOUNT
		}
		if err := mountutil.MountAt(dir, "none", "mnt", "aufs", flags, data); err != nil {
			return false, err
		}
	}
	err = mountutil.MountAt(dir, "none", "mnt", "aufs", unix.MS_REMOUNT, "append:"+strconv.Itoa(n)+"="+permROWH)
	switch {
	case errors.Is(err, unix.ENOSPC):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// Version is the aufs version this kernel runs ("6.1-20240701"), from
// /sys/module/aufs/version (MODULE_VERSION, there for a built-in aufs
// too), or "unknown".
func Version() string {
	b, err := os.ReadFile(versionPath)
	if v := strings.TrimSpace(string(b)); err == nil && v != "" {
		return v
	}
	return "unknown"
}

// removeProbe removes the probe directory, refusing while its mount point
// is still mounted; aufs writes its own files (.wh..wh.aufs, ...) into the
// writable branch, hence RemoveAll for that one.
func removeProbe(dir string) error {
	if err := mountutil.Unmount(filepath.Join(dir, "mnt")); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, "mnt")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(filepath.Join(dir, "br")); err != nil {
		return err
	}
	return os.Remove(dir)
}
