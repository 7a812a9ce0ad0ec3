package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// scratchPrefix names every scratch directory Enter makes, so Clean can
// recognise them and nothing else.
const scratchPrefix = "unionbench-"

// ownerLock is a file in each scratch directory that the parent holds an
// exclusive flock on for as long as it lives. The kernel drops the lock when
// the process dies, however it dies, so a lock that can be taken means the
// directory is left over; pid files would be fooled by pid reuse.
const ownerLock = ".owner.lock"

// MakeScratch makes a scratch directory under parent for a process that
// works outside a sandbox (unionbench vm keeps a guest's disk image there)
// and holds its owner lock until lock is closed or the process dies: from
// then on Clean(parent) removes the directory. The caller removes it when
// done, as a sandbox's parent does.
func MakeScratch(parent string) (dir string, lock *os.File, err error) {
	return makeScratch(parent)
}

func makeScratch(parent string) (dir string, lock *os.File, err error) {
	if parent != "" {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return "", nil, err
		}
	}
	dir, err = os.MkdirTemp(parent, scratchPrefix)
	if err != nil {
		return "", nil, err
	}
	lock, err = os.OpenFile(filepath.Join(dir, ownerLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("lock scratch directory: %w", err)
	}
	fmt.Fprintf(lock, "%d\n", os.Getpid())
	return dir, lock, nil
}

// Clean removes the scratch directories under parent whose owner is gone
// (killed before it could clean up) and returns their paths. Directories of
// live runs are left alone, and so is any directory with a mount under it.
func Clean(parent string) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), scratchPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		stale, err := isStale(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !stale {
			continue
		}
		mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
		if err != nil || len(mounts) > 0 {
			errs = append(errs, fmt.Errorf("%s: %d mounts under it in this namespace, not removing (%v)", dir, len(mounts), err))
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, dir)
	}
	return removed, errors.Join(errs...)
}

func isStale(dir string) (bool, error) {
	f, err := os.OpenFile(filepath.Join(dir, ownerLock), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		// Killed between MkdirTemp and creating the lock.
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
