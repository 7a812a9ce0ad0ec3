package quirks

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/layerspec"
)

func atimeRead() Quirk {
	return Quirk{
		ID:       "atime-read",
		Title:    "st_atime updated by reading a lower file",
		Requires: "read(2) marks st_atime for update (POSIX; Linux relatime still updates when atime <= mtime)",
		Image:    oneLayer(file(lowerFile, 4096, 80)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			var sfs unix.Statfs_t
			if err := unix.Statfs(c.Dir, &sfs); err != nil {
				return Outcome{}, sysErr("statfs", c.Dir, err)
			}
			before, err := lstat(p)
			if err != nil {
				return Outcome{}, err
			}
			if sfs.Flags&unix.ST_NOATIME != 0 {
				return Outcome{"noatime mount", false, "the merged view is mounted noatime: reads never update atime"}, nil
			}
			// relatime skips the update when atime is newer than mtime and
			// ctime and less than a day old: then no filesystem updates it,
			// and the probe says so instead of blaming the driver.
			relatimeSkips := sfs.Flags&unix.ST_RELATIME != 0 && tsAfter(before.Atim, before.Mtim) && tsAfter(before.Atim, before.Ctim)
			// Timestamps come from a clock that ticks at jiffy granularity:
			// wait long enough that an update is a visible change.
			time.Sleep(20 * time.Millisecond)
			if _, err := head(p, 4096); err != nil {
				return Outcome{}, err
			}
			after, err := lstat(p)
			if err != nil {
				return Outcome{}, err
			}
			detail := fmt.Sprintf("atime %s -> %s (mtime %s)", ts(before.Atim), ts(after.Atim), ts(before.Mtim))
			switch {
			case tsAfter(after.Atim, before.Atim):
				return Outcome{"updated", true, detail}, nil
			case relatimeSkips:
				return Outcome{"skipped by relatime", true, detail + "; atime was already newer than mtime and ctime, which relatime does not update on any filesystem"}, nil
			}
			return Outcome{"not updated", false, detail}, nil
		},
	}
}

func tsAfter(a, b unix.Timespec) bool {
	return a.Sec > b.Sec || (a.Sec == b.Sec && a.Nsec > b.Nsec)
}

// metaProbe is a metadata change of a lower file (chmod, chown, utimes):
// the change must show and the file's data must stay as it was, whether
// the driver copied the data up with it or only the inode (metacopy).
func metaProbe(id, title, requires string, seed uint64, change func(p string) error, check func(st unix.Stat_t) (string, bool)) Quirk {
	return metaProbeObs(id, title, requires, seed, change, func(st unix.Stat_t) (string, string, bool) {
		what, ok := check(st)
		return what, "", ok
	})
}

// metaProbeObs is metaProbe whose check may name what it observed when
// that is not simply "applied" (obs empty: the default words).
func metaProbeObs(id, title, requires string, seed uint64, change func(p string) error, check func(st unix.Stat_t) (what, obs string, ok bool)) Quirk {
	return Quirk{
		ID: id, Title: title, Requires: requires,
		Image: oneLayer(file(lowerFile, 64<<10, seed)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			data0, err := head(p, 64<<10)
			if err != nil {
				return Outcome{}, err
			}
			if err := change(p); err != nil {
				return Outcome{errnoName(err), false, err.Error()}, nil
			}
			st, err := lstat(p)
			if err != nil {
				return Outcome{}, err
			}
			data1, err := head(p, 64<<10)
			if err != nil {
				return Outcome{}, err
			}
			what, obs, ok := check(st)
			kept := bytes.Equal(data0, data1)
			detail := fmt.Sprintf("%s; data kept %v (%d bytes read back)", what, kept, len(data1))
			switch {
			case !ok:
				return Outcome{"change lost", false, detail}, nil
			case !kept:
				return Outcome{"data changed", false, detail}, nil
			case obs != "":
				return Outcome{obs + ", data kept", true, detail}, nil
			}
			return Outcome{"applied, data kept", true, detail}, nil
		},
	}
}

func chmodCopyUp() Quirk {
	return metaProbe("chmod-copyup", "chmod(2) of a lower file", "the new mode shows and the data is unchanged (POSIX chmod)", 81,
		func(p string) error { return unix.Chmod(p, 0o600) },
		func(st unix.Stat_t) (string, bool) {
			return fmt.Sprintf("mode %04o", st.Mode&0o7777), st.Mode&0o7777 == 0o600
		})
}

func chownCopyUp() Quirk {
	return metaProbe("chown-copyup", "chown(2) of a lower file", "the new owner shows and the data is unchanged (POSIX chown)", 82,
		func(p string) error { return unix.Lchown(p, 4321, 8765) },
		func(st unix.Stat_t) (string, bool) {
			return fmt.Sprintf("owner %d:%d", st.Uid, st.Gid), st.Uid == 4321 && st.Gid == 8765
		})
}

// utimesStamp is a time no layer was built at.
var utimesStamp = unix.NsecToTimespec(time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC).UnixNano())

// utimesCopyUp sets a stamp with a sub-second part. POSIX utimensat: a
// time the file system cannot represent is set "to the greatest value
// supported by the file system that is not greater than the specified
// time", so a stamp cut to whole seconds is allowed when that is the
// file system's granularity (aufs sets none, so the VFS default of one
// second applies to its inodes, while the files themselves, on the
// branch, show nanoseconds).
func utimesCopyUp() Quirk {
	return metaProbeObs("utimes-copyup", "utimensat(2) of a lower file", "the new atime and mtime show, or the greatest the file system can represent that is not later, and the data is unchanged (POSIX utimensat)", 83,
		func(p string) error {
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{utimesStamp, utimesStamp}, unix.AT_SYMLINK_NOFOLLOW)
		},
		func(st unix.Stat_t) (string, string, bool) {
			what := fmt.Sprintf("mtime %s, atime %s (set %s)", ts(st.Mtim), ts(st.Atim), ts(utimesStamp))
			whole := unix.Timespec{Sec: utimesStamp.Sec}
			switch {
			case st.Mtim == utimesStamp && st.Atim == utimesStamp:
				return what, "", true
			case st.Mtim == whole && st.Atim == whole:
				return what, "cut to whole seconds", true
			}
			return what, "", false
		})
}

func xattrCopyUp() Quirk {
	const name, value = "user.quirk", "lower-value"
	return Quirk{
		ID:       "xattr-copyup",
		Title:    "user.* xattr of a lower file after copy-up; no driver xattrs shown",
		Requires: "extended attributes belong to the file and survive a write; the file shows only its own (Linux xattr(7))",
		Image: oneLayer(layerspec.Entry{Path: lowerFile, Kind: layerspec.File, Size: 4096, Seed: 84,
			Xattrs: map[string]string{name: value}}),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			before := getxattr(p, name)
			if err := overwrite(p); err != nil {
				return Outcome{}, err
			}
			after := getxattr(p, name)
			buf := make([]byte, 64<<10)
			n, err := unix.Llistxattr(p, buf)
			if err != nil {
				return Outcome{"listxattr " + errnoName(err), false, err.Error()}, nil
			}
			var private []string
			for _, x := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
				if strings.Contains(x, "overlay.") || strings.HasPrefix(x, "user.fuseoverlayfs.") {
					private = append(private, x)
				}
			}
			detail := fmt.Sprintf("%s before %q, after copy-up %q; driver xattrs listed: %s", name, before, after, listOrNone(private))
			switch {
			case after != value:
				return Outcome{"xattr lost", false, detail}, nil
			case len(private) > 0:
				return Outcome{"driver xattrs leak", false, detail}, nil
			}
			return Outcome{"preserved", true, detail}, nil
		},
	}
}

// getxattr returns the value, or the errno name in angle brackets.
func getxattr(p, name string) string {
	buf := make([]byte, 4096)
	n, err := unix.Lgetxattr(p, name, buf)
	if err != nil {
		return "<" + errnoName(err) + ">"
	}
	return string(buf[:n])
}
