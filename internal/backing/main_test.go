package backing

import (
	"os"
	"testing"

	"github.com/unionbench/unionbench/internal/sandbox"
)

// TestMain runs the tests in a private mount and pid namespace and checks
// afterwards that the host's mounts and loop devices are as they were.
func TestMain(m *testing.M) {
	if os.Getenv(holdEnv) != "" {
		holdBacking() // a helper process for TestKilledProcessLeavesNoLoopDevice
	}
	sandbox.RunTests(m)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: formats images, attaches loop devices and mounts")
	}
}
