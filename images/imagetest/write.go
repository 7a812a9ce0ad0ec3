package imagetest

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The writers here make the small hand-written archives of BadImages and
// the fault suite: Docker refuses to make a layer with "../x" or a
// digest that does not match, so these cannot come from a real daemon.
// The test image itself is built by Docker (build.go).

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

// writeLayout writes an OCI layout of the layer tars with compression c.
// BadImages uses it for the missing-blob case (a layout whose blob it
// then removes).
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
