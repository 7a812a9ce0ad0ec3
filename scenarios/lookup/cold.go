package lookup

import (
	"fmt"
	"os"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/scenarios"
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
// The backing fs is settled first (scenarios.Settle): a dirty inode cannot
// be dropped, and writeback must not run during the timed operation.
func dropDentries(fs *backing.FS) error {
	if err := scenarios.Settle(fs); err != nil {
		return err
	}
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0); err != nil {
		return fmt.Errorf("drop dentries and inodes: %w", err)
	}
	return nil
}

// coldBy says in results how a sample was made cold.
const coldBy = "backing fs settled (syncfs, image fdatasync, writeback drained), then drop_caches=2 (dentries and inodes; page cache kept) before each operation"
