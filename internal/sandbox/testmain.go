package sandbox

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// RunTests is a TestMain for packages that mount. As root it runs the tests
// inside a sandbox and then checks, from outside, that the host's mount
// table and loop devices are exactly as before and the scratch directory is
// gone; any difference fails the test binary. Not as root it runs the tests
// directly (they skip what needs root).
//
//	func TestMain(m *testing.M) { sandbox.RunTests(m) }
func RunTests(m *testing.M) { RunTestsFunc(m.Run) }

// RunTestsFunc is RunTests for a TestMain that does more than m.Run inside
// the sandbox (print a summary after the tests, say): run is called there
// and its result is the exit code.
func RunTestsFunc(run func() int) {
	if Inside() || os.Geteuid() != 0 {
		if err := Enter(Options{}); err != nil && err != ErrNotRoot {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(run())
	}
	before, err := ReadHostState()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox: read host state:", err)
		os.Exit(1)
	}
	Enter(Options{AfterChild: func(scratch string) error {
		return WaitNoLeaks(before, 10*time.Second, scratch)
	}})
}
