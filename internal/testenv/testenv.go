// Package testenv is the one place unionbench's tests and benchmarks read
// their settings from: whether they run as root and under CI, and the
// environment variables that choose what they run on. Every test package
// asks it instead of reading the environment itself, so each variable has
// one meaning and one default everywhere.
//
// The variables:
//
//	CI=true               CI machines are provisioned for every test (root,
//	                      fuse-overlayfs, mkfs.xfs and mkfs.btrfs, linters,
//	                      chromium): what would skip elsewhere fails there
//	                      (Skip, NeedRoot, NeedTool), so a broken host cannot
//	                      pass by skipping.
//	UNIONBENCH_BACKINGS   comma-separated backing filesystem kinds the
//	                      conformance suites and benchmarks run on (Backings);
//	                      default every kind: tmpfs,ext4,xfs,btrfs,dir.
//	UNIONBENCH_SUITE      quick or full: how much of each scenario's sweep the
//	                      benchmarks run (Suite); default quick.
//	UNIONBENCH_COUNT      samples per measurement for the repeatability
//	                      benchmark (Count); default 5, the quick suite's.
//	UNIONBENCH_DRIVERS    comma-separated driver variants the repeatability
//	                      benchmark runs (Drivers); default
//	                      overlay2,overlay,vfs,fuse-overlayfs.
//	UNIONBENCH_OUT        where benchmarks write their side files (OutDir);
//	                      default the benchmark's temporary directory.
//	UNIONBENCH_FAULT_SEED the seed of the fault suite's kill points
//	                      (FaultSeed); default the time, logged.
//	UNIONBENCH_CACHE      where slow test fixtures (the test image) are kept
//	                      between runs (CacheDir); default /var/tmp/unionbench-cache.
//	UNIONBENCH_VM_TEST=1  runs the test that boots a kernel in qemu (VMTest).
//	UNIONBENCH_VM_KERNEL  the kernel that test boots (VMKernel); default the
//	                      test's own choice.
//	UNIONBENCH_AUFS_KERNEL a bzImage with aufs built in, which the guest
//	                      tests (tests/guest) and the vm faults boot
//	                      (AufsKernel); default ../shared/kernels/aufs-6.1/bzImage
//	                      beside the repository, where this project's CI
//	                      keeps one. unionbench itself never looks there.
//
// A variable with a value outside what it allows fails the test with one
// line naming the value and what is allowed: a typo must not silently run
// the default.
//
// Not for the programs themselves: unionbench's own flags are parsed in
// cmd/unionbench. It imports internal/backing and drivers, so those
// packages' in-package tests cannot import it.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/internal/backing"
)

// CI reports whether the tests run on a CI machine (CI=true), where a test
// that cannot run fails instead of skipping.
func CI() bool { return os.Getenv("CI") == "true" }

// Root reports whether the tests run as root, which mounting needs.
func Root() bool { return os.Geteuid() == 0 }

// Skip skips the test with the reason, or under CI=true fails it: CI is
// provisioned for every test, so there a skip would hide a broken host.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("CI=true, so this must run, but: %s", msg)
	}
	t.Skip(msg)
}

// NeedRoot skips the test unless it runs as root (fails under CI=true).
// what says what needs root, as a clause: "the copyup scenario mounts
// filesystems".
func NeedRoot(t testing.TB, what string) {
	t.Helper()
	if !Root() {
		Skip(t, "%s: needs root", what)
	}
}

// MainNeedsRoot is NeedRoot for a TestMain, which has no test to skip:
// it returns false, having said why on stdout, when the suite must not
// run, with the exit code the binary should end with (1 under CI=true, 0
// elsewhere).
func MainNeedsRoot(suite, what string) (code int, ok bool) {
	if Root() {
		return 0, true
	}
	if CI() {
		fmt.Fprintf(os.Stderr, "%s: CI=true but not root: %s, and under CI it must run, not skip\n", suite, what)
		return 1, false
	}
	fmt.Printf("%s: skipped: %s and needs root\n", suite, what)
	return 0, false
}

// NeedTool returns the path of the program name, or skips the test naming
// the Debian package to install (fails under CI=true).
func NeedTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	for _, n := range strings.Split(name, "|") {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Skip(t, "%s not installed: apt-get install %s", strings.ReplaceAll(name, "|", " or "), debianPackage)
	return ""
}

// AllBackings is the default of UNIONBENCH_BACKINGS: every kind, the
// cheapest first so that a broken driver fails fast.
var AllBackings = []backing.Kind{backing.Tmpfs, backing.Ext4, backing.Xfs, backing.Btrfs, backing.Dir}

// Backings is UNIONBENCH_BACKINGS, or AllBackings. It is read on every
// call, so a test may narrow it for its subtests with t.Setenv.
func Backings(t testing.TB) []backing.Kind {
	t.Helper()
	kinds, err := parseBackings(os.Getenv("UNIONBENCH_BACKINGS"))
	if err != nil {
		t.Fatal(err)
	}
	return kinds
}

func parseBackings(v string) ([]backing.Kind, error) {
	if strings.TrimSpace(v) == "" {
		return AllBackings, nil
	}
	var out []backing.Kind
	for _, s := range strings.Split(v, ",") {
		k, err := backing.ParseKind(s)
		if err != nil {
			return nil, fmt.Errorf("UNIONBENCH_BACKINGS=%q: %w", v, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// NarrowBackings makes Backings return kinds for the rest of the test or
// benchmark, unless UNIONBENCH_BACKINGS is set: for one that would take
// too long on every kind (a suite repeated once per mount-option variant,
// a benchmark that builds 100,000 files per driver). What the user asked
// for still wins.
func NarrowBackings(t testing.TB, kinds ...backing.Kind) {
	t.Helper()
	if os.Getenv("UNIONBENCH_BACKINGS") != "" {
		return
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	t.Setenv("UNIONBENCH_BACKINGS", strings.Join(names, ","))
}

// The values of UNIONBENCH_SUITE, as scenarios.Suite spells them (this
// package cannot import scenarios, whose own tests import it).
const (
	QuickSuite = "quick"
	FullSuite  = "full"
)

// Suite is UNIONBENCH_SUITE: QuickSuite (the default) or FullSuite.
func Suite(t testing.TB) string {
	t.Helper()
	switch v := os.Getenv("UNIONBENCH_SUITE"); v {
	case "", QuickSuite:
		return QuickSuite
	case FullSuite:
		return FullSuite
	default:
		t.Fatalf("UNIONBENCH_SUITE=%q: want quick or full", v)
		return ""
	}
}

// DefaultCount is UNIONBENCH_COUNT's default: the quick suite's samples
// per measurement.
const DefaultCount = 5

// Count is UNIONBENCH_COUNT: samples per measurement, at least 1.
func Count(t testing.TB) int {
	t.Helper()
	v := os.Getenv("UNIONBENCH_COUNT")
	if v == "" {
		return DefaultCount
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("UNIONBENCH_COUNT=%q: want a whole number of samples, at least 1", v)
	}
	return n
}

// DefaultDrivers is UNIONBENCH_DRIVERS's default: the drivers that run on
// a stock Linux kernel.
const DefaultDrivers = "overlay2,overlay,vfs,fuse-overlayfs"

// Drivers is UNIONBENCH_DRIVERS parsed as `unionbench run --drivers` parses
// its list (the drivers must be registered: import drivers/all).
func Drivers(t testing.TB) []drivers.Variant {
	t.Helper()
	v := os.Getenv("UNIONBENCH_DRIVERS")
	if v == "" {
		v = DefaultDrivers
	}
	vs, err := drivers.ParseList(v)
	if err != nil {
		t.Fatalf("UNIONBENCH_DRIVERS=%q: %v", v, err)
	}
	return vs
}

// OutDir is UNIONBENCH_OUT (created if missing), or a temporary directory
// of the test's.
func OutDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("UNIONBENCH_OUT")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("UNIONBENCH_OUT=%q: %v", dir, err)
	}
	return dir
}

// FaultSeed is UNIONBENCH_FAULT_SEED, or the time, logged with how to
// repeat it.
func FaultSeed(t testing.TB) uint64 {
	t.Helper()
	if v := os.Getenv("UNIONBENCH_FAULT_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("UNIONBENCH_FAULT_SEED=%q: want a whole number from 0 to %d", v, uint64(1<<64-1))
		}
		return n
	}
	n := uint64(time.Now().UnixNano())
	t.Logf("kill points from seed %d (UNIONBENCH_FAULT_SEED=%d repeats them)", n, n)
	return n
}

// VMTest reports whether UNIONBENCH_VM_TEST=1 asks for the test that boots
// a kernel in qemu (minutes long, so off by default).
func VMTest(t testing.TB) bool {
	t.Helper()
	switch v := os.Getenv("UNIONBENCH_VM_TEST"); v {
	case "", "0":
		return false
	case "1":
		return true
	default:
		t.Fatalf("UNIONBENCH_VM_TEST=%q: want 1 (run) or 0 (skip)", v)
		return false
	}
}

// VMKernel is UNIONBENCH_VM_KERNEL: the kernel the VM test boots (a .deb,
// tree or bzImage), "" for the test's default.
func VMKernel() string { return os.Getenv("UNIONBENCH_VM_KERNEL") }

// defaultAufsKernel is where this project's CI keeps a kernel with aufs
// built in, relative to the repository's root.
const defaultAufsKernel = "../shared/kernels/aufs-6.1/bzImage"

// AufsKernel is UNIONBENCH_AUFS_KERNEL, or the CI's kernel beside the
// repository. When the file is not there the test skips saying so (fails
// under CI=true, which has it).
func AufsKernel(t testing.TB) string {
	t.Helper()
	k := os.Getenv("UNIONBENCH_AUFS_KERNEL")
	if k == "" {
		// This file is internal/testenv/testenv.go in the repository.
		_, self, _, ok := runtime.Caller(0)
		if !ok {
			t.Fatal("testenv: cannot tell where the repository is")
		}
		k = filepath.Join(filepath.Dir(self), "..", "..", defaultAufsKernel)
	}
	if _, err := os.Stat(k); err != nil {
		Skip(t, "no kernel with aufs built in (UNIONBENCH_AUFS_KERNEL, default %s beside the repository): %v", defaultAufsKernel, err)
	}
	return filepath.Clean(k)
}
