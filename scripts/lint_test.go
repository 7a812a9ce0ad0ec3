package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"

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

// TestActionlint lints the GitHub Actions workflows with actionlint as a
// library, shellcheck on their run: scripts included where it is
// installed.
func TestActionlint(t *testing.T) {
	files, err := filepath.Glob("../.github/workflows/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows found: %v", err)
	}
	sc, _ := exec.LookPath("shellcheck")
	var out strings.Builder
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Shellcheck: sc})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
	// The linter is really looking: an input that does not exist is
	// an error.
	broken := []byte("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ inputs.nope }}\n")
	errs, err = l.Lint("broken.yml", broken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 {
		t.Error("actionlint found nothing wrong with a workflow using an undefined input")
	}
}

// The workflow runs the very script any other CI runs, in both modes, and
// fails on compare's exit code (no `|| true`, no continue-on-error).
func TestWorkflowRunsTheScript(t *testing.T) {
	wf, err := os.ReadFile("../.github/workflows/kernel-regression.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scripts/kernel-regression.sh baseline out", "scripts/kernel-regression.sh compare baseline/results.jsonl out",
		"name: unionbench-baseline", "retention-days: 90"} {
		if !strings.Contains(string(wf), want) {
			t.Errorf("kernel-regression.yml does not say %q", want)
		}
	}
	for _, bad := range []string{"|| true", "continue-on-error"} {
		if strings.Contains(string(wf), bad) {
			t.Errorf("kernel-regression.yml has %q: compare's exit code must fail the job", bad)
		}
	}
}
