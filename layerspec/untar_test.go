package layerspec

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type tarEntry struct {
	name, link string
	typ        byte
	data       string
	mode       int64
}

func layerTar(t *testing.T, entries ...tarEntry) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: mode, Size: int64(len(e.data)), ModTime: time.Unix(1e9, 0)}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(e.data))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return &b
}

// A directory the layer replaces is written to anew afterwards, through
// fresh fds rather than ones of the removed tree (the applier caches a
// directory's fd and must drop it, and those below it, when it goes).
func TestTarReplacedDirectoryIsWrittenAnew(t *testing.T) {
	dir := t.TempDir()
	l := layerTar(t,
		tarEntry{name: "a/b/c/old", typ: tar.TypeReg, data: "old"}, // a, a/b, a/b/c made implicitly
		tarEntry{name: "a/b/c", typ: tar.TypeReg, data: "file"},    // a/b/c replaced by a file
		tarEntry{name: "a/b/x", typ: tar.TypeReg, data: "x"},       // a/b still the same directory
		tarEntry{name: "a", typ: tar.TypeSymlink, link: "elsewhere"},
		tarEntry{name: "a/", typ: tar.TypeDir, mode: 0o755}, // the symlink replaced by a new directory
		tarEntry{name: "a/b/new", typ: tar.TypeReg, data: "new"},
	)
	require.NoError(t, Apply(context.Background(), dir, FromTar("test", l), OverlayFormat{}, nil))
	got, err := os.ReadFile(filepath.Join(dir, "a/b/new"))
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))
	for _, gone := range []string{"a/b/c", "a/b/x", "a/b/c/old"} {
		assert.NoFileExists(t, filepath.Join(dir, gone), "the replaced tree is gone")
	}
}

// A layer tar's whiteouts and opaque markers become each format's own.
func TestTarWhiteoutsInEachFormat(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("trusted.overlay xattrs and 0/0 devices need root")
	}
	entries := []tarEntry{
		{name: "d/", typ: tar.TypeDir, mode: 0o750},
		{name: "d/.wh..wh..opq", typ: tar.TypeReg},
		{name: "d/new", typ: tar.TypeReg, data: "new"},
		{name: ".wh.gone", typ: tar.TypeReg, mode: 0o600},
		{name: "f", typ: tar.TypeReg, data: "hello", mode: 0o4755},
		{name: "hl", typ: tar.TypeLink, link: "f"},
		{name: "sl", typ: tar.TypeSymlink, link: "/etc/passwd"},
	}
	for name, f := range map[string]WhiteoutFormat{"overlay": OverlayFormat{}, "aufs": AufsFormat{}, "flat": FlatFormat{}} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if name == "flat" { // a full tree holds the lower layers' files
				require.NoError(t, os.WriteFile(filepath.Join(dir, "gone"), nil, 0o644))
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "d"), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, "d", "old"), nil, 0o644))
			}
			require.NoError(t, Apply(context.Background(), dir, FromTar("test", layerTar(t, entries...)), f, nil))
			var st unix.Stat_t
			require.NoError(t, unix.Lstat(filepath.Join(dir, "f"), &st))
			assert.Equal(t, uint32(0o4755), st.Mode&0o7777, "setuid kept after chown")
			assert.Equal(t, uint64(2), uint64(st.Nlink), "hard link")
			assert.Equal(t, int64(1e9), st.Mtim.Sec)
			target, err := os.Readlink(filepath.Join(dir, "sl"))
			require.NoError(t, err)
			assert.Equal(t, "/etc/passwd", target, "absolute targets are kept, never followed")
			fi, err := os.Stat(filepath.Join(dir, "d"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o750), fi.Mode().Perm())
			switch name {
			case "overlay":
				require.NoError(t, unix.Lstat(filepath.Join(dir, "gone"), &st))
				assert.Equal(t, uint32(unix.S_IFCHR), st.Mode&unix.S_IFMT)
				v := make([]byte, 2)
				n, err := unix.Lgetxattr(filepath.Join(dir, "d"), OpaqueXattr, v)
				require.NoError(t, err)
				assert.Equal(t, "y", string(v[:n]))
				assert.NoFileExists(t, filepath.Join(dir, "d", AufsOpaqueMarker))
			case "aufs":
				// The markers are the tar's own files, as Docker's Untar
				// in the AUFS format leaves them: the header's mode and time.
				require.NoError(t, unix.Lstat(filepath.Join(dir, ".wh.gone"), &st))
				assert.Equal(t, uint32(unix.S_IFREG|0o600), st.Mode, ".wh.gone keeps the header's mode")
				assert.Equal(t, int64(1e9), st.Mtim.Sec, ".wh.gone keeps the header's time")
				require.NoError(t, unix.Lstat(filepath.Join(dir, "d", AufsOpaqueMarker), &st))
				assert.Equal(t, uint32(unix.S_IFREG|0o644), st.Mode, "the opaque marker keeps the header's mode")
			case "flat":
				assert.NoFileExists(t, filepath.Join(dir, "gone"))
				assert.NoFileExists(t, filepath.Join(dir, "d", "old"), "opaque removes what lower layers held")
				assert.FileExists(t, filepath.Join(dir, "d", "new"), "and keeps what this layer wrote")
			}
		})
	}
}

func TestTarRefusals(t *testing.T) {
	cases := map[string]struct {
		entries []tarEntry
		entry   string
		is      error
	}{
		"dotdot":          {[]tarEntry{{name: "../x", typ: tar.TypeReg}}, "../x", ErrEscape},
		"nested dotdot":   {[]tarEntry{{name: "a/../../x", typ: tar.TypeReg}}, "a/../../x", ErrEscape},
		"through symlink": {[]tarEntry{{name: "s", typ: tar.TypeSymlink, link: "/"}, {name: "s/x", typ: tar.TypeReg}}, "s/x", ErrEscape},
		"relative link":   {[]tarEntry{{name: "a/s", typ: tar.TypeSymlink, link: "../../x"}}, "a/s", ErrEscape},
		"hard link out":   {[]tarEntry{{name: "h", typ: tar.TypeLink, link: "../etc/passwd"}}, "h", ErrEscape},
		"bad type":        {[]tarEntry{{name: "c", typ: 'Z'}}, "c", ErrCorrupt},
		"link to nothing": {[]tarEntry{{name: "h", typ: tar.TypeLink, link: "nothere"}}, "h", ErrCorrupt},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "layer")
			require.NoError(t, os.Mkdir(dir, 0o755))
			err := Apply(context.Background(), dir, FromTar("layer.tar", layerTar(t, c.entries...)), FlatFormat{}, nil)
			require.Error(t, err)
			assert.ErrorIs(t, err, c.is)
			var te *TarError
			require.True(t, errors.As(err, &te), "%v", err)
			assert.Equal(t, "layer.tar", te.Layer)
			assert.Equal(t, c.entry, te.Entry)
			names, err := os.ReadDir(parent)
			require.NoError(t, err)
			assert.Len(t, names, 1, "nothing beside the layer directory")
		})
	}
	t.Run("truncated", func(t *testing.T) {
		b := layerTar(t, tarEntry{name: "big", typ: tar.TypeReg, data: string(make([]byte, 4096))})
		err := Apply(context.Background(), t.TempDir(), FromTar("layer.tar", bytes.NewReader(b.Bytes()[:1500])), FlatFormat{}, nil)
		assert.ErrorIs(t, err, ErrCorrupt)
		assert.ErrorContains(t, err, `entry "big"`)
	})
	t.Run("applied twice", func(t *testing.T) {
		l := FromTar("layer.tar", layerTar(t, tarEntry{name: "f", typ: tar.TypeReg}))
		require.NoError(t, Apply(context.Background(), t.TempDir(), l, FlatFormat{}, nil))
		assert.ErrorContains(t, Apply(context.Background(), t.TempDir(), l, FlatFormat{}, nil), "already applied")
	})
	t.Run("entries too", func(t *testing.T) {
		l := FromTar("layer.tar", layerTar(t))
		l.Entries = []Entry{{Path: "x", Kind: File}}
		assert.ErrorContains(t, l.Validate(), "cannot also declare entries")
	})
}

// A sparse file archived by GNU tar (old GNU and PAX sparse formats) is
// applied with its full size and content, as moby applies it.
func TestTarSparseFiles(t *testing.T) {
	gnuTar, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar")
	}
	src := t.TempDir()
	f, err := os.Create(filepath.Join(src, "sparse"))
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("end"), 8<<20)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	for _, format := range []string{"gnu", "posix"} {
		t.Run(format, func(t *testing.T) {
			archive := filepath.Join(t.TempDir(), "layer.tar")
			out, err := exec.Command(gnuTar, "--sparse", "--format="+format, "-C", src, "-cf", archive, "sparse").CombinedOutput()
			require.NoError(t, err, "%s", out)
			r, err := os.Open(archive)
			require.NoError(t, err)
			defer r.Close()
			dir := t.TempDir()
			require.NoError(t, Apply(context.Background(), dir, FromTar(archive, r), FlatFormat{}, nil))
			got, err := os.ReadFile(filepath.Join(dir, "sparse"))
			require.NoError(t, err)
			require.Len(t, got, 8<<20+3)
			assert.Equal(t, "end", string(got[8<<20:]))
			assert.Equal(t, make([]byte, 4096), got[:4096])
		})
	}
}
