package backing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// protected are directories where real container data lives. A work
// directory there would have unionbench format, mount over and delete next
// to (or on top of) someone's images and containers.
var protected = []string{"/var/lib/docker", "/var/lib/containerd", "/var/lib/containers"}

// CheckWorkdir refuses a work directory that is "/" or lies in a container
// runtime's storage (/var/lib/docker and the like), judged both by its
// cleaned path and by where its symlinks lead, whether or not it exists yet.
// Everything Create makes goes under the work directory, and cleanup removes
// it, so this is the one guard between a typo and a host's real data.
func CheckWorkdir(dir string) error {
	if dir == "" {
		return errors.New(`refusing work directory "": no path given`)
	}
	abs := dir
	if !filepath.IsAbs(abs) {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("check work directory %q: %w", dir, err)
		}
		abs = wd + "/" + dir
	}
	// The kernel resolves ".." after following a symlink, not before, so
	// the resolved path is what counts; the cleaned one is checked too in
	// case resolving is wrong about a path that does not exist yet.
	real, err := resolve(abs, 0)
	if err != nil {
		return fmt.Errorf("check work directory %q: %w", dir, err)
	}
	for _, p := range []string{filepath.Clean(abs), real} {
		if p == "/" {
			return fmt.Errorf("refusing work directory %q: it is the root directory", dir)
		}
		for _, prot := range protected {
			targets := []string{prot}
			if r, err := resolve(prot, 0); err == nil && r != prot {
				targets = append(targets, r)
			}
			for _, t := range targets {
				if p == t || strings.HasPrefix(p, t+"/") {
					return fmt.Errorf("refusing work directory %q: it is %s or inside it, a container runtime's own storage", dir, prot)
				}
			}
		}
	}
	return nil
}

// Resolve is where path leads once its symlinks are followed, whether or
// not it exists yet (see resolve): what a check of a path the user named
// must judge, since that is where writes land.
func Resolve(path string) (string, error) { return resolve(path, 0) }

// resolve is filepath.EvalSymlinks for paths that may not exist yet: the
// existing part is resolved, a dangling symlink is followed to its target,
// and the missing rest is appended.
func resolve(p string, depth int) (string, error) {
	if depth > 40 {
		return "", fmt.Errorf("%s: too many levels of symbolic links", p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if target, err := os.Readlink(p); err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		return resolve(target, depth+1)
	}
	parent := filepath.Dir(p)
	if parent == p {
		return p, nil
	}
	rp, err := resolve(parent, depth+1)
	if err != nil {
		return "", err
	}
	return filepath.Join(rp, filepath.Base(p)), nil
}
