package drivers

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// DirUsage counts the distinct inodes and allocated bytes under dirs. An
// inode reached by several names (hard links, such as the legacy overlay
// driver's shared files) is counted once; so is one reached from two dirs.
func DirUsage(dirs ...string) (Usage, error) {
	seen := map[[2]uint64]bool{}
	var u Usage
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			st := info.Sys().(*syscall.Stat_t)
			key := [2]uint64{st.Dev, st.Ino}
			if !seen[key] {
				seen[key] = true
				u.Inodes++
				u.Bytes += st.Blocks * 512
			}
			return nil
		})
		if err != nil {
			return u, err
		}
	}
	return u, nil
}
