// Package images opens real container images, a `docker save` archive or
// an OCI image layout (a directory, or a tar of one), with
// go-containerregistry, lists their layers, and imports them into a
// storage driver from the layers' own tar streams, checked against the
// digests the image records.
//
// Every refusal of the input (not an image, a missing blob, a digest that
// does not match, a layer tar that is truncated or escapes its directory)
// matches ErrBadImage or one of layerspec's ErrCorrupt and ErrEscape, and
// names the file and, for a layer entry, the entry: the CLI turns them into
// exit code 2.
package images

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrBadImage is what every refusal of an image's own files matches.
var ErrBadImage = errors.New("bad image")

// MaxLayers is Docker's layer store limit: an image deeper than this
// cannot be loaded by Docker, so it is refused here too.
const MaxLayers = 125

// Image is one opened image.
type Image struct {
	Path     string  // what was opened
	Format   string  // "docker-save" or "oci-layout"
	Digest   v1.Hash // the manifest's digest
	ID       v1.Hash // the config's digest, Docker's image id
	Config   *v1.ConfigFile
	Layers   []Layer  // bottom first
	img      v1.Image // go-containerregistry's view
	cleanups []func() error
}

// Layer is one layer of an image.
type Layer struct {
	Index     int // 0 is the bottom layer
	Digest    v1.Hash
	DiffID    v1.Hash // digest of the uncompressed tar, from the config
	Size      int64   // bytes of the blob as stored (compressed or not)
	MediaType types.MediaType
	layer     v1.Layer
	image     *Image
	// compressed: the blob's digest differs from its diff id.
	compressed   bool
	uncompressed int64 // bytes of the tar, once read through Open
}

func badImage(path string, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", path, ErrBadImage, fmt.Sprintf(format, args...))
}

// Open opens the image at path: a directory holding an OCI layout
// (oci-layout, index.json, blobs/), or a tar that is either a `docker
// save` archive (manifest.json) or an OCI layout. Close it when done: an
// OCI layout tar is unpacked into scratch, a directory under tmp.
func Open(path, tmp string) (*Image, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, badImage(path, "%v", err)
	}
	im := &Image{Path: path}
	switch {
	case fi.IsDir():
		im.Format = "oci-layout"
		im.img, err = openLayout(path)
	default:
		var kind string
		if kind, err = tarKind(path); err != nil {
			break
		}
		if kind == "docker-save" {
			im.Format = kind
			im.img, err = tarball.ImageFromPath(path, nil)
			break
		}
		im.Format = "oci-layout"
		var dir string
		if dir, err = unpackLayout(path, tmp); err != nil {
			break
		}
		im.cleanups = append(im.cleanups, func() error { return os.RemoveAll(dir) })
		im.img, err = openLayout(dir)
	}
	if err != nil {
		im.Close()
		if errors.Is(err, ErrBadImage) {
			return nil, err
		}
		return nil, badImage(path, "%v", err)
	}
	if err := im.describe(); err != nil {
		im.Close()
		return nil, err
	}
	return im, nil
}

// Close removes what Open unpacked.
func (im *Image) Close() error {
	var errs []error
	for _, c := range im.cleanups {
		errs = append(errs, c())
	}
	im.cleanups = nil
	return errors.Join(errs...)
}

func (im *Image) describe() error {
	var err error
	if im.ID, err = im.img.ConfigName(); err != nil {
		return badImage(im.Path, "config: %v", err)
	}
	if im.Config, err = im.img.ConfigFile(); err != nil {
		return badImage(im.Path, "config %s: %v", im.ID, err)
	}
	var stored []storedLayer
	if im.Format == "docker-save" {
		// A docker save archive has no manifest digest of its own (Docker
		// names a loaded image by its config digest), and go-containerregistry
		// presents its uncompressed layer.tar files as gzip layers whose
		// digests it would compute by compressing them: the archive's own
		// entries say what is stored.
		im.Digest = im.ID
		if stored, err = savedLayers(im.Path); err != nil {
			return err
		}
	} else if im.Digest, err = im.img.Digest(); err != nil {
		return badImage(im.Path, "manifest: %v", err)
	}
	layers, err := im.img.Layers()
	if err != nil {
		return badImage(im.Path, "layers: %v", err)
	}
	if len(layers) == 0 {
		return badImage(im.Path, "the image has no layers")
	}
	if len(layers) > MaxLayers {
		return badImage(im.Path, "%d layers: Docker's layer store takes at most %d", len(layers), MaxLayers)
	}
	if n := len(im.Config.RootFS.DiffIDs); n != len(layers) {
		return badImage(im.Path, "the manifest lists %d layers, the config %d diff ids", len(layers), n)
	}
	if stored != nil && len(stored) != len(layers) {
		return badImage(im.Path, "manifest.json lists %d layer files, the image %d layers", len(stored), len(layers))
	}
	for i, l := range layers {
		ly := Layer{Index: i, DiffID: im.Config.RootFS.DiffIDs[i], layer: l, image: im}
		if stored != nil && !stored[i].compressed {
			ly.Digest, ly.Size, ly.MediaType = ly.DiffID, stored[i].size, types.DockerUncompressedLayer
			im.Layers = append(im.Layers, ly)
			continue
		}
		if ly.Digest, err = l.Digest(); err != nil {
			return badImage(im.Path, "layer %d: digest: %v", i, err)
		}
		if ly.Size, err = l.Size(); err != nil {
			return badImage(im.Path, "layer %d (%s): size: %v", i, ly.Digest, err)
		}
		if ly.MediaType, err = l.MediaType(); err != nil {
			return badImage(im.Path, "layer %d (%s): media type: %v", i, ly.Digest, err)
		}
		ly.compressed = stored != nil || isCompressed(ly.MediaType)
		im.Layers = append(im.Layers, ly)
	}
	return nil
}

// UncompressedSize is the bytes of the image's layer tars, once each
// has been read to its end by Open (the CLI verifies every layer first).
func (im *Image) UncompressedSize() int64 {
	var n int64
	for _, l := range im.Layers {
		n += l.uncompressed
	}
	return n
}

type storedLayer struct {
	size       int64
	compressed bool
}

// savedLayers reads, from a docker save archive's manifest.json and
// entries, how big each layer file is and whether it is compressed (gzip
// or zstd magic), without reading the layers' data.
func savedLayers(path string) ([]storedLayer, error) {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return nil, badImage(path, "manifest.json: %v", err)
	}
	if len(m) != 1 {
		return nil, badImage(path, "manifest.json lists %d images: want an archive of one", len(m))
	}
	want := map[string]int{}
	for i, p := range m[0].Layers {
		want[filepath.Clean(p)] = i
	}
	out := make([]storedLayer, len(m[0].Layers))
	found := make([]bool, len(out))
	f, err := os.Open(path)
	if err != nil {
		return nil, badImage(path, "%v", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badImage(path, "reading the archive: %v", err)
		}
		i, ok := want[filepath.Clean(h.Name)]
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		magic := make([]byte, 4)
		n, _ := io.ReadFull(tr, magic)
		magic = magic[:n]
		gz := n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b
		zst := n == 4 && string(magic) == "\x28\xb5\x2f\xfd"
		out[i], found[i] = storedLayer{size: h.Size, compressed: gz || zst}, true
	}
	for i, ok := range found {
		if !ok {
			return nil, badImage(path, "layer %d: blob %s is missing from the archive", i, m[0].Layers[i])
		}
	}
	return out, nil
}

func isCompressed(mt types.MediaType) bool {
	switch mt {
	case types.DockerLayer, types.OCILayer, types.OCILayerZStd, types.DockerForeignLayer, types.OCIRestrictedLayer:
		return true
	}
	return false
}

// Name is how errors and records name the layer: the image file and the
// layer's digest.
func (l *Layer) Name() string {
	return fmt.Sprintf("%s: layer %d (%s)", l.image.Path, l.Index, l.Digest)
}

// Open returns the layer's uncompressed tar stream. Both digests are
// checked as it is read: the blob's (if it is stored compressed) and the
// diff id the config records; a mismatch, or a stream shorter or longer
// than the blob's recorded size, is an error from Read at the end of the
// stream, matching ErrBadImage. A missing blob fails here.
func (l *Layer) Open() (io.ReadCloser, error) {
	if !l.compressed {
		rc, err := l.layer.Uncompressed()
		if err != nil {
			return nil, badImage(l.image.Path, "layer %d (%s): open blob: %v", l.Index, l.Digest, err)
		}
		return &checked{layer: l, rc: rc, r: rc, checks: []*digestCheck{newCheck(l, "diff id", l.DiffID, -1)}}, nil
	}
	blob := newCheck(l, "digest", l.Digest, l.Size)
	cl, err := partial.CompressedToLayer(&teeLayer{Layer: l.layer, check: blob})
	if err != nil {
		return nil, badImage(l.image.Path, "layer %d (%s): %v", l.Index, l.Digest, err)
	}
	rc, err := cl.Uncompressed()
	if err != nil {
		return nil, badImage(l.image.Path, "layer %d (%s): open blob: %v", l.Index, l.Digest, err)
	}
	return &checked{layer: l, rc: rc, r: rc, checks: []*digestCheck{blob, newCheck(l, "diff id", l.DiffID, -1)}}, nil
}

// teeLayer hands go-containerregistry the blob through a digest check, so
// the library decompresses (gzip or zstd) what is checked.
type teeLayer struct {
	v1.Layer
	check *digestCheck
}

func (t *teeLayer) Compressed() (io.ReadCloser, error) {
	rc, err := t.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.TeeReader(rc, t.check), rc}, nil
}

// digestCheck hashes what passes through it.
type digestCheck struct {
	layer *Layer
	what  string
	want  v1.Hash
	size  int64 // -1: not known
	n     int64
	h     hash.Hash
}

func newCheck(l *Layer, what string, want v1.Hash, size int64) *digestCheck {
	return &digestCheck{layer: l, what: what, want: want, size: size, h: sha256.New()}
}

func (c *digestCheck) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *digestCheck) verify() error {
	l := c.layer
	if c.want.Algorithm != "sha256" {
		return badImage(l.image.Path, "layer %d: %s %s: only sha256 digests are checked", l.Index, c.what, c.want)
	}
	if c.size >= 0 && c.n != c.size {
		return badImage(l.image.Path, "layer %d (%s): blob has %d bytes, the manifest says %d", l.Index, l.Digest, c.n, c.size)
	}
	if got := hex.EncodeToString(c.h.Sum(nil)); got != c.want.Hex {
		return badImage(l.image.Path, "layer %d (%s): %s mismatch: the content hashes to sha256:%s", l.Index, l.Digest, c.what, got)
	}
	return nil
}

// checked is an uncompressed layer stream that verifies its digests when
// it reaches its end.
type checked struct {
	layer  *Layer
	rc     io.ReadCloser
	r      io.Reader
	checks []*digestCheck // checks[len-1] hashes the uncompressed stream
	n      int64
	err    error // a failed check, returned by every later Read
}

func (c *checked) Read(p []byte) (int, error) {
	if c.err != nil {
		// Sticky: io.ReadFull drops an error that comes with enough bytes.
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.checks[len(c.checks)-1].Write(p[:n])
	if err == io.EOF {
		for _, ch := range c.checks {
			if verr := ch.verify(); verr != nil {
				c.err = verr
				return n, verr
			}
		}
		c.layer.uncompressed = c.n
	}
	return n, err
}

func (c *checked) Close() error { return c.rc.Close() }

// openLayout opens the single image of an OCI layout directory, looking
// one level into a nested index (skopeo and docker write the image's
// manifest into index.json directly; buildx may nest an index).
func openLayout(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	for depth := 0; depth < 2; depth++ {
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		var images, indexes []v1.Descriptor
		for _, d := range m.Manifests {
			switch {
			case d.MediaType.IsImage():
				images = append(images, d)
			case d.MediaType.IsIndex():
				indexes = append(indexes, d)
			}
		}
		switch {
		case len(images) == 1:
			return idx.Image(images[0].Digest)
		case len(images) > 1:
			return nil, fmt.Errorf("index.json lists %d images: want a layout holding one", len(images))
		case len(indexes) == 1:
			if idx, err = idx.ImageIndex(indexes[0].Digest); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("index.json lists no image manifest")
		}
	}
	return nil, fmt.Errorf("index.json: indexes nested deeper than one level")
}

// tarKind tells a docker save archive from an OCI layout tar by the names
// at its root.
func tarKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	oci := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", badImage(path, "reading the archive: %v", err)
		}
		switch filepath.Clean(h.Name) {
		case "manifest.json":
			return "docker-save", nil
		case "oci-layout":
			oci = true
		}
	}
	if oci {
		return "oci-layout", nil
	}
	return "", badImage(path, "neither a docker save archive (no manifest.json) nor an OCI layout (no oci-layout)")
}

// unpackLayout unpacks an OCI layout tar into a new directory under tmp.
// Only what a layout holds is taken (oci-layout, index.json, blobs/<alg>/<hex>),
// so a hostile name cannot place a file anywhere else.
func unpackLayout(path, tmp string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dir, err := os.MkdirTemp(tmp, "oci-layout-")
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		os.RemoveAll(dir)
		return "", err
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir, nil
		}
		if err != nil {
			return fail(badImage(path, "reading the archive: %v", err))
		}
		name := filepath.Clean(h.Name)
		if h.Typeflag != tar.TypeReg {
			continue // directories are made as needed; nothing else belongs in a layout
		}
		ok := name == "oci-layout" || name == "index.json"
		if m, _ := filepath.Match("blobs/*/*", name); m && filepath.Base(name) != ".." {
			ok = true
		}
		if !ok {
			continue
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fail(err)
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return fail(badImage(path, "entry %q: %v", h.Name, err))
		}
		_, err = io.Copy(out, tr)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fail(badImage(path, "entry %q: %v", h.Name, err))
		}
	}
}
