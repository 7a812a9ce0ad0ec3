package bench

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/internal/testenv"
)

func TestMain(m *testing.M) {
	if sandbox.Inside() || !testenv.Root() {
		printConfig()
	}
	sandbox.RunTests(m)
}

// printConfig writes the host facts as Go benchmark config lines
// ("key: value"), which benchstat and benchfmt attach to every result.
func printConfig() {
	f := hostinfo.Read()
	clean := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	fmt.Printf("kernel: %s\n", f.Kernel)
	fmt.Printf("distro: %s\n", clean(f.Distro))
	fmt.Printf("cpu-model: %s\n", clean(f.CPU))
	fmt.Printf("cpus: %d\n", f.CPUs)
	fmt.Printf("emulated: %v\n", f.Emulated)
	fmt.Printf("unionbench: %s\n", f.Version)
}

func needRoot(b *testing.B) { testenv.NeedRoot(b, "unionbench benchmarks mount filesystems") }

// benchBackings are the backing kinds benchmarks run on unless
// UNIONBENCH_BACKINGS says otherwise: the two `unionbench run` is most
// often made on. Every kind would take the CI machine past its timeout
// (BenchmarkBuildImage alone takes 7 minutes a kind there).
var benchBackings = []backing.Kind{backing.Tmpfs, backing.Ext4}

// onEachBacking runs bench as the sub-benchmark backing=<kind> on a fresh
// backing fs of each kind of benchBackings (or UNIONBENCH_BACKINGS),
// skipping a kind this host cannot make.
func onEachBacking(b *testing.B, bench func(b *testing.B, fs *backing.FS)) {
	testenv.NarrowBackings(b, benchBackings...)
	for _, kind := range testenv.Backings(b) {
		b.Run("backing="+string(kind), func(b *testing.B) {
			fs, err := backing.Create(b.TempDir(), backing.Spec{Kind: kind, Size: 16 << 30})
			if errors.Is(err, backing.ErrUnsupported) {
				b.Skip(err)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer fs.Close()
			bench(b, fs)
		})
	}
}

// defaultVariants is each driver's variant without mount options, for the
// benchmarks that options do not change (how layers are built, what they
// are made of, how reads are cached).
func defaultVariants() []drivers.Variant {
	var out []drivers.Variant
	for _, v := range drivers.AllVariants() {
		if len(v.Options) == 0 {
			out = append(out, v)
		}
	}
	return out
}
