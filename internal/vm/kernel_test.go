package vm

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/testenv"
)

// fakeBzImage writes the part of a bzImage that bzImageRelease reads: the
// "HdrS" boot header and a kernel_version pointer to the version string.
func fakeBzImage(t *testing.T, path, version string) {
	t.Helper()
	b := make([]byte, 0x1000)
	copy(b[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(b[0x20E:], 0x800-0x200)
	copy(b[0x800:], version+"\x00")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

func TestBzImageRelease(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bzImage")
	fakeBzImage(t, p, "6.1.0-47-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.170-3")
	rel, err := bzImageRelease(p)
	require.NoError(t, err)
	assert.Equal(t, "6.1.0-47-amd64", rel)

	k, err := OpenKernel(p, t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, &Kernel{Source: p, Release: "6.1.0-47-amd64", Image: p}, k, "a bare bzImage has no modules")

	bad := filepath.Join(t.TempDir(), "notes.txt")
	require.NoError(t, os.WriteFile(bad, make([]byte, 0x300), 0o644))
	_, err = OpenKernel(bad, t.TempDir())
	assert.ErrorContains(t, err, "not a bzImage")
}

// fakeKernelTree lays out what a linux-image package installs.
func fakeKernelTree(t *testing.T, root, release, modules string) {
	t.Helper()
	fakeBzImage(t, filepath.Join(root, "boot", "vmlinuz-"+release), release+" #1 SMP")
	mod := filepath.Join(root, modules, release, "kernel", "fs", "overlayfs", "overlay.ko")
	require.NoError(t, os.MkdirAll(filepath.Dir(mod), 0o755))
	require.NoError(t, os.WriteFile(mod, []byte("ko"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, modules, release, "modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\n"), 0o644))
}

func TestOpenKernelTree(t *testing.T) {
	for _, modules := range []string{"lib/modules", "usr/lib/modules"} {
		root := t.TempDir()
		fakeKernelTree(t, root, "6.12.9-test", modules)
		k, err := OpenKernel(root, t.TempDir())
		require.NoError(t, err, modules)
		assert.Equal(t, "6.12.9-test", k.Release)
		assert.Equal(t, filepath.Join(root, modules, "6.12.9-test"), k.ModulesDir)
		assert.Equal(t, filepath.Join(root, "boot", "vmlinuz-6.12.9-test"), k.Image)
	}

	root := t.TempDir()
	fakeKernelTree(t, root, "6.1.0-1-test", "lib/modules")
	fakeKernelTree(t, root, "6.1.0-2-test", "lib/modules")
	_, err := OpenKernel(root, t.TempDir())
	assert.ErrorContains(t, err, "2 kernels in boot/")

	empty := t.TempDir()
	_, err = OpenKernel(empty, t.TempDir())
	assert.ErrorContains(t, err, "no boot/vmlinuz-*")

	nomods := t.TempDir()
	fakeBzImage(t, filepath.Join(nomods, "boot", "vmlinuz-6.1.0-3-test"), "6.1.0-3-test")
	_, err = OpenKernel(nomods, t.TempDir())
	assert.ErrorContains(t, err, "no lib/modules/6.1.0-3-test")
}

func TestOpenKernelDebUnpacksOnceIntoTheCache(t *testing.T) {
	dpkg := testenv.NeedTool(t, "dpkg-deb", "dpkg")
	pkg := t.TempDir()
	fakeKernelTree(t, pkg, "6.1.0-99-test", "lib/modules")
	require.NoError(t, os.MkdirAll(filepath.Join(pkg, "DEBIAN"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pkg, "DEBIAN", "control"), []byte(
		"Package: linux-image-6.1.0-99-test\nVersion: 6.1.999-1\nArchitecture: amd64\nMaintainer: unionbench tests <tests@invalid>\nDescription: fake kernel for tests\n"), 0o644))
	deb := filepath.Join(t.TempDir(), "linux-image-6.1.0-99-test_6.1.999-1_amd64.deb")
	out, err := exec.Command(dpkg, "--build", "--root-owner-group", pkg, deb).CombinedOutput()
	require.NoError(t, err, "%s", out)

	cache := t.TempDir()
	k, err := OpenKernel(deb, cache)
	require.NoError(t, err)
	assert.Equal(t, "6.1.0-99-test", k.Release)
	assert.Equal(t, deb, k.Source)
	assert.FileExists(t, filepath.Join(k.ModulesDir, "kernel/fs/overlayfs/overlay.ko"))
	rel, err := filepath.Rel(cache, k.Image)
	require.NoError(t, err)
	assert.Regexp(t, `^kernels/[0-9a-f]{16}/boot/vmlinuz-6.1.0-99-test$`, rel)

	// The second time the unpacked tree is used as it is.
	marker := filepath.Join(filepath.Dir(filepath.Dir(k.Image)), "marker")
	require.NoError(t, os.WriteFile(marker, nil, 0o644))
	k2, err := OpenKernel(deb, cache)
	require.NoError(t, err)
	assert.Equal(t, k, k2)
	assert.FileExists(t, marker)
	ents, err := os.ReadDir(filepath.Join(cache, "kernels"))
	require.NoError(t, err)
	assert.Len(t, ents, 1, "no temporary unpack directory is left behind")

	_, builtin, err := ResolveModules(k.ModulesDir, []string{"ext4"})
	require.NoError(t, err)
	assert.Equal(t, []string{"ext4"}, builtin)
}
