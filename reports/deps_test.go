// Package reports_test checks the direction of dependencies between the
// report packages and the rest of unionbench: reports read results files
// and never depend on how they were measured.
package reports_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/unionbench/unionbench/"

type pkg struct {
	ImportPath                      string
	Deps, TestImports, XTestImports []string
}

// list runs go list -deps -json on patterns, the packages and everything
// they import, with their test imports.
func list(t *testing.T, patterns ...string) map[string]pkg {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(gobin, append([]string{"list", "-json=ImportPath,Deps,TestImports,XTestImports"}, patterns...)...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("go list %s: %v: %s", strings.Join(patterns, " "), err, ee.Stderr)
	}
	require.NoError(t, err)
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs[p.ImportPath] = p
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

// Reports never depend on scenarios or on the harness's internals, even
// indirectly or in tests: a results file means the same whatever those
// become. The results model itself is a leaf: it imports no unionbench
// package at all.
func TestDependencyDirection(t *testing.T) {
	for path, p := range list(t, "github.com/unionbench/unionbench/reports/...") {
		for _, dep := range append(append(p.Deps, p.TestImports...), p.XTestImports...) {
			rel, ok := strings.CutPrefix(dep, module)
			if !ok {
				continue
			}
			assert.False(t, strings.HasPrefix(rel, "scenarios") || strings.HasPrefix(rel, "internal/") || strings.HasPrefix(rel, "drivers"),
				"%s depends on %s", path, dep)
			if path == module+"reports/results" {
				assert.Fail(t, "reports/results must be a leaf", "it depends on %s", dep)
			}
		}
	}
}
