package mountutil

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// ErrDetached is wrapped by UnmountAll's error when a mount stayed busy and
// was detached with MNT_DETACH. The mount point is free again, but the
// filesystem lives on, invisible, until its last user lets go: its loop
// device stays attached and its page cache stays warm, so a benchmark that
// carries on measures a host that is not what it thinks.
var ErrDetached = errors.New("detached lazily (MNT_DETACH)")

// A mount is typically busy for a moment after the last process using it
// has exited (a file being closed on another CPU, a just-reaped fuse
// daemon), so EBUSY is retried for about a second before it is believed.
var (
	busyTries = 50
	busyWait  = 20 * time.Millisecond
)

// Unmount unmounts target, retrying while the kernel says it is busy. A
// target that is not a mount point (EINVAL) is not an error, so Unmount can
// be deferred before the mount is even attempted; a target that does not
// exist is (ENOENT: more likely a wrong path than a clean state). When
// target stays busy the error says which processes hold files, working
// directories or mappings below it, as far as /proc shows them. Unmount
// never removes anything.
func Unmount(target string) error {
	var err error
	for i := 0; i < busyTries; i++ {
		err = unix.Unmount(target, 0)
		switch {
		case err == nil, err == unix.EINVAL:
			return nil
		case err != unix.EBUSY:
			return &MountError{Op: "unmount", Target: target, Err: err}
		}
		// Mounts below target keep it busy for good; waiting cannot help,
		// UnmountAll can.
		if i == 0 {
			if subs := submounts(target); len(subs) > 0 {
				return &MountError{Op: "unmount", Target: target, Err: fmt.Errorf("%w: %d mounts below it (%s); unmount them first (UnmountAll)",
					err, len(subs), strings.Join(subs, ", "))}
			}
		}
		time.Sleep(busyWait)
	}
	return &MountError{Op: "unmount", Target: target, Err: fmt.Errorf("%w after %d tries over %v; %s",
		err, busyTries, time.Duration(busyTries)*busyWait, describeHolders(target))}
}

func submounts(target string) []string {
	mounts, err := MountsUnder(target)
	if err != nil {
		return nil
	}
	var subs []string
	for _, m := range mounts {
		if m.Mountpoint != Normalize(target) {
			subs = append(subs, m.Mountpoint)
		}
	}
	return subs
}

// UnmountAll unmounts every mount at or below prefix, children before
// their parents, so that no unmount fails just because something is mounted
// inside it. A mount that stays busy is detached with MNT_DETACH as a last
// resort, and the returned error says so (it wraps ErrDetached): the caller
// must know the filesystem is still alive somewhere. UnmountAll carries on
// past each failure; their errors are joined.
func UnmountAll(prefix string) error {
	var errs []error
	failed := map[int]bool{}
	for {
		mounts, err := MountsUnder(prefix)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		// Only leaves of the mount tree can go. Sorting by path length alone
		// is not enough: a mount stacked on a/b hides a/b/c, which is deeper
		// but unreachable by path until the stacked one is gone, so the
		// tree is peeled leaf by leaf, re-reading it after each round.
		isParent := map[int]bool{}
		for _, m := range mounts {
			isParent[m.Parent] = true
		}
		var leaves []*mountinfo.Info
		for _, m := range mounts {
			if !isParent[m.ID] && !failed[m.ID] {
				leaves = append(leaves, m)
			}
		}
		if len(leaves) == 0 {
			break
		}
		sort.Slice(leaves, func(i, j int) bool { return len(leaves[i].Mountpoint) > len(leaves[j].Mountpoint) })
		for _, m := range leaves {
			err := unmountOrDetach(m.Mountpoint)
			if errors.Is(err, unix.ENOENT) {
				// Hidden by a mount above its path; reachable next round,
				// or reported as stuck below.
				continue
			}
			if err != nil {
				errs = append(errs, err)
				if !errors.Is(err, ErrDetached) {
					failed[m.ID] = true
				}
			}
		}
		after, err := MountsUnder(prefix)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if len(after) >= len(mounts) {
			// A round that removed nothing will not do better the next time:
			// the leaves left are hidden (their path reaches another mount).
			for _, m := range after {
				if !failed[m.ID] {
					errs = append(errs, &MountError{Op: "unmount", Target: m.Mountpoint, FSType: m.FSType,
						Err: errors.New("still mounted: unreachable by path (hidden under another mount?)")})
				}
			}
			break
		}
	}
	return errors.Join(errs...)
}

func unmountOrDetach(target string) error {
	err := Unmount(target)
	if err == nil || !errors.Is(err, unix.EBUSY) {
		return err
	}
	if derr := unix.Unmount(target, unix.MNT_DETACH); derr != nil && derr != unix.EINVAL {
		return errors.Join(err, &MountError{Op: "unmount", Target: target, Flags: unix.MNT_DETACH, Err: derr})
	}
	return fmt.Errorf("%w as a last resort; the filesystem stays alive until its users let go: %w", ErrDetached, err)
}
