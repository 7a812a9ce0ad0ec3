package vm

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// libDirs is where the host's dynamic loader finds libraries without an
// ld.so.cache, in its own order (Debian's multiarch directories first).
var libDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// sharedLibraries returns every file a dynamically linked program needs at
// run time, its loader included, found the way ld.so would find them
// without a cache; a static program needs none. It reads the ELF headers
// itself rather than running ldd, which would execute the program.
func sharedLibraries(prog string, dirs []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	var walk func(path string) error
	walk = func(path string) error {
		f, err := elf.Open(path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type != elf.PT_INTERP {
				continue
			}
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return fmt.Errorf("%s: PT_INTERP: %w", path, err)
			}
			interp := string(b[:len(b)-1]) // NUL-terminated
			if !seen[interp] {
				seen[interp] = true
				out = append(out, interp)
			}
		}
		needed, err := f.ImportedLibraries()
		if err != nil {
			return nil // no dynamic section: static
		}
		for _, lib := range needed {
			found := ""
			for _, d := range dirs {
				if _, err := os.Stat(filepath.Join(d, lib)); err == nil {
					found = filepath.Join(d, lib)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("%s needs %s, found in none of %v", path, lib, dirs)
			}
			if seen[found] {
				continue
			}
			seen[found] = true
			out = append(out, found)
			if err := walk(found); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(prog); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// isStatic reports whether prog runs without a dynamic loader.
func isStatic(prog string) (bool, error) {
	f, err := elf.Open(prog)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}
