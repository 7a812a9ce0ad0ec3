package dockerparity

import (
	"testing"

	"github.com/unionbench/unionbench/internal/sandbox"
)

// TestMain runs the test inside the sandbox: every dockerd and every mount
// lives in its private mount and PID namespaces.
func TestMain(m *testing.M) { sandbox.RunTests(m) }
