package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// tool finds a linter; under CI=true a missing one fails the test (.ci/run
// installs it), elsewhere the check is skipped with the package to install.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed (Debian package %s), and CI=true needs the check", name, pkg)
	}
	t.Skipf("%s not installed: apt-get install %s", name, pkg)
	return ""
}

func TestShellcheck(t *testing.T) {
	sc := tool(t, "shellcheck", "shellcheck")
	scripts, err := filepath.Glob("*.sh")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts found: %v", err)
	}
	for _, s := range scripts {
		t.Run(s, func(t *testing.T) {
			if out, err := exec.Command(sc, "--shell=bash", "--severity=style", s).CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s: %v\n%s", s, err, out)
			}
			st, err := os.Stat(s)
			if err != nil || st.Mode()&0o111 == 0 {
				t.Errorf("%s is not executable", s)
			}
		})
	}
}

func TestVagrantfileParses(t *testing.T) {
	ruby := tool(t, "ruby", "ruby")
	if out, err := exec.Command(ruby, "-c", "../Vagrantfile").CombinedOutput(); err != nil {
		t.Errorf("ruby -c Vagrantfile: %v\n%s", err, out)
	}
}
