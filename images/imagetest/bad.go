package imagetest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Bad is one image that must be refused.
type Bad struct {
	Name  string // the case's name
	Path  string // the image file or directory
	Entry string // the layer entry the error must name ("" if the fault is not in an entry)
}

// BadImages writes, under dir, one small image per way an image can be
// bad: a layer entry "../x", a path through an absolute symlink to
// outside (a directory it creates, which must stay empty), a truncated
// archive, a layer tar that ends inside an entry, a missing blob, and a
// layer whose content does not match its diff id.
func BadImages(t testing.TB, dir, outside string) []Bad {
	t.Helper()
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	var out []Bad
	save := func(name, entry string, layers ...func(*tar.Writer) error) string {
		t.Helper()
		var paths []string
		for i, l := range layers {
			p := filepath.Join(dir, fmt.Sprintf("%s-layer%d.tar", name, i))
			if err := writeTar(p, l); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
		p := filepath.Join(dir, name+".tar")
		if err := WriteDockerSave(p, paths); err != nil {
			t.Fatal(err)
		}
		out = append(out, Bad{Name: name, Path: p, Entry: entry})
		return p
	}
	good := func(tw *tar.Writer) error {
		if err := tw.WriteHeader(hdr("etc/", tar.TypeDir, 0o755)); err != nil {
			return err
		}
		return file(tw, "etc/greeting", 0o644, []byte("hello unionbench\n"))
	}
	save("dotdot", "../x", good, func(tw *tar.Writer) error {
		return file(tw, "../x", 0o644, []byte("escaped\n"))
	})
	save("symlink-escape", "evil/pwned", good, func(tw *tar.Writer) error {
		h := hdr("evil", tar.TypeSymlink, 0o777)
		h.Linkname = outside
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		return file(tw, "evil/pwned", 0o644, []byte("escaped\n"))
	})
	save("relative-symlink-escape", "etc/up", good, func(tw *tar.Writer) error {
		h := hdr("etc/up", tar.TypeSymlink, 0o777)
		h.Linkname = "../../../../outside"
		return tw.WriteHeader(h)
	})

	// A layer tar cut inside its only file's data: the archive around it
	// is whole and the diff id matches what is there.
	cut := filepath.Join(dir, "cut-layer.tar")
	if err := writeTar(cut, func(tw *tar.Writer) error {
		return file(tw, "data.bin", 0o644, bytes.Repeat([]byte("x"), 64<<10))
	}); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(cut, 10000); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "truncated-layer.tar")
	if err := WriteDockerSave(p, []string{cut}); err != nil {
		t.Fatal(err)
	}
	out = append(out, Bad{Name: "truncated-layer", Path: p, Entry: "data.bin"})

	// A whole archive cut in half.
	whole := save("truncated-archive", "", good)
	fi, err := os.Stat(whole)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(whole, fi.Size()/2); err != nil {
		t.Fatal(err)
	}

	// A byte of a layer's file data changed after the diff id was taken.
	mism := save("digest-mismatch", "", good)
	b, err := os.ReadFile(mism)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("hello unionbench"))
	if i < 0 {
		t.Fatal("digest-mismatch: no file data to change")
	}
	b[i] = 'j'
	if err := os.WriteFile(mism, b, 0o644); err != nil {
		t.Fatal(err)
	}

	// An OCI layout missing its layer blob.
	lp := filepath.Join(dir, "missing-blob-layer.tar")
	if err := writeTar(lp, good); err != nil {
		t.Fatal(err)
	}
	oci := filepath.Join(dir, "missing-blob")
	if err := writeLayout(oci, []string{lp}, compression.GZip, types.OCILayer); err != nil {
		t.Fatal(err)
	}
	digest, err := firstLayerDigest(oci)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(oci, "blobs", digest.Algorithm, digest.Hex)); err != nil {
		t.Fatal(err)
	}
	out = append(out, Bad{Name: "missing-blob", Path: oci})
	return out
}

func firstLayerDigest(dir string) (v1.Hash, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return v1.Hash{}, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return v1.Hash{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	return layers[0].Digest()
}
