package lookup

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/backing"
)

// dropDentries makes the next lookup cold in the sense the scenario table
// gives it: every dentry and inode the union and its layers had cached is
// dropped (drop_caches=2), so the lookup walks every layer again, while
// the page cache stays, so the directory and inode-table blocks it reads
// come from memory.
//
// Dropping the page cache too (drop_caches=3) would time the disk instead:
// on this project's 2-CPU VM a "disk-cold" stat took 0.3-1 ms whatever the
// depth up to 16 and its medians moved by 40-100% between identical runs,
// which says more about the VM's block device than about the union. The
// dentry-cold lookup is what grows with depth, and it repeats.
//
// The backing fs is synced first: a dirty inode cannot be dropped.
func dropDentries(fs *backing.FS) error {
	fd, err := unix.Open(fs.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", fs.Dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("syncfs %s: %w", fs.Dir, err)
	}
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0); err != nil {
		return fmt.Errorf("drop dentries and inodes: %w", err)
	}
	return nil
}

// coldBy says in results how a sample was made cold.
const coldBy = "syncfs, then drop_caches=2 (dentries and inodes; page cache kept) before each operation"
