package vm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeModules lays out lib/modules/<release> the way depmod leaves it on
// an installed system: module files, modules.dep (each module's full
// dependency list) and modules.builtin.
func fakeModules(t *testing.T, dep, builtin string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lib", "modules", "6.1.0-test")
	for _, line := range strings.Split(dep, "\n") {
		mod, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		p := filepath.Join(dir, mod)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("not really ELF"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte(builtin), 0o644))
	return dir
}

const debianLikeDep = `kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/lib/crc16.ko:
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
kernel/fs/overlayfs/overlay.ko:
kernel/fs/fuse/fuse.ko:
kernel/drivers/block/loop.ko:
kernel/arch/x86/crypto/crc32c-intel.ko:
kernel/fs/9p/9p.ko: kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko kernel/net/9p/9pnet.ko
kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko
kernel/fs/netfs/netfs.ko:
kernel/net/9p/9pnet.ko:
kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko
`

func names(mods []Module) []string {
	var out []string
	for _, m := range mods {
		out = append(out, m.Name)
	}
	return out
}

func TestResolveLoadsDependenciesFirstAndEachOnce(t *testing.T) {
	dir := fakeModules(t, debianLikeDep, "kernel/drivers/virtio/virtio_pci.ko\nkernel/drivers/block/virtio_blk.ko\n")
	load, builtin, err := ResolveModules(dir, []string{"virtio_pci", "virtio-blk", "9pnet_virtio", "9p", "ext4", "loop", "overlay", "fuse", "crc32c-intel"})
	require.NoError(t, err)
	assert.Equal(t, []string{"virtio_pci", "virtio_blk"}, builtin, "built-in modules are not loaded, dashes or not")
	got := names(load)
	assert.Equal(t, []string{"9pnet", "9pnet_virtio", "netfs", "fscache", "9p", "crc16", "mbcache", "jbd2", "ext4", "loop", "overlay", "fuse", "crc32c_intel"}, got)
	pos := map[string]int{}
	for i, n := range got {
		pos[n] = i
	}
	for _, pair := range [][2]string{{"jbd2", "ext4"}, {"netfs", "fscache"}, {"fscache", "9p"}, {"9pnet", "9pnet_virtio"}} {
		assert.Less(t, pos[pair[0]], pos[pair[1]], "%s loads before %s", pair[0], pair[1])
	}
	assert.Equal(t, "kernel/arch/x86/crypto/crc32c-intel.ko", load[len(load)-1].Rel, "the file keeps its own name")
	assert.Equal(t, filepath.Join(dir, "kernel/fs/ext4/ext4.ko"), load[8].Path)
}

func TestResolveNamesWhatIsMissing(t *testing.T) {
	dir := fakeModules(t, "kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko\n", "")
	_, _, err := ResolveModules(dir, []string{"aufs"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "module aufs is neither built into the kernel nor in "+dir)

	// A dependency that modules.dep names but the tree lacks.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "modules.dep"), []byte("kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko\n"), 0o644))
	_, _, err = ResolveModules(dir, []string{"ext4"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "module jbd2 (needed by ext4)")
}

func TestResolveRefusesACycle(t *testing.T) {
	dir := fakeModules(t, "kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n", "")
	_, _, err := ResolveModules(dir, []string{"a"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cycle: a -> b -> a")
}

func TestResolveWithoutModulesDepNeedsModinfo(t *testing.T) {
	// As a Debian .deb unpacks: no modules.dep. A file that is not ELF
	// cannot say what it depends on, and the error says which file.
	dir := fakeModules(t, "kernel/fs/overlayfs/overlay.ko:\n", "")
	require.NoError(t, os.Remove(filepath.Join(dir, "modules.dep")))
	_, _, err := ResolveModules(dir, []string{"overlay"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, "kernel/fs/overlayfs/overlay.ko"))
}

func TestParseModinfo(t *testing.T) {
	sec := []byte("license=GPL\x00softdep=pre: crc32c post: foo\x00depends=jbd2,mbcache,crc16\x00name=ext4\x00\x00\x00")
	mi := parseModinfo(sec)
	assert.Equal(t, []string{"jbd2", "mbcache", "crc16"}, mi.depends)
	assert.Equal(t, []string{"crc32c"}, mi.softPre)
	assert.Empty(t, parseModinfo([]byte("depends=\x00name=overlay\x00")).depends)
}
