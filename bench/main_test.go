package bench

import (
	"fmt"
	"os"
	"strings"
	"testing"

	_ "github.com/unionbench/unionbench/drivers/all"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.Inside() || os.Geteuid() != 0 {
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

// backings lists the backing filesystems benchmarks run on:
// UNIONBENCH_BACKINGS (comma-separated) or tmpfs and ext4.
func backings() []backing.Kind {
	env := os.Getenv("UNIONBENCH_BACKINGS")
	if env == "" {
		return []backing.Kind{backing.Tmpfs, backing.Ext4}
	}
	var out []backing.Kind
	for _, s := range strings.Split(env, ",") {
		out = append(out, backing.Kind(strings.TrimSpace(s)))
	}
	return out
}

func needRoot(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("unionbench benchmarks mount filesystems and need root")
	}
}
