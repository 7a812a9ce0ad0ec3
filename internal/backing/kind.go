package backing

import (
	"fmt"
	"strings"
)

// Kind names a backing filesystem.
type Kind string

const (
	Dir   Kind = "dir"   // a plain directory on whatever holds the work directory
	Tmpfs Kind = "tmpfs" // memory only: no block device, no writeback
	Ext4  Kind = "ext4"
	Xfs   Kind = "xfs"
	Btrfs Kind = "btrfs"
)

// Kinds lists every kind, in the order reports show them.
var Kinds = []Kind{Dir, Tmpfs, Ext4, Xfs, Btrfs}

// ParseKind turns a command-line word into a Kind; case does not matter.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if strings.EqualFold(strings.TrimSpace(s), string(k)) {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown backing filesystem %q: want dir, tmpfs, ext4, xfs or btrfs", s)
}

// onImage reports whether the kind is formatted on a loop-mounted image.
func (k Kind) onImage() bool { return k == Ext4 || k == Xfs || k == Btrfs }
