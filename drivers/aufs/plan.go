package aufs

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// Branch permissions, as the aufs manual spells them. The container's own
// layer is the one writable branch; every parent is read-only but its
// whiteouts count ("ro+wh"), because image layers carry the deletions of
// the layers below them as .wh.<name> files.
const (
	permRW   = "rw"
	permROWH = "ro+wh"
)

// mountPlan is the mount(2) calls that assemble one aufs union.
//
// The kernel copies at most one page of mount data, and a deep stack of
// absolute branch paths does not fit in one: 126 parents at ~110 bytes a
// branch is ~14 KiB. Docker's answer, kept here, is to mount as many
// branches as fit and add the rest at the bottom of the stack with
// "remount,append:<dir>=ro+wh" calls, each of which also fits in a page.
// The number of calls is part of what a mount costs at depth, so branches
// are named by absolute path as in Docker, not shortened.
type mountPlan struct {
	// First is the data of the initial mount:
	// "br:<rw>=rw:<ro1>=ro+wh:...,<opts>".
	First string
	// Appends are the data of the MS_REMOUNT calls that follow, in order:
	// "append:<roN>=ro+wh,append:<roN+1>=ro+wh,...". Each appended branch
	// goes to the bottom, so appending in order keeps the stack's order.
	Appends []string
}

// Calls returns every call's data, first mount first.
func (p mountPlan) Calls() []string { return append([]string{p.First}, p.Appends...) }

// maxBranchesPerCall bounds the branches one mount(2) call adds. On the
// test kernel (aufs 6.1-20240701 under qemu) a first mount whose br: list
// names 126 short relative branches did not return within minutes, while
// 64 mounted in 80 ms and appends of 32 at a time up to the 127-branch
// limit took 0.1 s each. Docker never meets this: its branch paths
// (/var/lib/docker/aufs/diff/<64 hex digits>) fit at most ~44 to a page.
// Short paths (relative branches, short ids) would, so calls stop at 64
// branches as well as at a page.
const maxBranchesPerCall = 64

// planMount plans the union of the writable branch rw over the read-only
// branches ro (nearest parent first), with opts (comma-separated, may be
// empty) after the branches of the first call. Every call's data is at most
// pageSize-1 bytes, the terminating NUL taking the last byte of the page.
// Each call carries as many branches as fit (up to maxBranchesPerCall),
// so the number of calls is the smallest possible for that order.
func planMount(rw string, ro []string, opts string, pageSize int) (mountPlan, error) {
	limit := pageSize - 1
	tail := ""
	if opts != "" {
		tail = "," + opts
	}
	first := "br:" + rw + "=" + permRW
	if len(first)+len(tail) > limit {
		return mountPlan{}, fmt.Errorf("aufs: the writable branch %s and options %q alone take %d bytes of mount data, more than a page (%d bytes) holds",
			rw, opts, len(first)+len(tail), limit)
	}
	i := 0
	for ; i < len(ro) && i+1 < maxBranchesPerCall; i++ {
		br := ":" + ro[i] + "=" + permROWH
		if len(first)+len(br)+len(tail) > limit {
			break
		}
		first += br
	}
	plan := mountPlan{First: first + tail}
	for i < len(ro) {
		var call string
		for n := 0; i < len(ro) && n < maxBranchesPerCall; i, n = i+1, n+1 {
			item := "append:" + ro[i] + "=" + permROWH
			if call != "" {
				item = "," + item
			}
			if len(call)+len(item) > limit {
				break
			}
			call += item
		}
		if call == "" {
			return mountPlan{}, fmt.Errorf("aufs: branch %s does not fit in one page (%d bytes) of mount data even alone", ro[i], limit)
		}
		plan.Appends = append(plan.Appends, call)
	}
	return plan, nil
}

// mountBranches performs a plan at target: the first call mounts, each
// append is a remount of the same mount (Docker passes MS_REMOUNT alone,
// which keeps it read-write). A failure part way, or ctx ending between
// two calls, unmounts what was mounted, so a half-assembled union never
// stays behind.
func (d *Driver) mountBranches(ctx context.Context, target string, plan mountPlan) (err error) {
	defer func() {
		if err != nil {
			err = errors.Join(err, d.unmountFn(target))
		}
	}()
	if err := d.mountFn(d.branchDir, "none", target, "aufs", 0, plan.First); err != nil {
		return err
	}
	for i, a := range plan.Appends {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("after %d of %d mount calls: %w", i+1, len(plan.Appends)+1, err)
		}
		if err := d.mountFn(d.branchDir, "none", target, "aufs", unix.MS_REMOUNT, a); err != nil {
			return err
		}
	}
	return nil
}

// unmountBranches unmounts an aufs union. Like Docker, it first runs
// "auplink <target> flush" when aufs-tools is installed: a hard-linked
// file copied up into the writable branch is tracked by an in-memory
// pseudo-link while mounted, and the flush turns those into real hard links
// in the branch; umount(2) alone (unlike umount.aufs) drops them, so the
// names stop sharing an inode after the next mount. A failed flush loses
// only that, never data, so it does not stop the unmount.
func (d *Driver) unmountBranches(target string) error {
	if d.auplink != "" {
		_ = exec.Command(d.auplink, target, "flush").Run()
	}
	return d.unmountFn(target)
}

// branchOptions are the aufs options that add, remove or change branches;
// a variant may not pass them, since the driver decides the branches.
var branchOptions = map[string]bool{
	"br": true, "dirs": true, "add": true, "ins": true, "append": true, "prepend": true,
	"del": true, "idel": true, "mod": true, "imod": true,
}

// checkOption rejects a variant option that would break the mount data.
func checkOption(o string) error {
	name, _, _ := strings.Cut(o, "=")
	name, _, _ = strings.Cut(name, ":")
	switch {
	case o == "" || strings.ContainsAny(o, ", \t\n"):
		return fmt.Errorf("aufs: bad mount option %q: want name or name=value without commas or spaces", o)
	case branchOptions[name]:
		return fmt.Errorf("aufs: mount option %q changes the branches, which the driver decides", o)
	}
	return nil
}
