package bench

import (
	"fmt"
	"strings"
	"testing"

	_ "github.com/unionbench/unionbench/drivers/all"
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
