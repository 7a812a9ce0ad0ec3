package treecopy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/testenv"
	"github.com/unionbench/unionbench/layerspec"
)

// benchTree is one image layer as real images hold them: many small files.
var benchTree = layerspec.Synthetic{Seed: 99, Layers: 1, Dirs: 200, Files: 20000, Sizes: []int64{0, 512, 4096, 16384}}

// BenchmarkCopy times Copy of benchTree against `tar -x` of the same tree
// on each backing filesystem of testenv.Backings (UNIONBENCH_BACKINGS).
// tar-ratio is tar's time over Copy's: above 1, Copy is faster.
//
// Measured on kernel 6.18, 2 vCPUs, -benchtime 5x (files/s; more is
// better):
//
//	backing  content, copy_file_range  content, read+write  hardlink  tar -x
//	tmpfs    35,500                    33,400               132,600   39,500
//	ext4     34,100                    33,500               109,500   32,600
//	xfs      31,300                    25,900                61,700   21,800
//	btrfs    17,600                    14,600                42,900   16,500
//
// A content copy costs about what tar -x costs per file (both are some
// eight syscalls a file, data aside); a hard-link copy one linkat.
func BenchmarkCopy(b *testing.B) {
	testenv.NeedRoot(b, "BenchmarkCopy mounts the backing filesystems")
	layers, err := benchTree.Generate()
	if err != nil {
		b.Fatal(err)
	}
	for _, kind := range testenv.Backings(b) {
		b.Run("backing="+string(kind), func(b *testing.B) {
			fs, err := backing.Create(b.TempDir(), backing.Spec{Kind: kind, Size: 4 << 30})
			if err != nil {
				b.Skip(err)
			}
			defer fs.Close()
			src := filepath.Join(fs.Dir, "src")
			if err := os.Mkdir(src, 0o755); err != nil {
				b.Fatal(err)
			}
			if err := layerspec.Apply(b.Context(), src, layers[0], layerspec.FlatFormat{}, nil); err != nil {
				b.Fatal(err)
			}
			tarball := filepath.Join(b.TempDir(), "tree.tar")
			if out, err := exec.Command("tar", "-c", "--xattrs", "-f", tarball, "-C", src, ".").CombinedOutput(); err != nil {
				b.Fatalf("tar -c: %v: %s", err, out)
			}
			for _, c := range []struct {
				name     string
				mode     Mode
				cfr      bool
				baseline bool
			}{
				{"copy=content/method=copy_file_range", Content, true, false},
				{"copy=content/method=read_write", Content, false, false},
				{"copy=hardlink", Hardlink, true, false},
				{"copy=tar_x", 0, false, true},
			} {
				b.Run(c.name, func(b *testing.B) {
					defer func(v bool) { useCopyRange = v }(useCopyRange)
					useCopyRange = c.cfr
					var total time.Duration
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						dst := filepath.Join(fs.Dir, fmt.Sprintf("dst%d", i))
						unix.Sync()
						b.StartTimer()
						start := time.Now()
						if c.baseline {
							if err := os.Mkdir(dst, 0o755); err != nil {
								b.Fatal(err)
							}
							if out, err := exec.Command("tar", "-x", "--xattrs", "--xattrs-include=user.*", "-f", tarball, "-C", dst).CombinedOutput(); err != nil {
								b.Fatalf("tar -x: %v: %s", err, out)
							}
						} else if err := Copy(b.Context(), src, dst, c.mode); err != nil {
							b.Fatal(err)
						}
						total += time.Since(start)
						b.StopTimer()
						if err := os.RemoveAll(dst); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					b.ReportMetric(float64(benchTree.Files*b.N)/total.Seconds(), "files/s")
				})
			}
		})
	}
}
