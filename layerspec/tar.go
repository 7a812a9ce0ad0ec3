package layerspec

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"time"
)

// WriteTar writes the layer as a Docker image layer tarball: deletions as
// empty ".wh.<name>" files, opaque directories as the directory plus
// ".wh..wh..opq". It is what `docker save` would hold for this layer, and
// what the layer-building benchmark unpacks with tar -x as its floor.
func WriteTar(w io.Writer, l *Layer) error {
	if err := l.Validate(); err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	buf := make([]byte, 1<<20)
	for i := range l.Entries {
		e := &l.Entries[i]
		h := &tar.Header{Name: e.Path, Mode: int64(unixPerm(e.Perm())), Uid: e.UID, Gid: e.GID, ModTime: epoch, Format: tar.FormatPAX}
		if len(e.Xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			for k, v := range e.Xattrs {
				h.PAXRecords["SCHILY.xattr."+k] = v
			}
		}
		var body io.Reader
		switch e.Kind {
		case File:
			h.Typeflag, h.Size, body = tar.TypeReg, e.Size, e.Content()
		case Dir:
			h.Typeflag, h.Name = tar.TypeDir, e.Path+"/"
		case Opaque:
			h.Typeflag, h.Name = tar.TypeDir, e.Path+"/"
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			h = &tar.Header{Name: e.Path + "/" + AufsOpaqueMarker, Typeflag: tar.TypeReg, Mode: 0o444, ModTime: epoch}
		case Symlink:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.Target
		case Hardlink:
			h.Typeflag, h.Linkname = tar.TypeLink, e.Target
		case Delete:
			dir, name := path.Split(e.Path)
			h = &tar.Header{Name: dir + AufsWhiteoutPrefix + name, Typeflag: tar.TypeReg, Mode: 0o444, ModTime: epoch}
		default:
			return fmt.Errorf("tar: unknown kind %q", e.Kind)
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if body != nil {
			if _, err := io.CopyBuffer(tw, body, buf); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}
