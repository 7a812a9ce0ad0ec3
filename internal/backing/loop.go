package backing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// attachTries bounds the race with other processes for a free loop device:
// LOOP_CTL_GET_FREE only names a device that was free a moment ago.
const attachTries = 100

// attachLoop binds image to a free loop device with LO_FLAGS_AUTOCLEAR and
// returns the device path and an open file on it. While that file is open
// the device stays attached; once the caller has mounted it (the mount holds
// the device) it must close the file, so that the device detaches itself as
// soon as the mount is gone, however the mount goes. If mounting fails,
// closing the file detaches it.
//
// Direct I/O stays off: it is the loop driver's default, and with it on the
// image's host filesystem would need to accept O_DIRECT at the loop's block
// size, which not every work directory's filesystem does.
func attachLoop(image string) (dev string, loop *os.File, err error) {
	return attachLoopWith(image, configureLoop)
}

func attachLoopWith(image string, configure func(loop, img *os.File, image string) error) (dev string, loop *os.File, err error) {
	img, err := os.OpenFile(image, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	defer img.Close() // the loop device keeps its own reference
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("attach %s to a loop device: %w", image, err)
	}
	defer ctl.Close()

	for try := 0; try < attachTries; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", nil, fmt.Errorf("attach %s: LOOP_CTL_GET_FREE: %w", image, err)
		}
		dev = fmt.Sprintf("/dev/loop%d", n)
		loop, err = os.OpenFile(dev, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", nil, fmt.Errorf("attach %s: %w", image, err)
		}
		err = configure(loop, img, image)
		if err == nil {
			return dev, loop, nil
		}
		loop.Close()
		if !errors.Is(err, unix.EBUSY) {
			return "", nil, fmt.Errorf("attach %s to %s: %w", image, dev, err)
		}
		// Someone else took the device between GET_FREE and ours.
	}
	return "", nil, fmt.Errorf("attach %s: every free loop device was taken by someone else %d times in a row", image, attachTries)
}

func loopInfo(image string) unix.LoopInfo64 {
	info := unix.LoopInfo64{Flags: unix.LO_FLAGS_AUTOCLEAR}
	// The kernel only shows this name (in LOOP_GET_STATUS); sysfs reads the
	// real path from the file itself. Truncated to fit, NUL-terminated.
	copy(info.File_name[:len(info.File_name)-1], image)
	return info
}

// configureLoop uses LOOP_CONFIGURE (Linux 5.8), which binds the file and
// sets autoclear in one step, and falls back to LOOP_SET_FD followed by
// LOOP_SET_STATUS64 on older kernels, such as the 5.4 of the Ubuntu
// releases that still ship aufs.
func configureLoop(loop, img *os.File, image string) error {
	err := unix.IoctlLoopConfigure(int(loop.Fd()), &unix.LoopConfig{Fd: uint32(img.Fd()), Info: loopInfo(image)})
	if err != unix.EINVAL && err != unix.ENOTTY {
		return err
	}
	return configureLoopLegacy(loop, img, image)
}

// configureLoopLegacy is the pre-5.8 way. Between the two ioctls the device
// is attached without autoclear: if the process dies in that instant, the
// device stays attached until `losetup -d`.
func configureLoopLegacy(loop, img *os.File, image string) error {
	if err := unix.IoctlSetInt(int(loop.Fd()), unix.LOOP_SET_FD, int(img.Fd())); err != nil {
		return err
	}
	info := loopInfo(image)
	if err := unix.IoctlLoopSetStatus64(int(loop.Fd()), &info); err != nil {
		unix.IoctlSetInt(int(loop.Fd()), unix.LOOP_CLR_FD, 0)
		return fmt.Errorf("LOOP_SET_STATUS64: %w", err)
	}
	return nil
}

// loopBackingFile is what sysfs says dev (/dev/loopN) is attached to, or ""
// when it is not attached. A deleted backing file ends in " (deleted)".
func loopBackingFile(dev string) string {
	b, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(dev), "loop", "backing_file"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// waitDetached waits until dev no longer serves image. With autoclear the
// detach follows the last close of the device, but the kernel may finish it
// asynchronously, and a udev probe may still hold the device open for a
// moment.
func waitDetached(dev, image string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		bf := strings.TrimSuffix(loopBackingFile(dev), " (deleted)")
		if bf != image {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still attached to %s after %v: something holds the device open", dev, image, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
