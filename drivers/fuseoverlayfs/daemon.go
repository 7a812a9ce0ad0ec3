package fuseoverlayfs

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"

	"github.com/unionbench/unionbench/internal/mountutil"
)

// Daemons lists the processes serving the fuse-overlayfs mount at
// mountpoint: the daemon a Mount left running, which keeps the command
// line Mount gave it, the program first and the mount point last. A
// benchmark pins it (a FUSE round trip costs what waking it on one CPU or
// another costs).
func Daemons(mountpoint string) ([]int, error) {
	want := mountutil.Normalize(mountpoint)
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue // not a process
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil {
			continue // gone since, or not ours to read
		}
		args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
		if len(args) < 2 || filepath.Base(string(args[0])) != Program {
			continue
		}
		if mountutil.Normalize(string(args[len(args)-1])) == want {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
