package layerset

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/layerspec"
)

func create(s *Set, root, id, parent string, max int) error {
	return s.Create(id, parent, nil, max, filepath.Join(root, id), 0o700, func() error { return nil })
}

func TestDepthsAndLimits(t *testing.T) {
	s, root := New("test"), t.TempDir()
	for i, id := range []string{"a", "b", "c"} {
		parent := map[string]string{"a": "", "b": "a", "c": "b"}[id]
		require.NoError(t, create(s, root, id, parent, 3))
		n, err := s.Depth(id)
		require.NoError(t, err)
		assert.Equal(t, i+1, n)
	}
	err := create(s, root, "d", "c", 3)
	var de *drivers.DepthError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, drivers.DepthError{Driver: "test", Depth: 4, Max: 3}, *de)
	_, err = os.Lstat(filepath.Join(root, "d"))
	assert.ErrorIs(t, err, os.ErrNotExist, "refused before anything was made")
	assert.NoError(t, s.StartRemove("c"), "the refused layer left no child behind")
}

func TestRefusals(t *testing.T) {
	s, root := New("test"), t.TempDir()
	assert.ErrorContains(t, create(s, root, "../x", "", 9), "invalid layer id")
	bad := &layerspec.Layer{Entries: []layerspec.Entry{{Path: "../up", Kind: layerspec.File}}}
	assert.ErrorContains(t, s.Create("x", "", bad, 9, filepath.Join(root, "x"), 0o700, nil), `layer "x"`)
	assert.ErrorContains(t, create(s, root, "x", "missing", 9), `no layer "missing"`)

	// While a layer is being built, it cannot be a parent, used or made again.
	err := s.Create("a", "", nil, 9, filepath.Join(root, "a"), 0o700, func() error {
		assert.ErrorContains(t, create(s, root, "a", "", 9), "already exists")
		assert.ErrorContains(t, create(s, root, "b", "a", 9), "still being created")
		assert.Error(t, s.Ready("a"))
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, create(s, root, "b", "a", 9))
	assert.ErrorContains(t, s.StartRemove("a"), "1 child")
	require.NoError(t, s.StartRemove("b"))
	assert.ErrorContains(t, s.Ready("b"), "being removed")
	s.EndRemove("b", false)
	assert.NoError(t, s.Ready("b"), "a failed removal leaves the layer usable")
	require.NoError(t, s.StartRemove("b"))
	s.EndRemove("b", true)
	require.NoError(t, s.StartRemove("a"))
	s.EndRemove("a", true)
	assert.Error(t, s.Ready("a"))
}

func TestFailedBuildRemovesOnlyWhatItMade(t *testing.T) {
	s, root := New("test"), t.TempDir()
	require.NoError(t, create(s, root, "a", "", 9))
	boom := errors.New("boom")
	err := s.Create("b", "a", nil, 9, filepath.Join(root, "b"), 0o700, func() error {
		return errors.Join(os.WriteFile(filepath.Join(root, "b", "half"), nil, 0o600), boom)
	})
	assert.ErrorIs(t, err, boom)
	assert.ErrorContains(t, err, `test: create layer "b" in `+filepath.Join(root, "b"))
	_, statErr := os.Lstat(filepath.Join(root, "b"))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "the half-built layer is gone")
	assert.Error(t, s.Ready("b"))
	assert.NoError(t, s.StartRemove("a"), "the failed child does not count")
	s.EndRemove("a", false)

	require.NoError(t, os.Mkdir(filepath.Join(root, "theirs"), 0o755))
	assert.ErrorIs(t, create(s, root, "theirs", "", 9), os.ErrExist)
	_, statErr = os.Lstat(filepath.Join(root, "theirs"))
	assert.NoError(t, statErr, "a directory the driver did not make is left alone")
}

func TestCreateSetsTheExactMode(t *testing.T) {
	s, root := New("test"), t.TempDir()
	require.NoError(t, s.Create("a", "", nil, 9, filepath.Join(root, "a"), 0o775, func() error { return nil }))
	fi, err := os.Stat(filepath.Join(root, "a"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o775), fi.Mode().Perm(), "not reduced by the umask")
}
