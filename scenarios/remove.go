package scenarios

import (
	"fmt"
	"os"

	"github.com/unionbench/unionbench/internal/mountutil"
)

// removeTree removes dir after checking nothing is mounted under it: a
// RemoveAll over a live mount would delete the lower layers' data through it.
func removeTree(dir string) error {
	mounts, err := mountutil.MountsUnder(dir)
	if err != nil {
		return err
	}
	if len(mounts) > 0 {
		return fmt.Errorf("not removing %s: %s is still mounted", dir, mounts[0].Mountpoint)
	}
	return os.RemoveAll(dir)
}
