package faults

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/unionbench/unionbench/layerspec"
)

// badCase is one malformed invocation: it must exit 2 with one line on
// stderr that names the bad value (want), print nothing on stdout, and
// create nothing.
type badCase struct {
	args []string
	want string
}

// checkBad runs one bad case in a fresh directory and checks it left that
// directory as it found it (args may name paths under dir via {dir}).
func checkBad(t *testing.T, c badCase) {
	t.Helper()
	checkBadIn(t, t.TempDir(), c)
}

// checkBadIn is checkBad in a directory the caller prepared; it returns
// the one line of stderr for further checks.
func checkBadIn(t *testing.T, dir string, c badCase) (stderr string) {
	t.Helper()
	var args []string
	for _, a := range c.args {
		args = append(args, strings.ReplaceAll(a, "{dir}", dir))
	}
	before := tree(t, dir)
	tally.badInputs.Add(1)
	stdout, stderr, code := run(t, args...)
	assert.Equal(t, 2, code, "%v: stderr %q", args, stderr)
	assert.Empty(t, stdout, "%v", args)
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "%v: one line: %q", args, stderr)
	assert.Contains(t, stderr, strings.ReplaceAll(c.want, "{dir}", dir), "%v", args)
	assert.Equal(t, before, tree(t, dir), "%v: bad input must not create anything", args)
	return stderr
}

// tree lists every path under dir with its size, to compare before/after.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, p+" "+info.Mode().String()+" "+strconv.FormatInt(info.Size(), 10))
		return nil
	}))
	return out
}

// TestEveryFlagRefusesMalformedValues feeds every flag of every command a
// malformed value.
func TestEveryFlagRefusesMalformedValues(t *testing.T) {
	out := []string{"--out", "{dir}/out", "--workdir", "{dir}/work"}
	cases := map[string]badCase{
		// run
		"run --sizes unit":         {append([]string{"run", "--sizes", "10QB"}, out...), `bad size "10QB"`},
		"run --sizes negative":     {append([]string{"run", "--sizes", "-4KiB"}, out...), `bad size "-4KiB"`},
		"run --sizes fraction":     {append([]string{"run", "--sizes", "1.5MiB"}, out...), `bad size "1.5MiB"`},
		"run --sizes huge":         {append([]string{"run", "--sizes", "99999999GiB"}, out...), `bad size "99999999GiB"`},
		"run --sizes empty item":   {append([]string{"run", "--sizes", "4KiB,,1MiB"}, out...), `--sizes`},
		"run --depths zero":        {append([]string{"run", "--depths", "0"}, out...), `bad depth "0"`},
		"run --depths word":        {append([]string{"run", "--depths", "deep"}, out...), `bad depth "deep"`},
		"run --depths negative":    {append([]string{"run", "--depths", "-1"}, out...), `bad depth "-1"`},
		"run --count zero":         {append([]string{"run", "--count", "0"}, out...), "--count 0"},
		"run --count word":         {append([]string{"run", "--count", "many"}, out...), `"many"`},
		"run --count huge":         {append([]string{"run", "--count", "100000000"}, out...), "--count 100000000"},
		"run --max-depth negative": {append([]string{"run", "--max-depth", "-5"}, out...), "--max-depth -5"},
		"run --max-depth word":     {append([]string{"run", "--max-depth", "x"}, out...), `"x"`},
		"run --scenarios unknown":  {append([]string{"run", "--scenarios", "copyup,speed"}, out...), `unknown scenario "speed"`},
		"run --scenarios empty":    {append([]string{"run", "--scenarios", ","}, out...), `--scenarios`},
		"run --drivers unknown":    {append([]string{"run", "--drivers", "zfs"}, out...), `unknown driver "zfs"`},
		"run --drivers option":     {append([]string{"run", "--drivers", "overlay2+"}, out...), `bad mount option`},
		"run --backing unknown":    {append([]string{"run", "--backing", "ntfs"}, out...), `unknown backing filesystem "ntfs"`},
		"run --backing-size unit":  {append([]string{"run", "--backing-size", "16GB"}, out...), `"16GB"`},
		"run --backing-size tiny":  {append([]string{"run", "--backing-size", "1MiB"}, out...), `--backing-size "1MiB": want a size of at least 64MiB`},
		"run --backing-size short": {append([]string{"run", "--scenarios", "copyup", "--sizes", "1GiB", "--backing-size", "1GiB"}, out...), "--backing-size 1GiB is too small"},
		"run --quick --full":       {append([]string{"run", "--quick", "--full"}, out...), "choose one"},
		"run --workdir /":          {[]string{"run", "--workdir", "/", "--out", "{dir}/out"}, `"/"`},
		"run --workdir docker":     {[]string{"run", "--workdir", "/var/lib/docker", "--out", "{dir}/out"}, "/var/lib/docker"},
		"run stray argument":       {append([]string{"run", "now"}, out...), `"now"`},
		"run unknown flag":         {append([]string{"run", "--fast"}, out...), "fast"},
		// drivers
		"drivers --layers word":     {[]string{"drivers", "--layers", "ten", "--workdir", "{dir}/work"}, `"ten"`},
		"drivers --layers negative": {[]string{"drivers", "--layers", "-1", "--workdir", "{dir}/work"}, "--layers -1"},
		"drivers --drivers empty":   {[]string{"drivers", "--drivers", "vfs,", "--workdir", "{dir}/work"}, "empty driver name"},
		"drivers --backing unknown": {[]string{"drivers", "--backing", "zfs", "--workdir", "{dir}/work"}, `"zfs"`},
		"drivers --workdir /":       {[]string{"drivers", "--workdir", "/"}, `"/"`},
		// clean
		"clean --workdir /":      {[]string{"clean", "--workdir", "/"}, `"/"`},
		"clean --workdir docker": {[]string{"clean", "--workdir", "/var/lib/docker/overlay2"}, "/var/lib/docker"},
		"clean stray argument":   {[]string{"clean", "--workdir", "{dir}/work", "all"}, `"all"`},
		// quirks
		"quirks --quirks unknown":  {append([]string{"quirks", "--quirks", "rename-everything"}, out...), `unknown quirk "rename-everything"`},
		"quirks --drivers unknown": {append([]string{"quirks", "--drivers", "btrfs"}, out...), `unknown driver "btrfs"`},
		"quirks --backing unknown": {append([]string{"quirks", "--backing", "ramfs"}, out...), `"ramfs"`},
		// report and compare
		"report no files":           {[]string{"report", "-o", "{dir}/report"}, "want one or more results files"},
		"report missing file":       {[]string{"report", "-o", "{dir}/report", "{dir}/nope.jsonl"}, "{dir}/nope.jsonl"},
		"compare one file":          {[]string{"compare", "{dir}/a.jsonl"}, "want BASE and NEW"},
		"compare --threshold word":  {[]string{"compare", "--threshold", "lots", "{dir}/a", "{dir}/b"}, `"lots"`},
		"compare --threshold minus": {[]string{"compare", "--threshold", "-10", "{dir}/a", "{dir}/b"}, "-10"},
		"compare missing files":     {[]string{"compare", "{dir}/a.jsonl", "{dir}/b.jsonl"}, "{dir}/a.jsonl"},
		// the command itself
		"unknown command": {[]string{"benchmark"}, `unknown command "benchmark"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { checkBad(t, c) })
	}
}

// goodRecord is one valid results line, from which the bad files are made.
const goodRecord = `{"schema":1,"run_id":"r1","time":"2026-11-28T00:00:00Z","host":{"kernel":"6.18.0"},"backing":{"kind":"ext4"},"driver":"overlay2","variant":"overlay2","scenario":"copyup","metric":"first-write","params":[{"key":"size","value":"4KiB"}],"unit":"ns","samples":[1000,1100,1200]}`

// TestMalformedResultsFiles gives report and compare broken results files:
// each is refused with exit 2 and one line naming the file and, where
// there is one, the line.
func TestMalformedResultsFiles(t *testing.T) {
	second := strings.Replace(goodRecord, `"first-write"`, `"second-write"`, 1)
	files := map[string]struct {
		content string
		want    string // after the file name
	}{
		"empty":               {"", "no results records"},
		"truncated last line": {goodRecord + "\n" + second[:len(second)/2], ":2: "},
		"binary garbage":      {"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe\x00\x13\n", ":1: "},
		"future schema":       {strings.Replace(goodRecord, `"schema":1`, `"schema":99`, 1) + "\n", ":1: schema version 99"},
		"missing metric":      {goodRecord + "\n" + strings.Replace(second, `"metric":"second-write",`, "", 1) + "\n", ":2: missing metric"},
		"duplicate record":    {goodRecord + "\n" + second + "\n" + goodRecord + "\n", ":3: duplicate record"},
		"unknown field":       {strings.Replace(goodRecord, `"unit":"ns"`, `"unit":"ns","color":"red"`, 1) + "\n", ":1: "},
		"not json at all":     {"BenchmarkCopyUp/driver=overlay2 1 oops ns/op\n", ":1: "},
	}
	good := filepath.Join(t.TempDir(), "good.jsonl")
	require.NoError(t, os.WriteFile(good, []byte(goodRecord+"\n"+second+"\n"), 0o644))
	for name, f := range files {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			bad := filepath.Join(dir, "bad.jsonl")
			require.NoError(t, os.WriteFile(bad, []byte(f.content), 0o644))
			want := bad + f.want
			if !strings.HasPrefix(f.want, ":") {
				want = bad + ": " + f.want
			}
			checkBad(t, badCase{[]string{"report", "-o", filepath.Join(dir, "report"), bad}, want})
			checkBad(t, badCase{[]string{"compare", good, bad}, want})
			checkBad(t, badCase{[]string{"compare", bad, good}, want})
		})
	}
}

// TestLayerSpecsCannotEscape applies layer specs that try to write outside
// the layer directory: every one is refused, and a sentinel tree beside
// the layer is byte-for-byte what it was.
func TestLayerSpecsCannotEscape(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "etc", "passwd"), []byte("root:x:0:0\n"), 0o644))
	before := tree(t, outside)
	specs := map[string]string{
		"parent path":            `{"entries":[{"path":"../outside/etc/passwd","kind":"file","size":4}]}`,
		"absolute path":          `{"entries":[{"path":"` + outside + `/etc/passwd","kind":"file","size":4}]}`,
		"dot-dot inside":         `{"entries":[{"path":"a/../../outside/x","kind":"file"}]}`,
		"hard link out":          `{"entries":[{"path":"l","kind":"hardlink","target":"../outside/etc/passwd"}]}`,
		"write through symlink":  `{"entries":[{"path":"s","kind":"symlink","target":"` + outside + `"},{"path":"s/etc/passwd","kind":"file","size":4}]}`,
		"dir through symlink":    `{"entries":[{"path":"s","kind":"symlink","target":"../outside"},{"path":"s/new","kind":"dir"}]}`,
		"delete through symlink": `{"entries":[{"path":"s","kind":"symlink","target":"../outside/etc"},{"path":"s/passwd","kind":"delete"}]}`,
		"link through symlink":   `{"entries":[{"path":"s","kind":"symlink","target":"../outside"},{"path":"f","kind":"file"},{"path":"s/f2","kind":"hardlink","target":"f"}]}`,
		"NUL in name":            `{"entries":[{"path":"a\u0000b","kind":"file"}]}`,
		"whiteout name":          `{"entries":[{"path":".wh.x","kind":"file"}]}`,
	}
	formats := map[string]layerspec.WhiteoutFormat{"overlay": layerspec.OverlayFormat{}, "aufs": layerspec.AufsFormat{}, "flat": layerspec.FlatFormat{}}
	for name, spec := range specs {
		for fname, format := range formats {
			t.Run(name+"/"+fname, func(t *testing.T) {
				tally.badInputs.Add(1)
				root := filepath.Join(dir, "layer-"+strings.ReplaceAll(name, " ", "-")+"-"+fname)
				require.NoError(t, os.Mkdir(root, 0o755))
				l, err := layerspec.Parse(bytes.NewReader([]byte(spec)))
				if err == nil {
					err = layerspec.Apply(t.Context(), root, l, format, nil)
				}
				assert.Error(t, err, "the spec must be refused")
				assert.Equal(t, before, tree(t, outside), "nothing outside the layer directory changes")
			})
		}
	}
}
