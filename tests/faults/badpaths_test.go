package faults

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listing is the names and types of dir's entries, not recursive: enough
// to see that a refused command wrote nothing into a system directory
// (sizes and times of /, /etc and the like change under other programs).
func listing(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name()+" "+e.Type().String())
	}
	return out
}

// TestBadPathsAreRefused points every directory flag (--workdir, --out,
// -o, vm --cache) at system directories, at a regular file and at
// directories that hold someone else's files: each is refused with exit 2
// and one line naming the value and what is allowed, and neither the
// test's directory nor the system directory named gets anything new.
func TestBadPathsAreRefused(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.jsonl")
	require.NoError(t, os.WriteFile(good, []byte(goodRecord+"\n"), 0o644))
	// A relative path that climbs to /etc from wherever the test runs.
	wd, err := os.Getwd()
	require.NoError(t, err)
	relEtc := strings.Repeat("../", strings.Count(wd, "/")) + "etc/unionbench"
	sys := "outside the system's own"
	cases := map[string]struct {
		args  []string
		want  string
		watch string            // a directory outside the test's whose listing must not change
		setup map[string]string // files (or, ending in "/", directories) made under {dir} first
	}{
		"run --out /":                 {[]string{"run", "--out", "/", "--workdir", "{dir}/work"}, `--out "/": it is the root directory`, "/", nil},
		"run --out /etc":              {[]string{"run", "--out", "/etc", "--workdir", "{dir}/work"}, `--out "/etc": it is /etc, a system directory`, "/etc", nil},
		"run --out /usr/share/x":      {[]string{"run", "--out", "/usr/share/x", "--workdir", "{dir}/work"}, "inside /usr", "/usr/share", nil},
		"run --out relative /etc":     {[]string{"run", "--out", relEtc, "--workdir", "{dir}/work"}, "inside /etc", "/etc", nil},
		"run --out symlink to /etc":   {[]string{"run", "--out", "{dir}/link/out", "--workdir", "{dir}/work"}, "leads to /etc/out", "/etc", map[string]string{"link": "->/etc"}},
		"run --out a file":            {[]string{"run", "--out", "{dir}/file", "--workdir", "{dir}/work"}, "is not a directory", "", map[string]string{"file": "x"}},
		"run --out someone's files":   {[]string{"run", "--out", "{dir}/mine", "--workdir", "{dir}/work"}, "already holds notes.txt, photos", "", map[string]string{"mine/notes.txt": "x", "mine/photos/": ""}},
		"run --out another run":       {[]string{"run", "--out", "{dir}/prev", "--workdir", "{dir}/work"}, "already holds results.jsonl (another run's)", "", map[string]string{"prev/results.jsonl": goodRecord + "\n", "prev/bench.txt": ""}},
		"run --workdir /etc":          {[]string{"run", "--workdir", "/etc", "--out", "{dir}/out"}, `--workdir "/etc": it is /etc, a system directory`, "/etc", nil},
		"run --workdir /bin":          {[]string{"run", "--workdir", "/bin/x", "--out", "{dir}/out"}, "/bin", "/usr/bin", nil},
		"run --workdir /lib64":        {[]string{"run", "--workdir", "/lib64/x", "--out", "{dir}/out"}, "/lib64", "", nil},
		"run --workdir /boot":         {[]string{"run", "--workdir", "/boot", "--out", "{dir}/out"}, "/boot", "/boot", nil},
		"run --workdir /dev/shm":      {[]string{"run", "--workdir", "/dev/shm", "--out", "{dir}/out"}, "inside /dev", "/dev/shm", nil},
		"run --workdir /run/x":        {[]string{"run", "--workdir", "/run/x", "--out", "{dir}/out"}, "inside /run", "/run", nil},
		"run --workdir /proc":         {[]string{"run", "--workdir", "/proc/self", "--out", "{dir}/out"}, "inside /proc", "", nil},
		"run --workdir /sys":          {[]string{"run", "--workdir", "/sys", "--out", "{dir}/out"}, "/sys", "", nil},
		"run --workdir /sbin":         {[]string{"run", "--workdir", "/sbin", "--out", "{dir}/out"}, "/sbin", "", nil},
		"run --workdir a file":        {[]string{"run", "--workdir", "{dir}/file", "--out", "{dir}/out"}, "is not a directory", "", map[string]string{"file": "x"}},
		"quirks --out /":              {[]string{"quirks", "--out", "/", "--workdir", "{dir}/work"}, `--out "/"`, "/", nil},
		"quirks --out someone's":      {[]string{"quirks", "--out", "{dir}/mine", "--workdir", "{dir}/work"}, "already holds notes.txt", "", map[string]string{"mine/notes.txt": "x"}},
		"quirks --workdir /etc":       {[]string{"quirks", "--workdir", "/etc", "--out", "{dir}/out"}, `--workdir "/etc"`, "/etc", nil},
		"report -o /":                 {[]string{"report", "-o", "/", good}, `-o "/": it is the root directory`, "/", nil},
		"report -o /etc/report":       {[]string{"report", "-o", "/etc/report", good}, "inside /etc", "/etc", nil},
		"report -o a file":            {[]string{"report", "-o", "{dir}/file", good}, `-o "{dir}/file": it exists and is not a directory`, "", map[string]string{"file": "x"}},
		"report -o someone's":         {[]string{"report", "-o", "{dir}/mine", good}, "already holds notes.txt", "", map[string]string{"mine/notes.txt": "x"}},
		"clean --workdir /etc":        {[]string{"clean", "--workdir", "/etc"}, `--workdir "/etc"`, "/etc", nil},
		"clean --workdir /usr/lib":    {[]string{"clean", "--workdir", "/usr/lib"}, "inside /usr", "/usr/lib", nil},
		"drivers --workdir /var/run":  {[]string{"drivers", "--workdir", "/var/run/unionbench"}, "leads to /run/unionbench", "/run", nil},
		"vm --out /etc":               {[]string{"vm", "--kernel", "{dir}/vmlinuz", "--out", "/etc", "--", "quirks"}, `--out "/etc"`, "/etc", nil},
		"vm --out someone's":          {[]string{"vm", "--kernel", "{dir}/vmlinuz", "--out", "{dir}/mine", "--", "quirks"}, "already holds notes.txt", "", map[string]string{"mine/notes.txt": "x"}},
		"vm --cache /usr/share/cache": {[]string{"vm", "--kernel", "{dir}/vmlinuz", "--cache", "/usr/share/cache", "--out", "{dir}/out", "--", "quirks"}, `--cache "/usr/share/cache"`, "/usr/share", nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for p, content := range c.setup {
				full := filepath.Join(dir, p)
				require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
				switch {
				case strings.HasSuffix(p, "/"):
					require.NoError(t, os.MkdirAll(full, 0o755))
				case strings.HasPrefix(content, "->"):
					require.NoError(t, os.Symlink(content[2:], full))
				default:
					require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
				}
			}
			var watched []string
			if c.watch != "" {
				watched = listing(t, c.watch)
			}
			stderr := checkBadIn(t, dir, badCase{c.args, c.want})
			assert.Contains(t, stderr, sys, "%v: the line says what is allowed", c.args)
			if c.watch != "" {
				assert.Equal(t, watched, listing(t, c.watch), "%v: nothing written into %s", c.args, c.watch)
			}
		})
	}
}
