// Package imagetest builds the test image the image tests and benchmarks
// run on, from real Debian packages: `mmdebstrap --variant=minbase
// bookworm` makes the base layer's tar, and three more layers are written
// on it whose steps delete files (whiteouts), replace directories
// (opaque), make hard links, symlinks, a fifo and a device node, a file
// with security.capability, a large file and many small files. The image
// is written as a Docker 20.10 `docker save` archive (uncompressed layer
// tars), as an OCI layout directory (gzip layers) and as a tar of an OCI
// layout (zstd layers), all through go-containerregistry except the save
// archive, whose format it does not write.
//
// Building takes a minute or two (mmdebstrap fetches from Debian's
// archive), so the result is kept under testenv.CacheDir, keyed by a hash
// of the recipe; concurrent test packages wait for one build.
package imagetest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/testenv"
)

// recipe names this version of the build; change it whenever what Build
// makes changes, so a cached image of an older recipe is not reused.
const recipe = "unionbench-testimage-v1 mmdebstrap --variant=minbase bookworm"

// What the upper layers hold, for tests to check.
const (
	SmallFiles   = 2000          // app/small/fNNNN, 1 KiB each (layer 1)
	Deleted      = 100           // app/small/f0000..f0099 whited out (layer 2)
	BigFile      = "app/big.bin" // layer 1
	BigSize      = 32 << 20
	CapFile      = "app/bin/pinger" // carries security.capability (layer 1)
	HardLink     = "app/bin/tool-link"
	HardTarget   = "app/bin/tool"
	OpaqueDir    = "etc/apt/apt.conf.d" // replaced in layer 2 (a base directory)
	OpaqueKept   = "etc/apt/apt.conf.d/99unionbench"
	LayerCount   = 4
	RecreatedDel = "app/small/f0000" // deleted in layer 2, made again in layer 3
)

// Image is where the built test image is.
type Image struct {
	DockerSave string // docker save archive, uncompressed layers (Docker 20.10's form)
	OCIDir     string // OCI image layout directory, gzip layers
	OCITar     string // tar of an OCI image layout, zstd layers
	Layers     []string
}

// Build returns the test image, building it on first use. It skips the
// test (fails under CI=true) without root or mmdebstrap.
func Build(t testing.TB) Image {
	t.Helper()
	testenv.NeedRoot(t, "mmdebstrap builds the base layer as root")
	mm := testenv.NeedTool(t, "mmdebstrap", "mmdebstrap")
	sum := sha256.Sum256([]byte(recipe))
	key := hex.EncodeToString(sum[:8])
	cache := testenv.CacheDir(t, "images")
	dir := filepath.Join(cache, key)
	im := Image{
		DockerSave: filepath.Join(dir, "save.tar"),
		OCIDir:     filepath.Join(dir, "oci"),
		OCITar:     filepath.Join(dir, "oci-zstd.tar"),
	}
	for i := 0; i < LayerCount; i++ {
		im.Layers = append(im.Layers, filepath.Join(dir, fmt.Sprintf("layer%d.tar", i)))
	}
	lock, err := os.OpenFile(filepath.Join(cache, key+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return im
	}
	start := time.Now()
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := build(mm, tmp); err != nil {
		os.RemoveAll(tmp)
		t.Fatalf("building the test image: %v", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "done"), []byte(recipe+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("built the test image in %s (%v)", dir, time.Since(start).Round(time.Second))
	return im
}

func build(mm, dir string) error {
	base := filepath.Join(dir, "layer0.tar")
	cmd := exec.Command(mm, "--quiet", "--variant=minbase", "bookworm", base)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	names, err := tarNames(base)
	if err != nil {
		return err
	}
	uppers := []func(*tar.Writer) error{layer1, func(tw *tar.Writer) error { return layer2(tw, names) }, layer3}
	for i, write := range uppers {
		if err := writeTar(filepath.Join(dir, fmt.Sprintf("layer%d.tar", i+1)), write); err != nil {
			return fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	var paths []string
	for i := 0; i < LayerCount; i++ {
		paths = append(paths, filepath.Join(dir, fmt.Sprintf("layer%d.tar", i)))
	}
	if err := WriteDockerSave(filepath.Join(dir, "save.tar"), paths); err != nil {
		return fmt.Errorf("docker save archive: %w", err)
	}
	if err := writeLayout(filepath.Join(dir, "oci"), paths, compression.GZip, types.OCILayer); err != nil {
		return fmt.Errorf("OCI layout: %w", err)
	}
	zdir := filepath.Join(dir, "oci-zstd")
	if err := writeLayout(zdir, paths, compression.ZStd, types.OCILayerZStd); err != nil {
		return fmt.Errorf("OCI layout (zstd): %w", err)
	}
	if err := tarDir(zdir, filepath.Join(dir, "oci-zstd.tar")); err != nil {
		return err
	}
	return os.RemoveAll(zdir)
}

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func hdr(name string, typ byte, mode int64) *tar.Header {
	return &tar.Header{Name: name, Typeflag: typ, Mode: mode, ModTime: epoch, Format: tar.FormatPAX}
}

func file(tw *tar.Writer, name string, mode int64, data []byte) error {
	h := hdr(name, tar.TypeReg, mode)
	h.Size = int64(len(data))
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// capability is a VFS_CAP_REVISION_2 security.capability value granting
// cap_net_raw (13), effective: what `setcap cap_net_raw+ep` writes.
func capability() string {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000000|0x000001)
	binary.LittleEndian.PutUint32(b[4:], 1<<13)
	return string(b)
}

// layer1 is an application: many small files, a large file, hard links,
// symlinks, a fifo, a device node and a capability.
func layer1(tw *tar.Writer) error {
	for _, d := range []string{"app/", "app/bin/", "app/small/", "app/conf/", "app/dev/"} {
		if err := tw.WriteHeader(hdr(d, tar.TypeDir, 0o755)); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < SmallFiles; i++ {
		data := []byte(strings.Repeat(fmt.Sprintf("small file %d\n", i), 1024)[:1024])
		if err := file(tw, fmt.Sprintf("app/small/f%04d", i), 0o644, data); err != nil {
			return err
		}
	}
	big := make([]byte, BigSize)
	for i := 0; i < len(big); i += 8 {
		binary.LittleEndian.PutUint64(big[i:], rng.Uint64())
	}
	if err := file(tw, BigFile, 0o644, big); err != nil {
		return err
	}
	if err := file(tw, HardTarget, 0o755, []byte("#!/bin/sh\necho tool\n")); err != nil {
		return err
	}
	link := hdr(HardLink, tar.TypeLink, 0o755)
	link.Linkname = HardTarget
	if err := tw.WriteHeader(link); err != nil {
		return err
	}
	capf := hdr(CapFile, tar.TypeReg, 0o755)
	capf.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": capability()}
	script := []byte("#!/bin/sh\nexit 0\n")
	capf.Size = int64(len(script))
	if err := tw.WriteHeader(capf); err != nil {
		return err
	}
	if _, err := tw.Write(script); err != nil {
		return err
	}
	for name, target := range map[string]string{"app/current": "/app/bin", "app/rel": "bin/tool"} {
		h := hdr(name, tar.TypeSymlink, 0o777)
		h.Linkname = target
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(hdr("app/dev/fifo", tar.TypeFifo, 0o644)); err != nil {
		return err
	}
	null := hdr("app/dev/null", tar.TypeChar, 0o666)
	null.Devmajor, null.Devminor = 1, 3
	if err := tw.WriteHeader(null); err != nil {
		return err
	}
	for i := 0; i < 10; i++ {
		if err := file(tw, fmt.Sprintf("app/conf/c%d.conf", i), 0o644, []byte("old\n")); err != nil {
			return err
		}
	}
	return nil
}

// layer2 cleans up as a Dockerfile's RUN rm and a COPY over a directory
// do: whiteouts of base and layer-1 files, and opaque directories.
func layer2(tw *tar.Writer, base map[string]bool) error {
	if err := tw.WriteHeader(hdr("app/small/", tar.TypeDir, 0o755)); err != nil {
		return err
	}
	for i := 0; i < Deleted; i++ {
		if err := file(tw, fmt.Sprintf("app/small/.wh.f%04d", i), 0o644, nil); err != nil {
			return err
		}
	}
	// Docker (apt-get clean, rm -rf /usr/share/doc/*) deletes base files.
	var docs []string
	for n := range base {
		if d, f := path.Split(n); d == "usr/share/doc/" && f != "" {
			docs = append(docs, f)
		}
	}
	sort.Strings(docs)
	if len(docs) < 5 {
		return fmt.Errorf("the base layer has %d entries in usr/share/doc: want at least 5", len(docs))
	}
	if err := tw.WriteHeader(hdr("usr/share/doc/", tar.TypeDir, 0o755)); err != nil {
		return err
	}
	for _, d := range docs[:5] {
		if err := file(tw, "usr/share/doc/.wh."+d, 0o644, nil); err != nil {
			return err
		}
	}
	if !base[OpaqueDir] {
		return fmt.Errorf("the base layer has no %s", OpaqueDir)
	}
	for _, d := range []string{OpaqueDir, "app/conf"} {
		if err := tw.WriteHeader(hdr(d+"/", tar.TypeDir, 0o755)); err != nil {
			return err
		}
		if err := file(tw, d+"/.wh..wh..opq", 0o644, nil); err != nil {
			return err
		}
	}
	if err := file(tw, OpaqueKept, 0o644, []byte("APT::Install-Recommends \"false\";\n")); err != nil {
		return err
	}
	return file(tw, "app/conf/new.conf", 0o644, []byte("new\n"))
}

// layer3 is a last small step: a deleted name made again and a file
// replaced.
func layer3(tw *tar.Writer) error {
	if err := file(tw, RecreatedDel, 0o600, []byte("made again\n")); err != nil {
		return err
	}
	return file(tw, "etc/unionbench-release", 0o644, []byte("unionbench test image\n"))
}

// WriteTar writes a tar at p with write.
func WriteTar(p string, write func(*tar.Writer) error) error { return writeTar(p, write) }

func writeTar(p string, write func(*tar.Writer) error) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = write(tw)
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tarNames lists a layer tar's entries, cleaned (mmdebstrap writes "./x").
func tarNames(p string) (map[string]bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		names[strings.TrimPrefix(path.Clean("/"+h.Name), "/")] = true
	}
}

func config(diffIDs []v1.Hash) *v1.ConfigFile {
	return &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config: v1.Config{
			Cmd: []string{"/bin/sh", "-c", "true"},
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: diffIDs},
	}
}

// WriteDockerSave writes what Docker 20.10's `docker save` writes, for
// the layer tars at the paths given (bottom first): a directory per layer
// holding layer.tar, the config as <id>.json, and manifest.json.
func WriteDockerSave(out string, layers []string) error {
	var diffIDs []v1.Hash
	for _, l := range layers {
		f, err := os.Open(l)
		if err != nil {
			return err
		}
		h, _, err := v1.SHA256(f)
		f.Close()
		if err != nil {
			return err
		}
		diffIDs = append(diffIDs, h)
	}
	cfg, err := json.Marshal(config(diffIDs))
	if err != nil {
		return err
	}
	id, _, err := v1.SHA256(bytes.NewReader(cfg))
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	var files []string
	for i, l := range layers {
		dir := diffIDs[i].Hex // Docker names it by a v1 id; any unique name loads
		if err := tw.WriteHeader(hdr(dir+"/", tar.TypeDir, 0o755)); err != nil {
			return err
		}
		if err := copyInto(tw, dir+"/layer.tar", l); err != nil {
			return err
		}
		files = append(files, dir+"/layer.tar")
	}
	if err := file(tw, id.Hex+".json", 0o644, cfg); err != nil {
		return err
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": id.Hex + ".json", "RepoTags": []string{"unionbench/test:latest"}, "Layers": files}})
	if err != nil {
		return err
	}
	if err := file(tw, "manifest.json", 0o644, manifest); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func copyInto(tw *tar.Writer, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	h := hdr(name, tar.TypeReg, 0o644)
	h.Size = fi.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

func writeLayout(dir string, layers []string, c compression.Compression, mt types.MediaType) error {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, config(nil))
	if err != nil {
		return err
	}
	for _, p := range layers {
		l, err := tarball.LayerFromFile(p, tarball.WithCompression(c), tarball.WithMediaType(mt))
		if err != nil {
			return err
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			return err
		}
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return lp.AppendImage(img)
}

// tarDir writes the regular files and directories under dir into a tar.
func tarDir(dir, out string) error {
	return writeTar(out, func(tw *tar.Writer) error {
		return filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err != nil || p == dir {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if fi.IsDir() {
				return tw.WriteHeader(hdr(rel+"/", tar.TypeDir, 0o755))
			}
			return copyInto(tw, rel, p)
		})
	})
}
