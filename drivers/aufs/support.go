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
	"strings"
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

// probe mounts a one-branch aufs under root with the options opts gives,
// first with dirperm1 (Docker adds it when this aufs knows it: it makes
// permission checks on directories look only at the top branch's copy),
// then without. It reports whether dirperm1 works, or why aufs does not
// mount at all.
func probe(root string, opts func(dirperm1 bool) string) (dirperm1 bool, err error) {
	dir, err := os.MkdirTemp(root, ".aufs-probe-")
	if err != nil {
		return false, fmt.Errorf("%s: probe: %w", Name, err)
	}
	defer func() { err = errors.Join(err, removeProbe(dir)) }()
	br, mnt := filepath.Join(dir, "br"), filepath.Join(dir, "mnt")
	for _, p := range []string{br, mnt} {
		if err := os.Mkdir(p, 0o755); err != nil {
			return false, fmt.Errorf("%s: probe: %w", Name, err)
		}
	}
	try := func(opts string) error {
		defer mountutil.Unmount(mnt)
		// Relative to dir, so that no character of root can upset the
		// option syntax (see Driver.branchPath).
		if err := mountutil.MountAt(dir, "none", "mnt", "aufs", 0, "br:br="+permRW+","+opts); err != nil {
			return err
		}
		return mountutil.Unmount(mnt)
	}
	if try(opts(true)) == nil {
		return true, nil
	}
	if err := try(opts(false)); err != nil {
		return false, drivers.NotSupported(Name, "a test mount with options %s fails: %v", opts(false), err)
	}
	return false, nil
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
