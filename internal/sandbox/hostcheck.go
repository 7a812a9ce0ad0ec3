package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"
)

// HostState is what a run must leave as it found it: the mount table of the
// host's namespace and the attached loop devices.
type HostState struct {
	Mounts []string // "mountpoint fstype source", sorted
	Loops  []string // "loopN backing-file", sorted
}

// ReadHostState reads the current mount table and loop devices.
func ReadHostState() (HostState, error) {
	var s HostState
	infos, err := mountinfo.GetMounts(nil)
	if err != nil {
		return s, err
	}
	for _, m := range infos {
		s.Mounts = append(s.Mounts, m.Mountpoint+" "+m.FSType+" "+m.Source)
	}
	s.Loops, err = attachedLoops()
	sort.Strings(s.Mounts)
	return s, err
}

func attachedLoops() ([]string, error) {
	files, err := filepath.Glob("/sys/block/loop*/loop/backing_file")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // detached between Glob and read
		}
		dev := filepath.Base(filepath.Dir(filepath.Dir(f)))
		out = append(out, dev+" "+strings.TrimSpace(string(b)))
	}
	sort.Strings(out)
	return out, nil
}

// Leaks lists what after has that before had not. A loop device counts only
// when its backing file mentions one of owned (other programs may attach
// loop devices meanwhile); a mount always counts.
func Leaks(before, after HostState, owned ...string) []string {
	var out []string
	had := map[string]bool{}
	for _, m := range before.Mounts {
		had[m] = true
	}
	for _, m := range after.Mounts {
		if !had[m] {
			out = append(out, "mount "+m)
		}
	}
	for _, l := range after.Loops {
		for _, o := range owned {
			if o != "" && strings.Contains(l, o) {
				out = append(out, "loop device "+l)
				break
			}
		}
	}
	return out
}

// WaitNoLeaks polls until nothing leaked or the timeout passes. Loop devices
// detach asynchronously: the last reference goes when the dead namespace's
// superblocks are released, shortly after the child is reaped.
func WaitNoLeaks(before HostState, timeout time.Duration, owned ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		after, err := ReadHostState()
		if err != nil {
			return err
		}
		leaks := Leaks(before, after, owned...)
		if len(leaks) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("left behind on the host after %v: %s", timeout, strings.Join(leaks, "; "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
