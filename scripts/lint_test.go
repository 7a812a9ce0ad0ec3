package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/unionbench/unionbench/internal/testenv"
)

func TestShellcheck(t *testing.T) {
	sc := testenv.NeedTool(t, "shellcheck", "shellcheck")
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
	ruby := testenv.NeedTool(t, "ruby", "ruby")
	if out, err := exec.Command(ruby, "-c", "../Vagrantfile").CombinedOutput(); err != nil {
		t.Errorf("ruby -c Vagrantfile: %v\n%s", err, out)
	}
}
