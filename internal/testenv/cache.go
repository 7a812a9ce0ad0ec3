package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// DefaultCache is UNIONBENCH_CACHE's default: where test fixtures that
// are slow to build (the test image, built from Debian packages) are kept
// between runs. /var/tmp survives reboots on most hosts and is not tmpfs.
const DefaultCache = "/var/tmp/unionbench-cache"

// CacheDir is UNIONBENCH_CACHE (an absolute path, created if missing), or
// DefaultCache, joined with name. What is kept there is keyed by a hash
// of how it was built, so a stale entry is never reused.
func CacheDir(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("UNIONBENCH_CACHE")
	if dir == "" {
		dir = DefaultCache
	}
	if !filepath.IsAbs(dir) {
		t.Fatalf("UNIONBENCH_CACHE=%q: want an absolute directory path", dir)
	}
	dir = filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(fmt.Errorf("test cache: %w", err))
	}
	return dir
}
