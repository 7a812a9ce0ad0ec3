package scenarios

import (
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/backing"
)

// settleDirty is how much dirty or in-flight page cache Settle tolerates.
const settleDirty = 4 << 20

// settleTimeout bounds the wait for writeback: a host writing for other
// reasons must not hang a run.
const settleTimeout = 5 * time.Second

// Settle writes the backing fs's dirty data all the way down and waits for
// the host's writeback to drain, so that no flush of what a scenario just
// built runs during its timed operations. On a loop image that is two
// steps: syncfs pushes the filesystem into the loop device, whose writes
// land in the page cache of the image file on the host filesystem, where
// the flusher would write them out later, on the same two CPUs as the next
// sample; fdatasync of the image file does that now, and its cached
// pages are then dropped (see below). Untimed.
func Settle(fs *backing.FS) error {
	if err := Syncfs(fs); err != nil {
		return err
	}
	if fs.Image != "" {
		f, err := os.Open(fs.Image)
		if err != nil {
			return err
		}
		err = unix.Fdatasync(int(f.Fd()))
		op := "fdatasync"
		if err == nil {
			op = "fadvise DONTNEED"
			// Now clean, the image's pages in the host's page cache are a
			// second copy of what the backing fs caches itself: dropped,
			// so that the page cache holds what the scenario touched and
			// no more. Each cold sample's drop_caches costs about 65 ms
			// per GiB cached here, and the image's copy had doubled it.
			err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		}
		f.Close()
		if err != nil {
			return &os.PathError{Op: op, Path: fs.Image, Err: err}
		}
	}
	deadline := time.Now().Add(settleTimeout)
	for synced := false; ; {
		dirty, err := dirtyBytes()
		if err != nil || dirty < settleDirty || time.Now().After(deadline) {
			return err
		}
		if !synced {
			// Dirty data of another filesystem (a test binary the go
			// command just wrote to /tmp) waits 30 s (dirty_expire) for
			// the flusher, which would then run during a sample, and held
			// every Settle to its timeout: written now, once.
			unix.Sync()
			synced = true
			continue
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Syncfs writes the backing fs's dirty data and metadata to its device
// (syncfs(2)), without waiting for the host's writeback of a loop image as
// Settle does: enough before counting what a filesystem has allocated
// (delayed allocation has happened) or what reached its device.
func Syncfs(fs *backing.FS) error {
	dir := fs.Dir
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}

// dirtyBytes is Dirty + Writeback from /proc/meminfo: page cache not yet
// on its device, host-wide.
func dirtyBytes() (int64, error) {
	c, err := HostCounters("/proc/meminfo", "Dirty", "Writeback")
	return c["Dirty"] + c["Writeback"], err
}
