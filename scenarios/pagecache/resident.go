package pagecache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/scenarios"
)

// residentBytes is how much of the open file fd the page cache holds. It
// asks cachestat(2) (Linux 6.5), which counts the file's cached pages
// without touching them, and falls back to mincore(2) on a read-only
// mapping of the file on older kernels. Either way the file is not read,
// so measuring does not change what is measured.
func residentBytes(fd int) (int64, error) {
	var cs unix.Cachestat_t
	err := unix.Cachestat(uint(fd), &unix.CachestatRange{Off: 0, Len: 0}, &cs, 0)
	if err == nil {
		return int64(cs.Cache) * int64(os.Getpagesize()), nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
		return 0, &os.SyscallError{Syscall: "cachestat", Err: err}
	}
	return mincoreBytes(fd)
}

func mincoreBytes(fd int) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, &os.SyscallError{Syscall: "fstat", Err: err}
	}
	if st.Size == 0 {
		return 0, nil
	}
	m, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, &os.SyscallError{Syscall: "mmap", Err: err}
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	// x/sys/unix has no wrapper for mincore(2).
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return 0, &os.SyscallError{Syscall: "mincore", Err: errno}
	}
	n := int64(0)
	for _, v := range vec {
		n += int64(v & 1)
	}
	return n * int64(page), nil
}

// meminfoCached is the Cached: line of /proc/meminfo, in bytes: every page
// of the page cache on the host, whoever holds it.
func meminfoCached() (int64, error) {
	c, err := scenarios.HostCounters("/proc/meminfo", "Cached")
	if err != nil {
		return 0, err
	}
	if n, ok := c["Cached"]; ok {
		return n, nil
	}
	return 0, errors.New("/proc/meminfo has no Cached: line")
}

// copiesOf finds every distinct file under dir, on dir's own filesystem,
// whose path ends in /name and whose size is size: the real files that
// hold the data the containers read (the bottom layer's file for overlay2,
// one hard-linked inode for legacy overlay, each layer's own copy for
// vfs). Hard links are counted once. Mount points below dir (the merged
// views) are not entered: what they show is the real files again.
func copiesOf(dir, name string, size int64) ([]string, error) {
	var top unix.Stat_t
	if err := unix.Stat(dir, &top); err != nil {
		return nil, &os.PathError{Op: "stat", Path: dir, Err: err}
	}
	type inode struct{ dev, ino uint64 }
	seen := map[inode]bool{}
	var out []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		if e.IsDir() && st.Dev != top.Dev {
			return filepath.SkipDir
		}
		k := inode{st.Dev, st.Ino}
		if e.Type().IsRegular() && st.Size == size && strings.HasSuffix(p, "/"+name) && !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// ownsPageCache says whether a file in the merged view at dir has page
// cache of its own, apart from the real file under it. An overlayfs (or
// aufs) file has none: reads and mappings go to the real file's pages,
// which copiesOf already counts (cachestat on an overlayfs file, read to
// the end, reports 0 pages on Linux 6.18). A FUSE file does: the kernel
// caches what the daemon returned on the FUSE inode, while the daemon's
// own reads cache the real file too (fuse-overlayfs 1.10: one copy per
// container plus the lower file's). A vfs container's view is the real
// file itself.
func ownsPageCache(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	return st.Type == unix.FUSE_SUPER_MAGIC, nil
}
