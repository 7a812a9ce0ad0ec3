package dockerparity

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"

	"github.com/unionbench/unionbench/layerspec"
)

// imageTag is the name the test image is loaded under.
const imageTag = "unionbench-parity:latest"

// testImage is the test image's layers: what the issue asks a Dockerfile's
// steps to make (deleted files, a replaced directory, hard links, a large
// file, many small files), plus what the init layer and the copy code care
// about: an image /etc and /dev with their own attributes, an image
// /etc/hosts, a /sys but no /proc, a setuid file, files of other owners and
// a user xattr. Parent directories are declared in every layer that
// touches them, with the lower layer's attributes, as `docker save` writes
// them.
func testImage() []*layerspec.Layer {
	base := &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "etc", Kind: layerspec.Dir, Mode: 0o751, GID: 4},
		{Path: "etc/hosts", Kind: layerspec.File, Mode: 0o600, Size: 40, Fill: layerspec.Text, Seed: 1},
		{Path: "etc/passwd", Kind: layerspec.File, Size: 300, Fill: layerspec.Text, Seed: 2},
		{Path: "dev", Kind: layerspec.Dir, Mode: 0o750},
		{Path: "sys", Kind: layerspec.Dir, Mode: 0o555},
		{Path: "bin", Kind: layerspec.Dir},
		{Path: "bin/tool", Kind: layerspec.File, Mode: 0o755 | fs.ModeSetuid, Size: 5000, Seed: 3},
		{Path: "bin/sh", Kind: layerspec.Symlink, Target: "/bin/tool"},
		{Path: "usr", Kind: layerspec.Dir},
		{Path: "usr/lib", Kind: layerspec.Dir},
		{Path: "usr/lib/libx.so", Kind: layerspec.File, Size: 70000, Seed: 4},
		{Path: "var", Kind: layerspec.Dir},
		{Path: "var/lib", Kind: layerspec.Dir},
		{Path: "var/lib/app", Kind: layerspec.Dir, Mode: 0o700, UID: 1000, GID: 1000},
		{Path: "var/lib/app/old1", Kind: layerspec.File, Size: 10, Seed: 5, UID: 1000, GID: 1000},
		{Path: "var/lib/app/old2", Kind: layerspec.File, Size: 10, Seed: 6, UID: 1000, GID: 1000},
		{Path: "data", Kind: layerspec.Dir},
		{Path: "data/big", Kind: layerspec.File, Size: 4 << 20, Seed: 7},
		{Path: "data/big.link", Kind: layerspec.Hardlink, Target: "data/big"},
		{Path: "data/zeros", Kind: layerspec.File, Size: 1 << 20, Fill: layerspec.Zero, Sparse: true},
		{Path: "data/tagged", Kind: layerspec.File, Size: 100, Seed: 8, Xattrs: map[string]string{"user.origin": "parity"}},
		{Path: "small", Kind: layerspec.Dir},
	}}
	for i := range 200 {
		base.Entries = append(base.Entries, layerspec.Entry{Path: fmt.Sprintf("small/f%03d", i), Kind: layerspec.File, Size: int64(i * 7), Fill: layerspec.Text, Seed: uint64(100 + i)})
	}
	// Layer 1: deletions (whiteouts), a directory replaced (opaque), new
	// hard links, a file changed.
	one := &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "small", Kind: layerspec.Dir},
		{Path: "data", Kind: layerspec.Dir},
		{Path: "data/zeros", Kind: layerspec.Delete},
		{Path: "data/big.link", Kind: layerspec.Delete},
		{Path: "var", Kind: layerspec.Dir},
		{Path: "var/lib", Kind: layerspec.Dir},
		{Path: "var/lib/app", Kind: layerspec.Opaque, Mode: 0o750, UID: 1000, GID: 1000},
		{Path: "var/lib/app/new", Kind: layerspec.File, Size: 20, Seed: 9},
		{Path: "new", Kind: layerspec.Dir},
		{Path: "new/a", Kind: layerspec.File, Size: 1000, Seed: 10},
		{Path: "new/b", Kind: layerspec.Hardlink, Target: "new/a"},
		{Path: "etc", Kind: layerspec.Dir, Mode: 0o751, GID: 4},
		{Path: "etc/passwd", Kind: layerspec.File, Size: 320, Fill: layerspec.Text, Seed: 11},
	}}
	for i := range 10 {
		one.Entries = append(one.Entries, layerspec.Entry{Path: fmt.Sprintf("small/f%03d", i), Kind: layerspec.Delete})
	}
	// Layer 2: a whole directory deleted, many small files in a new one.
	two := &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "usr", Kind: layerspec.Dir},
		{Path: "usr/lib", Kind: layerspec.Delete},
		{Path: "many", Kind: layerspec.Dir},
	}}
	for i := range 300 {
		two.Entries = append(two.Entries, layerspec.Entry{Path: fmt.Sprintf("many/m%03d", i), Kind: layerspec.File, Size: 64, Seed: uint64(1000 + i)})
	}
	return []*layerspec.Layer{base, one, two}
}

// imageArchive is a `docker save` archive of the layers.
type imageArchive struct {
	Path    string
	DiffIDs []string // "sha256:<hex>" of each layer tar, bottom first
}

// writeArchive writes layers as a `docker save` archive (manifest.json, a
// config holding the diff ids, one <hex>/layer.tar per layer) at path:
// what `docker load` reads.
func writeArchive(path string, layers []*layerspec.Layer) (imageArchive, error) {
	a := imageArchive{Path: path}
	f, err := os.Create(path)
	if err != nil {
		return a, err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	var files []string
	for i, l := range layers {
		var buf bytes.Buffer
		if err := layerspec.WriteTar(&buf, l); err != nil {
			return a, fmt.Errorf("layer %d: %w", i, err)
		}
		sum := sha256.Sum256(buf.Bytes())
		hexID := hex.EncodeToString(sum[:])
		a.DiffIDs = append(a.DiffIDs, "sha256:"+hexID)
		files = append(files, hexID+"/layer.tar")
		if err := add(hexID+"/layer.tar", buf.Bytes()); err != nil {
			return a, err
		}
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{"Cmd": []string{"/bin/sh"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": a.DiffIDs},
	})
	if err != nil {
		return a, err
	}
	csum := sha256.Sum256(config)
	configName := hex.EncodeToString(csum[:]) + ".json"
	if err := add(configName, config); err != nil {
		return a, err
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": []string{imageTag}, "Layers": files}})
	if err != nil {
		return a, err
	}
	if err := add("manifest.json", manifest); err != nil {
		return a, err
	}
	if err := tw.Close(); err != nil {
		return a, err
	}
	return a, f.Close()
}

// chainIDs are the layer store's names of the layers (moby layer.CreateChainID):
// the first diff id, then sha256 of "<parent chain id> <diff id>".
func chainIDs(diffIDs []string) []string {
	chain := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			chain[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(chain[i-1] + " " + d))
		chain[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return chain
}
