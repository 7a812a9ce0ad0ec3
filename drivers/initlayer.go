package drivers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// initEntry is one path Docker's init layer provides: a directory, an
// empty file, or a symlink to target.
type initEntry struct {
	path   string
	kind   string // "dir", "file" or "symlink"
	target string
}

// initEntries is moby v20.10 daemon/initlayer.Setup's list (a Go map there,
// so in no order; sorted here so every run does the same).
var initEntries = []initEntry{
	{path: ".dockerenv", kind: "file"},
	{path: "dev/console", kind: "file"},
	{path: "dev/pts", kind: "dir"},
	{path: "dev/shm", kind: "dir"},
	{path: "etc/hostname", kind: "file"},
	{path: "etc/hosts", kind: "file"},
	{path: "etc/mtab", kind: "symlink", target: "/proc/mounts"},
	{path: "etc/resolv.conf", kind: "file"},
	{path: "proc", kind: "dir"},
	{path: "sys", kind: "dir"},
}

// SetupInitLayer does what Docker's initlayer.Setup does to a container's
// init layer, mounted at dir (the union of the image and the still-empty
// init layer): for each path it unlinks every component that is not a
// directory (a file of the image at /etc/hosts, an /etc/mtab symlink: the
// union records a whiteout), then, if the path is missing, creates its
// missing parents (0755, root) and the path itself: a directory (0755), an
// empty file (0755) or the symlink. So a directory is made only where the
// image lacks it, a file is always made anew, and the image's own /etc,
// /dev, /proc and /sys keep their modes and owners. Docker leaves the
// modes to its umask (0022 for the daemon); they are set here exactly.
//
// Because every non-directory component is unlinked first, no path
// resolution below dir follows a symlink of the image.
func SetupInitLayer(dir string) error {
	for _, e := range initEntries {
		comps := strings.Split(e.path, "/")
		for i := range comps {
			p := filepath.Join(dir, filepath.Join(comps[:i+1]...))
			if err := unix.Unlink(p); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.ENOTDIR) {
				return fmt.Errorf("init layer: unlink %s: %w", p, err)
			}
		}
		full := filepath.Join(dir, e.path)
		if _, err := os.Lstat(full); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("init layer: %w", err)
		}
		if err := mkdirAllNew(dir, filepath.Dir(e.path)); err != nil {
			return err
		}
		var err error
		switch e.kind {
		case "dir":
			err = mkdirAllNew(dir, e.path)
		case "file":
			var f *os.File
			if f, err = os.OpenFile(full, os.O_CREATE|os.O_WRONLY, 0o755); err == nil {
				err = errors.Join(f.Chmod(0o755), f.Close())
			}
		case "symlink":
			err = os.Symlink(e.target, full)
		}
		if err != nil {
			return fmt.Errorf("init layer: %w", err)
		}
	}
	return nil
}

// mkdirAllNew makes rel and its missing parents under dir, each new one
// 0755 and owned by root (idtools.MkdirAllAndChownNew): directories that
// exist keep their mode and owner.
func mkdirAllNew(dir, rel string) error {
	if rel == "." {
		return nil
	}
	p := dir
	for _, c := range strings.Split(rel, "/") {
		p = filepath.Join(p, c)
		err := os.Mkdir(p, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			err = errors.Join(os.Chmod(p, 0o755), os.Lchown(p, 0, 0))
		}
		if err != nil {
			return fmt.Errorf("init layer: %w", err)
		}
	}
	return nil
}
