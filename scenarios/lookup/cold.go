package lookup

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/scenarios"
)

// fifreeze and fithaw are _IOWR('X', 119, int) and _IOWR('X', 120, int),
// which x/sys/unix does not name.
const (
	fifreeze = 0xc0045877
	fithaw   = 0xc0045878
)

// dropCaches makes the next lookup on fs cold, dentries, inodes and the
// metadata blocks behind them alike.
//
// scenarios.DropCaches alone is not enough on a journalling backing fs:
// ext4 (jbd2) keeps every metadata buffer of a committed but not yet
// checkpointed transaction pinned, and drop_caches skips pinned buffers. A
// tree built a moment ago (every image here is) then stays cached through
// any number of drops, as long as little else was written since: on a fresh
// ext4, a cold stat of a just-built one-layer tree took 10-20 µs, and 600-900
// µs (real reads) once the journal had been checkpointed. Freezing the
// filesystem checkpoints its journal; thawing it right away costs little
// when nothing is dirty. Filesystems that cannot be frozen (tmpfs) have no
// journal to checkpoint. Only image kinds are frozen: those are unionbench's
// own loop filesystems, while a dir backing fs is the host's, which is not
// ours to freeze even for a microsecond.
func dropCaches(fs *backing.FS) error {
	if fs.Device != "" {
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
	if fs.Device != "" {
		return "journal checkpointed (FIFREEZE, FITHAW), then drop_caches=3, before each operation"
	}
	return "drop_caches=3 before each operation"
}

// checkpoint freezes and thaws the filesystem of dir.
func checkpoint(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	err = unix.IoctlSetPointerInt(fd, fifreeze, 0)
	switch {
	case err == nil:
		if err := unix.IoctlSetPointerInt(fd, fithaw, 0); err != nil {
			return fmt.Errorf("thaw the filesystem of %s after freezing it to checkpoint its journal: %w", dir, err)
		}
	case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL):
		// Nothing to checkpoint.
	default:
		return fmt.Errorf("freeze the filesystem of %s to checkpoint its journal: %w", dir, err)
	}
	return nil
}
