package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// DebianKernel is the kernel the tests that boot Debian's own kernel use:
// UNIONBENCH_VM_KERNEL when set, else the newest linux-image .deb in
// debs (unionbench vm's cache, /var/cache/unionbench/debs for root), else
// the package linux-image-amd64 depends on, fetched there with apt-get
// download. It fails the test when none can be had.
func DebianKernel(t testing.TB, debs string) string {
	t.Helper()
	if k := VMKernel(); k != "" {
		return k
	}
	if found, _ := filepath.Glob(filepath.Join(debs, "linux-image-*.deb")); len(found) > 0 {
		sort.Strings(found)
		return found[len(found)-1]
	}
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		t.Fatalf("apt-cache depends linux-image-amd64 (run apt-get update first): %v", err)
	}
	pkg := ""
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(v, "linux-image-") {
			pkg = v
			break
		}
	}
	if pkg == "" {
		t.Fatalf("linux-image-amd64 depends on no linux-image package:\n%s", out)
	}
	if err := os.MkdirAll(debs, 0o755); err != nil {
		t.Fatal(err)
	}
	get := exec.Command("apt-get", "download", pkg)
	get.Dir = debs
	if b, err := get.CombinedOutput(); err != nil {
		t.Fatalf("apt-get download %s: %v: %s", pkg, err, b)
	}
	found, _ := filepath.Glob(filepath.Join(debs, pkg+"_*.deb"))
	if len(found) == 0 {
		t.Fatalf("apt-get download %s left no %s_*.deb in %s", pkg, pkg, debs)
	}
	return found[0]
}
