package lookup

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/scenarios"
)

// ext4Checkpoint is EXT4_IOC_CHECKPOINT, _IOW('f', 43, __u32) (Linux
// 5.13), which x/sys/unix does not name: flush the jbd2 journal and
// checkpoint it, writing every journalled metadata block home.
const ext4Checkpoint = 0x4004662b

// dropCaches makes the next lookup on fs cold, dentries, inodes and the
// metadata blocks behind them alike.
//
// scenarios.DropCaches alone is not enough on ext4: jbd2 keeps every
// metadata buffer of a committed but not yet checkpointed transaction
// pinned, and drop_caches skips pinned buffers. A tree built a moment ago
// (every image here is) then stays cached through any number of drops, as
// long as little else was written since: on a fresh ext4, a cold stat of a
// just-built one-layer tree took 10-20 µs, and 600-900 µs (real reads) once
// the journal had been checkpointed. EXT4_IOC_CHECKPOINT does exactly that.
//
// Freezing and thawing the filesystem (FIFREEZE, FITHAW) also checkpoints
// the journal, and works on xfs and btrfs too, but it is not safe against
// kill -9: a process killed between the two ioctls (FIFREEZE can take tens
// of milliseconds, so the fault tests hit it) leaves the filesystem frozen,
// and since Linux 6.6 a frozen superblock holds itself active, so it
// outlives its mount namespace and its loop device stays attached until
// someone mounts it again to thaw it. So xfs and btrfs get syncfs and
// drop_caches only, and say so in coldBy. Only image kinds are
// checkpointed: those are unionbench's own loop filesystems, while a dir
// backing fs is the host's.
func dropCaches(fs *backing.FS) error {
	if fs.Spec.Kind == backing.Ext4 {
		if err := checkpoint(fs.Dir); err != nil {
			return err
		}
	}
	if err := scenarios.DropCaches(); err != nil {
		return fmt.Errorf("drop caches: %w", err)
	}
	return nil
}

// coldBy says in results how dropCaches made a sample cold.
func coldBy(fs *backing.FS) string {
	switch fs.Spec.Kind {
	case backing.Ext4:
		return "journal checkpointed (EXT4_IOC_CHECKPOINT), then drop_caches=3, before each operation"
	case backing.Xfs, backing.Btrfs:
		return "sync and drop_caches=3 before each operation (metadata the journal still pins may stay cached)"
	}
	return "drop_caches=3 before each operation"
}

// checkpoint checkpoints the ext4 journal of the filesystem of dir; on a
// kernel without the ioctl (before 5.13) it does nothing.
func checkpoint(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	err = unix.IoctlSetPointerInt(fd, ext4Checkpoint, 0)
	switch {
	case err == nil:
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL):
		// Nothing to checkpoint with: the drops alone have to do.
	default:
		return fmt.Errorf("checkpoint the ext4 journal of %s (EXT4_IOC_CHECKPOINT): %w", dir, err)
	}
	return nil
}
