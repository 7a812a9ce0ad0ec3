package faults

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/images/imagetest"
)

// TestBadImagesAreRefused runs `unionbench run --image` on each way an
// image can be bad (a truncated archive, a layer tar that ends inside an
// entry, a missing blob, a digest mismatch, a "../x" entry, a path through
// an absolute symlink out of the layer, a relative symlink that climbs
// out): exit 2, one line naming the file and the entry, nothing created
// under the test's directory, and nothing written where the symlink
// points.
func TestBadImagesAreRefused(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	bad := imagetest.BadImages(t, dir, outside)
	require.NotEmpty(t, bad)
	for _, b := range bad {
		t.Run(b.Name, func(t *testing.T) {
			want := b.Path
			if b.Entry != "" {
				want = `entry "` + b.Entry + `"`
			}
			checkBad(t, badCase{args: []string{"run", "--image", b.Path, "--drivers", "vfs", "--out", "{dir}/out", "--workdir", "{dir}/work"}, want: want})
			_, stderr, _ := run(t, "run", "--image", b.Path, "--drivers", "vfs", "--out", t.TempDir()+"/out", "--workdir", t.TempDir()+"/work")
			assert.Contains(t, stderr, b.Path, "the error names the file")
			left, err := os.ReadDir(outside)
			require.NoError(t, err)
			assert.Empty(t, left, "nothing written through the symlink")
		})
	}
}
