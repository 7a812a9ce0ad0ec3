package backing

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// xfsInodeSize is the on-disk inode size of xfs v5, used to turn an inode
// count into a share of the space.
const xfsInodeSize = 512

// mkfs formats image (a file of size bytes) as spec.Kind.
func mkfs(spec Spec, image string, size int64, extra []string) error {
	var prog string
	var args []string
	switch spec.Kind {
	case Ext4:
		// Initialise inode tables and journal now: lazy init would do it
		// in a kernel thread after mounting, writing behind the
		// measurements' backs.
		prog, args = "mkfs.ext4", []string{"-F", "-q", "-E", "lazy_itable_init=0,lazy_journal_init=0"}
		if spec.Inodes > 0 {
			args = append(args, "-N", strconv.FormatInt(spec.Inodes, 10))
		}
	case Xfs:
		// ftype=1 (d_type) is mkfs.xfs's default.
		prog, args = "mkfs.xfs", []string{"-f", "-q"}
		if spec.Reflink != nil {
			args = append(args, "-m", "reflink="+boolDigit(*spec.Reflink))
		}
		if spec.Inodes > 0 {
			args = append(args, "-i", "maxpct="+strconv.FormatInt(xfsMaxPct(spec.Inodes, size), 10))
		}
	case Btrfs:
		prog, args = "mkfs.btrfs", []string{"-f", "-q"}
	default:
		return fmt.Errorf("mkfs: %s is not made on an image", spec.Kind)
	}
	args = append(append(args, extra...), image)
	path, err := exec.LookPath(prog)
	if err != nil {
		return fmt.Errorf("%w: %s not installed: %w", ErrUnsupported, prog, err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		return fmt.Errorf("%s %s: %w: %s", prog, strings.Join(args, " "), err, msg)
	}
	return nil
}

// xfsMaxPct is the smallest whole percentage of size that holds inodes
// inodes (0 would mean "no limit" to mkfs.xfs, so at least 1).
func xfsMaxPct(inodes, size int64) int64 {
	if size <= 0 {
		return 100
	}
	pct := (inodes*xfsInodeSize*100 + size - 1) / size
	return max(1, min(pct, 100))
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
