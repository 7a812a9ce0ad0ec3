package backing

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckWorkdir(t *testing.T) {
	tmp := t.TempDir()
	link := func(name, target string) string {
		p := filepath.Join(tmp, name)
		require.NoError(t, os.Symlink(target, p))
		return p
	}
	toRoot := link("to-root", "/")
	toDocker := link("to-docker", "/var/lib/docker")
	toDockerRel := link("to-docker-rel", "../../../../../../../../../../var/lib/docker")
	dangling := link("dangling", filepath.Join(tmp, "not-yet"))

	for _, tc := range []struct {
		dir     string
		refused bool
	}{
		{"", true},
		{"/", true},
		{"//", true},
		{"/./", true},
		{"/var/lib/docker", true},
		{"/var/lib/docker/", true},
		{"/var/lib/docker/overlay2", true},
		{"/var/lib/../lib/docker", true},
		{"/var/lib/docker/../docker/x", true},
		{"/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs", true},
		{"/var/lib/dockerfoo", false},
		{"/var/lib/docker-bench", false},
		{"/var/lib", false},
		{tmp, false},
		{filepath.Join(tmp, "missing", "deeper"), false},
		{"relative/work", false},
		{toRoot, true},
		{toRoot + "/", true},
		{filepath.Join(toRoot, "var/lib/docker/x"), true},
		{toDocker, true},
		{filepath.Join(toDocker, "overlay2", "new"), true},
		{toDockerRel, true},
		{dangling, false},
		{filepath.Join(dangling, "x"), false},
	} {
		err := CheckWorkdir(tc.dir)
		if !tc.refused {
			assert.NoError(t, err, "%q", tc.dir)
			continue
		}
		if assert.Error(t, err, "%q must be refused", tc.dir) {
			assert.Contains(t, err.Error(), `"`+tc.dir+`"`, "the error must name the path")
		}
	}
}

func TestCreateRefusesRootWithoutTouchingIt(t *testing.T) {
	before, err := filepath.Glob("/backing-*")
	require.NoError(t, err)
	_, err = Create("/", Spec{Kind: Dir})
	require.ErrorContains(t, err, "root directory")
	after, err := filepath.Glob("/backing-*")
	require.NoError(t, err)
	assert.Equal(t, before, after)
}
