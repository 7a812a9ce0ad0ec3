package backing

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseKind(t *testing.T) {
	for _, k := range Kinds {
		got, err := ParseKind(string(k))
		require.NoError(t, err)
		assert.Equal(t, k, got)
	}
	got, err := ParseKind(" XFS ")
	require.NoError(t, err)
	assert.Equal(t, Xfs, got)

	_, err = ParseKind("zfs")
	assert.EqualError(t, err, `unknown backing filesystem "zfs": want dir, tmpfs, ext4, xfs or btrfs`)
	_, err = ParseKind("")
	assert.Error(t, err)
}

func TestCreateRefusesSettingsTheKindCannotHonour(t *testing.T) {
	yes, no := true, false
	for _, spec := range []Spec{
		{Kind: "zfs"},
		{Kind: "EXT4"},
		{Kind: Ext4, Size: -1},
		{Kind: Tmpfs, Inodes: -5},
		{Kind: Btrfs, Inodes: 4096},
		{Kind: Btrfs, Reflink: &no},
		{Kind: Ext4, Reflink: &yes},
		{Kind: Tmpfs, Reflink: &yes},
		{Kind: Dir, Inodes: 10},
		{Kind: Dir, Options: "noatime"},
		{Kind: Dir, Reflink: &no},
	} {
		work := t.TempDir()
		f, err := Create(work, spec)
		if !assert.Error(t, err, "%+v", spec) {
			f.Close()
		}
		entries, err := os.ReadDir(work)
		require.NoError(t, err)
		assert.Empty(t, entries, "a refused Spec must leave nothing behind")
	}
}
