package guest

import (
	"testing"

	"github.com/unionbench/unionbench/internal/sandbox"
)

// The boot's initramfs and scratch image live in the sandbox's scratch
// directory, which is removed even if this test binary is killed.
func TestMain(m *testing.M) { sandbox.RunTests(m) }
