package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Module is one kernel module the guest loads.
type Module struct {
	Name string // module name, dashes as underscores (crc32c_intel)
	Path string // the file on the host
	Rel  string // its path under lib/modules/<release> (kernel/fs/overlayfs/overlay.ko)
}

// RequiredModules are what every guest needs, in the order a person would
// modprobe them; dependencies are added in front of each. The virtio and
// 9p ones carry the scratch disk and the results share; crc32c_generic is
// named because ext4 and libcrc32c only soft-depend on "crc32c", an alias
// that the kernel would resolve by calling modprobe, and the guest has no
// modprobe. A module built into the kernel is simply not loaded.
var RequiredModules = []string{
	"virtio_pci", "virtio_blk", "9pnet_virtio", "9p",
	"crc32c_generic", "ext4", "loop", "overlay", "fuse",
}

// moduleIndex knows where each module of one kernel is and what it needs.
type moduleIndex struct {
	dir     string
	files   map[string]string   // name -> path relative to dir
	deps    map[string][]string // name -> direct dependencies, when modules.dep said
	builtin map[string]bool
}

// normName turns a file or module name into the kernel's module name:
// "kernel/arch/x86/crypto/crc32c-intel.ko" -> "crc32c_intel".
func normName(s string) string {
	s = filepath.Base(s)
	if i := strings.Index(s, ".ko"); i >= 0 {
		s = s[:i]
	}
	return strings.ReplaceAll(s, "-", "_")
}

// loadModuleIndex reads modules.builtin and modules.dep of a modules
// directory. Debian's linux-image packages ship no modules.dep (depmod
// makes it when the package is installed), so without one the files are
// found by walking the tree and each module's dependencies are read from
// its own .modinfo section, where modpost recorded them at build time: no
// depmod is needed on the host.
func loadModuleIndex(dir string) (*moduleIndex, error) {
	ix := &moduleIndex{dir: dir, files: map[string]string{}, builtin: map[string]bool{}}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, line := range strings.Fields(string(b)) {
			ix.builtin[normName(line)] = true
		}
	}
	if f, err := os.Open(filepath.Join(dir, "modules.dep")); err == nil {
		defer f.Close()
		ix.deps = map[string][]string{}
		s := bufio.NewScanner(f)
		s.Buffer(make([]byte, 64<<10), 1<<20)
		for n := 1; s.Scan(); n++ {
			mod, deps, ok := strings.Cut(s.Text(), ":")
			if !ok {
				if strings.TrimSpace(s.Text()) == "" {
					continue
				}
				return nil, fmt.Errorf("%s/modules.dep:%d: no colon in %q", dir, n, s.Text())
			}
			name := normName(mod)
			ix.files[name] = mod
			ix.deps[name] = nil
			for _, d := range strings.Fields(deps) {
				ix.deps[name] = append(ix.deps[name], normName(d))
			}
		}
		return ix, s.Err()
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(d.Name(), ".ko") {
			rel, _ := filepath.Rel(dir, p)
			ix.files[normName(d.Name())] = rel
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ix.files) == 0 && len(ix.builtin) == 0 {
		return nil, fmt.Errorf("%s: no modules and no modules.builtin", dir)
	}
	return ix, nil
}

// dependencies lists what name needs loaded first: its hard dependencies,
// and those of its "pre:" soft dependencies that name a module file
// (aliases such as "crc32c" would need modprobe to resolve; see
// RequiredModules).
func (ix *moduleIndex) dependencies(name string) ([]string, error) {
	info, err := ix.modinfo(name)
	if err != nil {
		if ix.deps != nil {
			return ix.deps[name], nil // modules.dep alone is enough
		}
		return nil, err
	}
	var out []string
	for _, pre := range info.softPre {
		if _, ok := ix.files[normName(pre)]; ok {
			out = append(out, normName(pre))
		}
	}
	if ix.deps != nil {
		return append(out, ix.deps[name]...), nil
	}
	return append(out, info.depends...), nil
}

// Resolve returns the modules to load, each after everything it depends
// on, and which of want are built into the kernel.
func (ix *moduleIndex) Resolve(want []string) (load []Module, builtin []string, err error) {
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch {
		case state[name] == 2:
			return nil
		case state[name] == 1:
			return fmt.Errorf("module dependency cycle: %s -> %s", strings.Join(chain, " -> "), name)
		case ix.builtin[name]:
			state[name] = 2
			if len(chain) == 0 {
				builtin = append(builtin, name)
			}
			return nil
		}
		rel, ok := ix.files[name]
		if !ok {
			if len(chain) > 0 {
				return fmt.Errorf("module %s (needed by %s) is neither built into the kernel nor in %s", name, chain[len(chain)-1], ix.dir)
			}
			return fmt.Errorf("module %s is neither built into the kernel nor in %s", name, ix.dir)
		}
		state[name] = 1
		deps, err := ix.dependencies(name)
		if err != nil {
			return err
		}
		next := append(chain[:len(chain):len(chain)], name) // a fresh slice per level
		for _, d := range deps {
			if err := visit(normName(d), next); err != nil {
				return err
			}
		}
		state[name] = 2
		load = append(load, Module{Name: name, Path: filepath.Join(ix.dir, rel), Rel: rel})
		return nil
	}
	for _, w := range want {
		if err := visit(normName(w), nil); err != nil {
			return nil, nil, err
		}
	}
	return load, builtin, nil
}

// ResolveModules is loadModuleIndex then Resolve.
func ResolveModules(dir string, want []string) ([]Module, []string, error) {
	ix, err := loadModuleIndex(dir)
	if err != nil {
		return nil, nil, err
	}
	return ix.Resolve(want)
}

type modinfo struct {
	depends []string
	softPre []string
}

// modinfo reads a module's .modinfo section ("key=value" strings separated
// by NUL bytes). Modules compressed with gzip are read through it; xz and
// zstd ones, which the standard library cannot read, need a modules.dep.
func (ix *moduleIndex) modinfo(name string) (modinfo, error) {
	path := filepath.Join(ix.dir, ix.files[name])
	raw, err := os.ReadFile(path)
	if err != nil {
		return modinfo{}, err
	}
	switch {
	case strings.HasSuffix(path, ".gz"):
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return modinfo{}, fmt.Errorf("%s: %w", path, err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return modinfo{}, fmt.Errorf("%s: %w", path, err)
		}
	case !strings.HasSuffix(path, ".ko"):
		return modinfo{}, fmt.Errorf("%s: compressed module and no modules.dep: run depmod -b on the tree first", path)
	}
	ef, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		return modinfo{}, fmt.Errorf("%s: %w", path, err)
	}
	sec := ef.Section(".modinfo")
	if sec == nil {
		return modinfo{}, fmt.Errorf("%s: no .modinfo section", path)
	}
	data, err := sec.Data()
	if err != nil {
		return modinfo{}, fmt.Errorf("%s: .modinfo: %w", path, err)
	}
	return parseModinfo(data), nil
}

// parseModinfo reads depends= (comma-separated) and softdep= ("pre: a b
// post: c") out of a .modinfo section.
func parseModinfo(data []byte) modinfo {
	var mi modinfo
	for _, kv := range bytes.Split(data, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		switch k {
		case "depends":
			for _, d := range strings.Split(v, ",") {
				if d = strings.TrimSpace(d); d != "" {
					mi.depends = append(mi.depends, d)
				}
			}
		case "softdep":
			pre := false
			for _, w := range strings.Fields(v) {
				switch w {
				case "pre:":
					pre = true
				case "post:":
					pre = false
				default:
					if pre {
						mi.softPre = append(mi.softPre, w)
					}
				}
			}
		}
	}
	return mi
}
