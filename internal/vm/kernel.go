package vm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Kernel is a kernel ready to boot.
type Kernel struct {
	Source     string // what was named: a .deb, a directory or a bzImage
	Release    string // uname -r inside the guest
	Image      string // the bzImage qemu boots
	ModulesDir string // lib/modules/<release>; "" for a bare bzImage
}

// DefaultCacheDir is where extracted kernel packages are kept between runs:
// a .deb is unpacked once (about 400 MB for a Debian 6.1 kernel), keyed by
// its SHA-256, and never inside the source tree.
func DefaultCacheDir() string {
	const system = "/var/cache/unionbench"
	if os.Geteuid() == 0 {
		return system
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "unionbench")
	}
	return filepath.Join(os.TempDir(), "unionbench-cache")
}

// OpenKernel finds the image, release and modules of the kernel at path: a
// Debian linux-image .deb (unpacked under cacheDir), a directory laid out
// like an installed system, or a bzImage.
func OpenKernel(path, cacheDir string) (*Kernel, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	switch {
	case st.IsDir():
		k, err := openTree(path)
		if err != nil {
			return nil, err
		}
		k.Source = path
		return k, nil
	case strings.HasSuffix(path, ".deb"):
		root, err := unpackDeb(path, cacheDir)
		if err != nil {
			return nil, err
		}
		k, err := openTree(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		k.Source = path
		return k, nil
	default:
		rel, err := bzImageRelease(path)
		if err != nil {
			return nil, err
		}
		return &Kernel{Source: path, Release: rel, Image: path}, nil
	}
}

// openTree reads a tree with boot/vmlinuz-<release> and
// lib/modules/<release> (or usr/lib/modules, where /lib is merged into /usr).
func openTree(root string) (*Kernel, error) {
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	sort.Strings(images)
	switch len(images) {
	case 0:
		return nil, fmt.Errorf("%s: no boot/vmlinuz-* in it (not a linux-image package or tree)", root)
	case 1:
	default:
		return nil, fmt.Errorf("%s: %d kernels in boot/ (%s): name one tree per kernel", root, len(images), strings.Join(images, ", "))
	}
	k := &Kernel{Image: images[0], Release: strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-")}
	for _, d := range []string{"lib/modules", "usr/lib/modules"} {
		dir := filepath.Join(root, d, k.Release)
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			k.ModulesDir = dir
			break
		}
	}
	if k.ModulesDir == "" {
		return nil, fmt.Errorf("%s: no lib/modules/%s beside boot/vmlinuz-%s", root, k.Release, k.Release)
	}
	return k, nil
}

// unpackDeb unpacks a kernel package once into cacheDir/kernels/<sha256>
// and returns that directory. It unpacks into a temporary directory first
// and renames it into place, so a run killed halfway leaves no tree that a
// later run would take as complete.
func unpackDeb(deb, cacheDir string) (string, error) {
	sum, err := fileSHA256(deb)
	if err != nil {
		return "", err
	}
	kernels := filepath.Join(cacheDir, "kernels")
	dst := filepath.Join(kernels, sum[:16])
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	dpkg, err := exec.LookPath("dpkg-deb")
	if err != nil {
		return "", fmt.Errorf("%s: unpacking a .deb needs dpkg-deb (Debian package dpkg): %w", deb, err)
	}
	if err := os.MkdirAll(kernels, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(kernels, ".unpack-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // plain files only: nothing is ever mounted here
	if out, err := exec.Command(dpkg, "-x", deb, tmp).CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-deb -x %s: %w: %s", deb, err, strings.TrimSpace(string(out)))
	}
	if err := os.Rename(tmp, dst); err != nil {
		if _, statErr := os.Stat(dst); statErr == nil {
			return dst, nil // another run unpacked the same package meanwhile
		}
		return "", err
	}
	return dst, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// errNoModules is returned when modules are needed from a bare bzImage.
var errNoModules = errors.New("a bare bzImage brings no modules: give a linux-image .deb or a tree with lib/modules, or build the needed drivers in")
