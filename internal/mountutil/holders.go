package mountutil

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// holder is one process keeping a mount busy and how.
type holder struct {
	pid  int
	comm string
	how  []string // "cwd", "root", "fd 7 (/mnt/x/f)", "mmap /mnt/x/lib.so"
}

// maxHolders bounds the error message; the first few culprits are what a
// person needs to see.
const maxHolders = 8

// findHolders scans /proc for processes whose cwd, root, open files or
// memory mappings lie at or below dir. It only sees what /proc shows the
// caller (other PID namespaces are invisible, paths of processes in other
// mount namespaces may not match), so it is a hint for the error message,
// never a decision.
func findHolders(dir string) []holder {
	dir = Normalize(dir)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var found []holder
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p := filepath.Join("/proc", e.Name())
		h := holder{pid: pid}
		for _, link := range []string{"cwd", "root"} {
			if t, err := os.Readlink(filepath.Join(p, link)); err == nil && within(t, dir) && !(link == "root" && t == "/") {
				h.how = append(h.how, link)
			}
		}
		if fds, err := os.ReadDir(filepath.Join(p, "fd")); err == nil {
			for _, fd := range fds {
				if t, err := os.Readlink(filepath.Join(p, "fd", fd.Name())); err == nil && within(t, dir) {
					h.how = append(h.how, fmt.Sprintf("fd %s (%s)", fd.Name(), t))
				}
			}
		}
		h.how = append(h.how, mappingsWithin(filepath.Join(p, "maps"), dir)...)
		if len(h.how) > 0 {
			if c, err := os.ReadFile(filepath.Join(p, "comm")); err == nil {
				h.comm = strings.TrimSpace(string(c))
			}
			found = append(found, h)
		}
	}
	return found
}

func mappingsWithin(maps, dir string) []string {
	f, err := os.Open(maps)
	if err != nil {
		return nil
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		path := strings.Join(fields[5:], " ")
		if within(path, dir) && !seen[path] {
			seen[path] = true
			out = append(out, "mmap "+path)
		}
	}
	return out
}

// within reports whether path p, as /proc prints it, is dir or below it.
func within(p, dir string) bool {
	p = strings.TrimSuffix(p, " (deleted)")
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

func describeHolders(dir string) string {
	hs := findHolders(dir)
	if len(hs) == 0 {
		return "no process visible in /proc holds a file, cwd or mapping below it"
	}
	var parts []string
	for i, h := range hs {
		if i == maxHolders {
			parts = append(parts, fmt.Sprintf("and %d more", len(hs)-maxHolders))
			break
		}
		parts = append(parts, fmt.Sprintf("pid %d (%s): %s", h.pid, h.comm, strings.Join(h.how, ", ")))
	}
	return "held by " + strings.Join(parts, "; ")
}
