package layerspec

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestCheckPathRejectsEscapes(t *testing.T) {
	for _, p := range []string{"", ".", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", "a/.wh.b", "a\x00b", strings.Repeat("x", 256)} {
		assert.Error(t, CheckPath(p), "path %q", p)
	}
	for _, p := range []string{"a", "a/b/c", "..a", "a..", ".hidden", "a/b.wh.c"} {
		assert.NoError(t, CheckPath(p), "path %q", p)
	}
}

func TestValidate(t *testing.T) {
	bad := map[string]Layer{
		"unknown kind":       {Entries: []Entry{{Path: "a", Kind: "fifo"}}},
		"dangling hardlink":  {Entries: []Entry{{Path: "a", Kind: Hardlink, Target: "b"}}},
		"link to later file": {Entries: []Entry{{Path: "a", Kind: Hardlink, Target: "b"}, {Path: "b", Kind: File}}},
		"link to replaced":   {Entries: []Entry{{Path: "b", Kind: File}, {Path: "b", Kind: Dir}, {Path: "a", Kind: Hardlink, Target: "b"}}},
		"trusted xattr":      {Entries: []Entry{{Path: "a", Kind: Dir, Xattrs: map[string]string{"trusted.overlay.opaque": "y"}}}},
		"negative size":      {Entries: []Entry{{Path: "a", Kind: File, Size: -1}}},
		"type bits in mode":  {Entries: []Entry{{Path: "a", Kind: File, Mode: os.ModeDir | 0o755}}},
		"empty symlink":      {Entries: []Entry{{Path: "a", Kind: Symlink}}},
		"bad fill":           {Entries: []Entry{{Path: "a", Kind: File, Fill: "ones"}}},
		"escaping path":      {Entries: []Entry{{Path: "../a", Kind: File}}},
	}
	for name, l := range bad {
		assert.Error(t, l.Validate(), name)
	}
	good := Layer{Entries: []Entry{{Path: "a", Kind: File, Size: 3}, {Path: "b", Kind: Hardlink, Target: "a"}, {Path: "l", Kind: Symlink, Target: "/abs/ok"}}}
	assert.NoError(t, good.Validate())
}

func TestParse(t *testing.T) {
	l, err := Parse(strings.NewReader(`{"entries":[{"path":"etc/hosts","kind":"file","size":12,"seed":7}]}`))
	require.NoError(t, err)
	assert.Equal(t, int64(12), l.Entries[0].Size)
	for _, in := range []string{``, `{`, `{"entries":[{"path":"/x","kind":"file"}]}`, `{"entries":[],"extra":1}`, `{"entries":[]} {}`} {
		_, err := Parse(strings.NewReader(in))
		assert.Error(t, err, "input %q", in)
	}
}

func TestContentIsDeterministic(t *testing.T) {
	e := Entry{Path: "f", Kind: File, Size: 1 << 20, Seed: 42}
	assert.Equal(t, e.Digest(), e.Digest())
	other := e
	other.Seed = 43
	assert.NotEqual(t, e.Digest(), other.Digest())
	zero := Entry{Size: 10, Fill: Zero}
	sparse := Entry{Size: 10, Sparse: true, Fill: Random}
	assert.Equal(t, zero.Digest(), sparse.Digest(), "a sparse file reads as zeros")
}

func TestSyntheticIsDeterministic(t *testing.T) {
	s := Synthetic{Seed: 9, Layers: 6, Dirs: 12, Files: 200, Churn: 0.3}
	a, err := s.Generate()
	require.NoError(t, err)
	b, err := s.Generate()
	require.NoError(t, err)
	assert.Equal(t, a, b)
	kinds := map[Kind]int{}
	for _, l := range a {
		for _, e := range l.Entries {
			kinds[e.Kind]++
		}
	}
	for _, k := range []Kind{File, Dir, Symlink, Hardlink, Delete, Opaque} {
		assert.Positive(t, kinds[k], "the synthetic image exercises %s entries", k)
	}
	_, err = Synthetic{Layers: 0, Dirs: 1}.Generate()
	assert.Error(t, err)
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: layers declare owners and trusted.* xattrs")
	}
}

// Applying every layer of a stack into one directory with real deletions
// must give exactly the tree Flatten predicts.
func TestFlatApplyMatchesFlatten(t *testing.T) {
	needRoot(t)
	layers, err := Synthetic{Seed: 3, Layers: 8, Dirs: 16, Files: 150, Churn: 0.4}.Generate()
	require.NoError(t, err)
	dir := t.TempDir()
	for _, l := range layers {
		require.NoError(t, Apply(t.Context(), dir, l, FlatFormat{}, nil))
	}
	want, err := Flatten(layers)
	require.NoError(t, err)
	got, links, err := Snapshot(dir)
	require.NoError(t, err)
	assert.Empty(t, Diff(want, got, 20))
	assert.Equal(t, want.LinkGroups(), links)
	assert.NotEmpty(t, links, "the image has hard links to check")
}

func TestApplyNeverLeavesTheLayer(t *testing.T) {
	needRoot(t)
	outside := t.TempDir()
	dir := t.TempDir()
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "evil")))
	l := &Layer{Entries: []Entry{{Path: "evil/payload", Kind: File, Size: 5, Seed: 1}, {Path: "evil/sub/x", Kind: Delete}}}
	for _, f := range []WhiteoutFormat{FlatFormat{}, OverlayFormat{}, AufsFormat{}} {
		require.NoError(t, Apply(t.Context(), dir, l, f, nil))
		names, err := os.ReadDir(outside)
		require.NoError(t, err)
		assert.Empty(t, names, "nothing written through the symlink")
		fi, err := os.Lstat(filepath.Join(dir, "evil"))
		require.NoError(t, err)
		assert.True(t, fi.IsDir(), "the symlink was replaced by a directory inside the layer")
		require.NoError(t, os.RemoveAll(filepath.Join(dir, "evil")))
		require.NoError(t, os.Symlink(outside, filepath.Join(dir, "evil")))
	}
}

func TestOverlayFormatOnDisk(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	l := &Layer{Entries: []Entry{
		{Path: "gone", Kind: Delete},
		{Path: "opq", Kind: Opaque},
		{Path: "re", Kind: Delete},
		{Path: "re/born", Kind: File},
	}}
	require.NoError(t, Apply(t.Context(), dir, l, OverlayFormat{}, nil))
	var st unix.Stat_t
	require.NoError(t, unix.Lstat(filepath.Join(dir, "gone"), &st))
	assert.Equal(t, uint32(unix.S_IFCHR), st.Mode&unix.S_IFMT)
	assert.Zero(t, st.Rdev)
	for _, d := range []string{"opq", "re"} {
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(filepath.Join(dir, d), OpaqueXattr, buf)
		require.NoError(t, err, d)
		assert.Equal(t, "y", string(buf[:n]), d)
	}
}

func TestAufsFormatOnDisk(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	l := &Layer{Entries: []Entry{
		{Path: "a/gone", Kind: Delete},
		{Path: "opq", Kind: Opaque},
		{Path: "re", Kind: Delete},
		{Path: "re/born", Kind: File},
	}}
	require.NoError(t, Apply(t.Context(), dir, l, AufsFormat{}, nil))
	for _, p := range []string{"a/.wh.gone", "opq/.wh..wh..opq", "re/.wh..wh..opq", "re/born"} {
		fi, err := os.Lstat(filepath.Join(dir, p))
		require.NoError(t, err, p)
		assert.True(t, fi.Mode().IsRegular(), p)
	}
	_, err := os.Lstat(filepath.Join(dir, ".wh.re"))
	assert.True(t, os.IsNotExist(err), "re-creating a deleted name clears its whiteout")
}

// An implicit parent directory in an upper layer takes the attributes it
// has below, as a union would show them.
func TestImplicitParentInheritsLowerAttrs(t *testing.T) {
	needRoot(t)
	lower, upper := t.TempDir(), t.TempDir()
	require.NoError(t, Apply(t.Context(), lower, &Layer{Entries: []Entry{{Path: "p", Kind: Dir, Mode: 0o711, UID: 7, GID: 8, Xattrs: map[string]string{"user.k": "v"}}}}, OverlayFormat{}, nil))
	require.NoError(t, Apply(t.Context(), upper, &Layer{Entries: []Entry{{Path: "p/f", Kind: File}}}, OverlayFormat{}, []string{lower}))
	got, _, err := Snapshot(upper)
	require.NoError(t, err)
	assert.Equal(t, &Node{Type: "dir", Mode: 0o711, UID: 7, GID: 8, Xattrs: map[string]string{"user.k": "v"}}, got["p"])
}

func TestWriteTarUnpacksToTheSameTree(t *testing.T) {
	needRoot(t)
	layers := []*Layer{{Entries: []Entry{
		{Path: "d", Kind: Dir, Mode: 0o750, UID: 5, GID: 6},
		{Path: "d/f", Kind: File, Size: 3000, Seed: 2, Mode: 0o640},
		{Path: "d/h", Kind: Hardlink, Target: "d/f"},
		{Path: "s", Kind: Symlink, Target: "d/f"},
	}}}
	var buf strings.Builder
	require.NoError(t, WriteTar(&buf, layers[0]))
	dir := t.TempDir()
	tarFile := filepath.Join(t.TempDir(), "l.tar")
	require.NoError(t, os.WriteFile(tarFile, []byte(buf.String()), 0o644))
	out, err := exec.Command("tar", "-x", "-f", tarFile, "-C", dir).CombinedOutput()
	require.NoError(t, err, string(out))
	want, err := Flatten(layers)
	require.NoError(t, err)
	got, links, err := Snapshot(dir)
	require.NoError(t, err)
	assert.Empty(t, Diff(want, got, 10))
	assert.Equal(t, [][]string{{"d/f", "d/h"}}, links)
}

// Below an opaque ancestor in a middle layer, the bottom layer's directory
// is hidden, so an implicit directory must not inherit its attributes.
func TestImplicitParentStopsAtLowerOpaqueAncestor(t *testing.T) {
	needRoot(t)
	for _, f := range []WhiteoutFormat{OverlayFormat{}, AufsFormat{}} {
		bottom, middle, upper := t.TempDir(), t.TempDir(), t.TempDir()
		require.NoError(t, Apply(t.Context(), bottom, &Layer{Entries: []Entry{{Path: "p/q", Kind: Dir, Mode: 0o711, UID: 7}}}, f, nil))
		require.NoError(t, Apply(t.Context(), middle, &Layer{Entries: []Entry{{Path: "p", Kind: Opaque}}}, f, []string{bottom}))
		require.NoError(t, Apply(t.Context(), upper, &Layer{Entries: []Entry{{Path: "p/q/f", Kind: File}}}, f, []string{middle, bottom}))
		got, _, err := Snapshot(upper)
		require.NoError(t, err)
		assert.Equal(t, &Node{Type: "dir", Mode: 0o755}, got["p/q"], "%T", f)
	}
}

// names lists a flattened tree's paths under dir, sorted.
func names(t Tree, dir string) []string {
	var out []string
	for p := range t {
		if strings.HasPrefix(p, dir+"/") {
			out = append(out, strings.TrimPrefix(p, dir+"/"))
		}
	}
	sort.Strings(out)
	return out
}

// TestAufsRulesLetTheLowestOpaqueMarkerWin is the opaque-twice image of
// scenarios/quirks: POSIX shows only the newest refill, aufs's rule the
// entries of both refills, never what the lowest marker hides.
func TestAufsRulesLetTheLowestOpaqueMarkerWin(t *testing.T) {
	layers := []*Layer{
		{Entries: []Entry{{Path: "o/a", Kind: File, Size: 1, Seed: 1}}},
		{Entries: []Entry{{Path: "o", Kind: Opaque}, {Path: "o/b", Kind: File, Size: 1, Seed: 2}}},
		{Entries: []Entry{{Path: "o", Kind: Dir, Mode: 0o700}}}, // re-declared, not opaque
		{Entries: []Entry{{Path: "o", Kind: Opaque}, {Path: "o/c", Kind: File, Size: 1, Seed: 3}}},
	}
	posix, err := Flatten(layers)
	require.NoError(t, err)
	assert.Equal(t, []string{"c"}, names(posix, "o"))
	aufs, err := AufsRules.Flatten(layers)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c"}, names(aufs, "o"))
	assert.Equal(t, posix["o"].Mode, aufs["o"].Mode, "the directory's attributes are the newest layer's under both rules")
}

// TestAufsRulesStartOverAfterADelete: a whiteout of the directory stops
// aufs's lookup, so the marker below it no longer counts and the newest
// opaque marker hides everything again.
func TestAufsRulesStartOverAfterADelete(t *testing.T) {
	layers := []*Layer{
		{Entries: []Entry{{Path: "o", Kind: Opaque}, {Path: "o/a", Kind: File, Size: 1, Seed: 1}}},
		{Entries: []Entry{{Path: "o", Kind: Delete}}},
		{Entries: []Entry{{Path: "o", Kind: Opaque}, {Path: "o/c", Kind: File, Size: 1, Seed: 3}}},
	}
	aufs, err := AufsRules.Flatten(layers)
	require.NoError(t, err)
	assert.Equal(t, []string{"c"}, names(aufs, "o"))
	posix, err := Flatten(layers)
	require.NoError(t, err)
	assert.Equal(t, names(posix, "o"), names(aufs, "o"))
}

// TestAufsRulesCountADeleteAndRecreateInOneLayerAsAMarker: Apply writes a
// directory deleted and made again in one layer as an opaque directory
// with no whiteout left (as a Docker layer diff has it), so aufs's lookup
// passes it and the lowest marker, layer 0's, still wins.
func TestAufsRulesCountADeleteAndRecreateInOneLayerAsAMarker(t *testing.T) {
	layers := []*Layer{
		{Entries: []Entry{{Path: "o", Kind: Opaque}, {Path: "o/a", Kind: File, Size: 1, Seed: 1}}},
		{Entries: []Entry{{Path: "o", Kind: Delete}, {Path: "o/b", Kind: File, Size: 1, Seed: 2}}},
		{Entries: []Entry{{Path: "o", Kind: Opaque}, {Path: "o/c", Kind: File, Size: 1, Seed: 3}}},
	}
	aufs, err := AufsRules.Flatten(layers)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, names(aufs, "o"))
	posix, err := Flatten(layers)
	require.NoError(t, err)
	assert.Equal(t, []string{"c"}, names(posix, "o"))
}

// TestAufsRulesOpaqueEmptiesOnlyItsOwnLayer: an opaque entry after this
// layer's own writes in the directory removes them from the branch (Apply,
// whiteouts too), but under aufs's rule a lower marker still lets the
// layers between show, a file this layer deleted among them.
func TestAufsRulesOpaqueEmptiesOnlyItsOwnLayer(t *testing.T) {
	layers := []*Layer{
		{Entries: []Entry{{Path: "o", Kind: Opaque}, {Path: "o/a", Kind: File, Size: 1, Seed: 1}}},
		{Entries: []Entry{{Path: "o/b", Kind: File, Size: 1, Seed: 2}}},
		{Entries: []Entry{{Path: "o/b", Kind: Delete}, {Path: "o/new", Kind: File, Size: 1, Seed: 3}, {Path: "o", Kind: Opaque}}},
	}
	aufs, err := AufsRules.Flatten(layers)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, names(aufs, "o"))
	posix, err := Flatten(layers)
	require.NoError(t, err)
	assert.Empty(t, names(posix, "o"))
}
