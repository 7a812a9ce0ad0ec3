package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/reports/render"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios/quirks"
)

// whyRootForQuirks is what needs root, for testenv.NeedRoot.
const whyRootForQuirks = "`unionbench quirks` mounts filesystems"

func TestQuirksJSON(t *testing.T) {
	testenv.NeedRoot(t, whyRootForQuirks)
	out := t.TempDir()
	stdout, stderr, code := unionbench(t, "quirks", "--json", "--drivers", "overlay2,vfs", "--backing", "tmpfs",
		"--workdir", t.TempDir(), "--out", out)
	require.Equal(t, 0, code, stderr)

	// The JSON is decoded generically, so a renamed field fails here.
	var cells []map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &cells), stdout)
	n := len(quirks.Catalogue())
	require.Len(t, cells, 2*n)
	byKey := map[string]map[string]any{}
	for _, c := range cells {
		for _, f := range []string{"driver", "variant", "quirk", "observed", "posix", "detail", "mount_options"} {
			assert.Contains(t, c, f)
		}
		assert.IsType(t, true, c["posix"])
		assert.Equal(t, "ok", c["status"], "%v", c)
		byKey[c["variant"].(string)+"/"+c["quirk"].(string)] = c
	}
	for _, id := range quirks.IDs() {
		// vfs, plain directories, conforms, but for the user.* xattr its
		// Docker-made layer copies drop (docs/quirks.md, xattr-copyup).
		assert.Equal(t, id != "xattr-copyup", byKey["vfs/"+id]["posix"], "vfs: %v", byKey["vfs/"+id])
	}
	// overlayfs.rst, "index": with index off (Docker's overlay2 mounts
	// index=off) a copy-up breaks a lower hard link.
	assert.Equal(t, false, byKey["overlay2/hardlink-write"]["posix"])
	assert.Contains(t, byKey["overlay2/hardlink-write"]["mount"], "overlay:")

	recs, err := results.Read(filepath.Join(out, "results.jsonl"))
	require.NoError(t, err)
	require.Len(t, recs, 2*n)
	for _, r := range recs {
		assert.Equal(t, "quirks", r.Scenario)
		assert.Equal(t, quirks.Unit, r.Unit)
		assert.Len(t, r.Samples, 1)
		assert.Contains(t, r.Extra, "observed")
		assert.Equal(t, "tmpfs", string(r.Backing.Kind))
	}
}

func TestQuirksTable(t *testing.T) {
	testenv.NeedRoot(t, whyRootForQuirks)
	stdout, stderr, code := unionbench(t, "quirks", "--drivers", "overlay2,overlay2+redirect_dir=on,aufs,vfs",
		"--quirks", "rename-lower-dir,open-ro-rw", "--backing", "tmpfs", "--workdir", t.TempDir(), "--out", t.TempDir())
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "QUIRK")
	assert.Contains(t, stdout, "[2] overlay2+redirect_dir=on")
	assert.Contains(t, stdout, "redirect_dir=on", "a column's mount options are shown")
	assert.Contains(t, stdout, "n/a: aufs is not in /proc/filesystems")
	var row string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "rename-lower-dir") {
			row = l
		}
	}
	// overlayfs.rst, "redirect_dir": EXDEV when off (this host's module
	// default), a rename when on.
	assert.Contains(t, row, render.MarkDeviation+" EXDEV")
	assert.Contains(t, row, render.MarkPOSIX+" renamed")
}

func TestQuirksBadInput(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"unknown driver":  {[]string{"quirks", "--drivers", "zfs"}, `unknown driver "zfs"`},
		"empty driver":    {[]string{"quirks", "--drivers", "vfs,"}, `empty driver name`},
		"bad variant":     {[]string{"quirks", "--drivers", "overlay2+"}, `bad mount option`},
		"unknown quirk":   {[]string{"quirks", "--quirks", "open-ro-rw,teleport"}, `unknown quirk "teleport"`},
		"unknown backing": {[]string{"quirks", "--backing", "zfs"}, `unknown backing filesystem "zfs"`},
		"workdir /":       {[]string{"quirks", "--workdir", "/"}, `"/"`},
		"unknown flag":    {[]string{"quirks", "--colour"}, `colour`},
		"stray argument":  {[]string{"quirks", "overlay2"}, `"overlay2"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := unionbench(t, c.args...)
			assertRefused(t, stdout, stderr, code, c.want)
		})
	}
}
