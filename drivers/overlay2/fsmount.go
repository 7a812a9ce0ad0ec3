package overlay2

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/mountutil"
)

// maxParam is the longest string fsconfig(2) takes as a value: the kernel
// copies at most 256 bytes including the NUL (strndup_user(value, 256)).
const maxParam = 255

// mountLowerdirPlus mounts m through the new mount API (fsopen, fsconfig,
// fsmount, move_mount), passing each lower layer in its own "lowerdir+"
// parameter (Linux 6.8+), so the stack is not limited by the one page
// mount(2) copies. Errors carry the kernel's own messages from the
// filesystem context log ("overlay: too many lower directories, limit is
// 500"), which mount(2) only writes to dmesg.
func mountLowerdirPlus(m MountSpec) (err error) {
	target := m.Abs(m.Target)
	fail := func(op string, e error) error {
		return &mountutil.MountError{Op: op, Source: "overlay", Target: target, FSType: "overlay", Data: describe(m), Err: e}
	}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fail("fsopen", err)
	}
	defer unix.Close(fd)
	set := func(key, value string) error {
		if len(value) > maxParam {
			return fail("fsconfig", fmt.Errorf("%s=%s: %d bytes, but fsconfig takes at most %d per value", key, value, len(value), maxParam))
		}
		var err error
		if value == "" {
			err = unix.FsconfigSetFlag(fd, key)
		} else {
			err = unix.FsconfigSetString(fd, key, value)
		}
		if err != nil {
			return fail("fsconfig", withLog(fd, fmt.Errorf("%s=%s: %w", key, value, err)))
		}
		return nil
	}
	if err := set("source", "overlay"); err != nil {
		return err
	}
	for i, lo := range m.Lowers {
		if err := set("lowerdir+", m.Abs(lo)); err != nil {
			if i == 0 && errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("%w (lowerdir+ needs Linux 6.8 or later; without it %d lower layers do not fit in one page of mount data even as relative paths)", err, len(m.Lowers))
			}
			return err
		}
	}
	if m.Upper != "" {
		if err := set("upperdir", m.Abs(m.Upper)); err != nil {
			return err
		}
		if err := set("workdir", m.Abs(m.Work)); err != nil {
			return err
		}
	}
	for _, o := range m.Options {
		key, value, _ := strings.Cut(o, "=")
		if err := set(key, value); err != nil {
			return err
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fail("fsconfig", withLog(fd, fmt.Errorf("create: %w", err)))
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fail("fsmount", withLog(fd, err))
	}
	// The detached mount's fd must be closed once it is attached, or it
	// keeps the mount busy and unmounting fails with EBUSY.
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fail("move_mount", err)
	}
	return nil
}

// describe summarizes a spec too long to print whole.
func describe(m MountSpec) string {
	parts := append([]string(nil), m.Options...)
	if n := len(m.Lowers); n > 0 {
		parts = append(parts, fmt.Sprintf("lowerdir+ x %d (%s ... %s)", n, m.Abs(m.Lowers[0]), m.Abs(m.Lowers[n-1])))
	}
	if m.Upper != "" {
		parts = append(parts, "upperdir="+m.Abs(m.Upper), "workdir="+m.Abs(m.Work))
	}
	return strings.Join(parts, ",")
}

// withLog appends what the kernel wrote to the filesystem context's log.
func withLog(fd int, err error) error {
	var msgs []string
	buf := make([]byte, 1024)
	for {
		n, rerr := unix.Read(fd, buf)
		if rerr != nil || n <= 0 {
			break
		}
		// Each message is "e overlay: ..." / "w ..." / "i ...".
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	if len(msgs) == 0 {
		return err
	}
	return fmt.Errorf("%w (kernel: %s)", err, strings.Join(msgs, "; "))
}
