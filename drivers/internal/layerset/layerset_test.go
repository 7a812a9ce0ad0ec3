package layerset

import (
	"context"
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
	return s.Create(context.Background(), id, parent, nil, max, filepath.Join(root, id), 0o700, func(context.Context) error { return nil })
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
	assert.ErrorContains(t, s.Create(t.Context(), "x", "", bad, 9, filepath.Join(root, "x"), 0o700, nil), `layer "x"`)
	err := create(s, root, "x", "missing", 9)
	assert.ErrorIs(t, err, drivers.ErrUnknownLayer)
	assert.ErrorContains(t, err, `parent "missing"`)
	var le *drivers.LayerError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, drivers.LayerError{Driver: "test", Op: "create", ID: "x", Err: le.Err}, *le)

	// While a layer is being built, it cannot be a parent, used or made again.
	err = s.Create(t.Context(), "a", "", nil, 9, filepath.Join(root, "a"), 0o700, func(context.Context) error {
		assert.ErrorIs(t, create(s, root, "a", "", 9), drivers.ErrLayerExists)
		err := create(s, root, "b", "a", 9)
		assert.ErrorIs(t, err, drivers.ErrLayerBusy)
		assert.ErrorContains(t, err, "still being created")
		assert.ErrorIs(t, s.Ready("mount", "a"), drivers.ErrLayerBusy)
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, create(s, root, "b", "a", 9))
	err = s.StartRemove("a")
	assert.ErrorIs(t, err, drivers.ErrLayerHasChildren)
	assert.ErrorContains(t, err, "1 of them")
	require.NoError(t, s.StartRemove("b"))
	assert.ErrorIs(t, s.Ready("mount", "b"), drivers.ErrLayerBusy)
	s.EndRemove("b", false)
	assert.NoError(t, s.Ready("mount", "b"), "a failed removal leaves the layer usable")
	require.NoError(t, s.StartRemove("b"))
	s.EndRemove("b", true)
	require.NoError(t, s.StartRemove("a"))
	s.EndRemove("a", true)
	assert.ErrorIs(t, s.Ready("mount", "a"), drivers.ErrUnknownLayer)
}

func TestCancelledCreateMakesNothing(t *testing.T) {
	s, root := New("test"), t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Create(ctx, "a", "", nil, 9, filepath.Join(root, "a"), 0o700, func(context.Context) error {
		t.Error("build ran under a done context")
		return nil
	})
	assert.ErrorIs(t, err, context.Canceled)
	_, statErr := os.Lstat(filepath.Join(root, "a"))
	assert.ErrorIs(t, statErr, os.ErrNotExist)
	assert.ErrorIs(t, s.Ready("mount", "a"), drivers.ErrUnknownLayer, "forgotten")

	// A build that stops half-way is removed too.
	ctx, cancel = context.WithCancel(t.Context())
	err = s.Create(ctx, "a", "", nil, 9, filepath.Join(root, "a"), 0o700, func(ctx context.Context) error {
		require.NoError(t, os.WriteFile(filepath.Join(root, "a", "half"), nil, 0o600))
		cancel()
		return ctx.Err()
	})
	assert.ErrorIs(t, err, context.Canceled)
	_, statErr = os.Lstat(filepath.Join(root, "a"))
	assert.ErrorIs(t, statErr, os.ErrNotExist)
}

func TestFailedBuildRemovesOnlyWhatItMade(t *testing.T) {
	s, root := New("test"), t.TempDir()
	require.NoError(t, create(s, root, "a", "", 9))
	boom := errors.New("boom")
	err := s.Create(t.Context(), "b", "a", nil, 9, filepath.Join(root, "b"), 0o700, func(context.Context) error {
		return errors.Join(os.WriteFile(filepath.Join(root, "b", "half"), nil, 0o600), boom)
	})
	assert.ErrorIs(t, err, boom)
	assert.ErrorContains(t, err, `test: create layer "b": in `+filepath.Join(root, "b"))
	_, statErr := os.Lstat(filepath.Join(root, "b"))
	assert.ErrorIs(t, statErr, os.ErrNotExist, "the half-built layer is gone")
	assert.Error(t, s.Ready("mount", "b"))
	assert.NoError(t, s.StartRemove("a"), "the failed child does not count")
	s.EndRemove("a", false)

	require.NoError(t, os.Mkdir(filepath.Join(root, "theirs"), 0o755))
	assert.ErrorIs(t, create(s, root, "theirs", "", 9), os.ErrExist)
	_, statErr = os.Lstat(filepath.Join(root, "theirs"))
	assert.NoError(t, statErr, "a directory the driver did not make is left alone")
}

func TestCreateSetsTheExactMode(t *testing.T) {
	s, root := New("test"), t.TempDir()
	require.NoError(t, s.Create(t.Context(), "a", "", nil, 9, filepath.Join(root, "a"), 0o775, func(context.Context) error { return nil }))
	fi, err := os.Stat(filepath.Join(root, "a"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o775), fi.Mode().Perm(), "not reduced by the umask")
}
