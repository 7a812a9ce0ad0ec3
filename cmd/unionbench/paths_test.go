package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The directories unionbench is meant to use stay allowed, and each use
// accepts exactly what it may write beside; the refusals themselves are
// checked end to end, with the real binary, in tests/faults.
func TestCheckDirAllows(t *testing.T) {
	dir := t.TempDir()
	mk := func(p string, isDir bool) {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		if isDir {
			require.NoError(t, os.MkdirAll(full, 0o755))
		} else {
			require.NoError(t, os.WriteFile(full, nil, 0o644))
		}
	}
	mk("empty", true)
	mk("guest/stdout.txt", false) // what unionbench vm leaves before run starts
	mk("report/report.md", false) // an earlier report
	mk("report/plots/copyup.svg", false)
	mk("vm/6.1.0-47-amd64/run", true) // an earlier vm run's kernel
	mk("work/not-ours", false)        // a work directory may hold anything
	for _, c := range []struct {
		path string
		use  dirUse
	}{
		{defaultWorkdir, scratchDir},
		{"/tmp", scratchDir},
		{"/var/tmp/unionbench/out", resultsDir},
		{"results", resultsDir},
		{filepath.Join(dir, "new"), resultsDir},
		{filepath.Join(dir, "empty"), resultsDir},
		{filepath.Join(dir, "guest"), resultsDir},
		{filepath.Join(dir, "report"), reportDir},
		{filepath.Join(dir, "vm"), vmResultsDir},
		{filepath.Join(dir, "work"), scratchDir},
	} {
		abs, err := checkDir("--out", c.path, c.use)
		assert.NoError(t, err, c.path)
		assert.True(t, filepath.IsAbs(abs), "%s: %s is absolute", c.path, abs)
	}
}

func TestCheckDirRefuses(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "report", "notes"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vm-file"), nil, 0o644))
	for _, c := range []struct {
		path string
		use  dirUse
		want string
	}{
		{"/", scratchDir, "it is the root directory"},
		{"/libx32/x", scratchDir, "inside /libx32, a system directory"},
		{"/usr/local/results", resultsDir, "inside /usr"},
		{"/var/lib/docker/x", scratchDir, "/var/lib/docker"},
		{filepath.Join(dir, "report"), reportDir, "already holds notes"},
		{filepath.Join(dir), vmResultsDir, "already holds vm-file"},
		{"", resultsDir, "no path given"},
	} {
		_, err := checkDir("-o", c.path, c.use)
		var ue *usageError
		if assert.True(t, errors.As(err, &ue), "%q: a usage error (exit 2): %v", c.path, err) {
			assert.Contains(t, ue.msg, c.want, c.path)
			assert.Contains(t, ue.msg, `-o "`+c.path+`"`, "names the flag and value")
		}
	}
}
