package faults

import (
	"archive/tar"
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

// TestImageFlagsRefuseMalformedValues: the flags that go with --image.
func TestImageFlagsRefuseMalformedValues(t *testing.T) {
	dir := t.TempDir()
	// A small good image: the first layer of a bad-image case alone.
	good := filepath.Join(dir, "good.tar")
	require.NoError(t, imagetest.WriteTar(filepath.Join(dir, "layer.tar"), func(tw *tar.Writer) error {
		return tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	}))
	require.NoError(t, imagetest.WriteDockerSave(good, []string{filepath.Join(dir, "layer.tar")}))
	out := []string{"--out", "{dir}/out", "--workdir", "{dir}/work"}
	cases := map[string]badCase{
		"--exec relative":        {append([]string{"run", "--image", good, "--exec", "sh -c true"}, out...), `--exec "sh -c true"`},
		"--exec without --image": {append([]string{"run", "--exec", "/bin/true"}, out...), `--exec "/bin/true": only with --image`},
		"--exec not in image":    {append([]string{"run", "--image", good, "--exec", "/bin/sh"}, out...), `has no such program`},
		"--scenarios synthetic":  {append([]string{"run", "--image", good, "--scenarios", "lookup"}, out...), `--scenarios "lookup"`},
		"--sizes with --image":   {append([]string{"run", "--image", good, "--sizes", "4KiB"}, out...), `do not go with --image`},
		"--image missing":        {append([]string{"run", "--image", filepath.Join(dir, "nope.tar")}, out...), "nope.tar"},
		"--image twice":          {append([]string{"run", "--image", good, "--image", good}, out...), "given twice"},
		"--image not an image":   {append([]string{"run", "--image", filepath.Join(dir, "layer.tar")}, out...), "neither a docker save archive"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { checkBad(t, c) })
	}
}
