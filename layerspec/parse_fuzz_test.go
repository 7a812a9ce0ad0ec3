package layerspec

import (
	"bytes"
	"path"
	"slices"
	"strings"
	"testing"
)

// FuzzParse: a layer spec is refused or valid, and every path it holds
// stays below the layer root.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"entries":[{"path":"a","kind":"file","size":3}]}`,
		`{"entries":[{"path":"../x","kind":"file"}]}`,
		`{"entries":[{"path":"/etc/passwd","kind":"file"}]}`,
		`{"entries":[{"path":"s","kind":"symlink","target":"/"},{"path":"s/x","kind":"file"}]}`,
		`{"entries":[{"path":"f","kind":"file"},{"path":"h","kind":"hardlink","target":"f"}]}`,
		`{"entries":[{"path":"d","kind":"opaque"},{"path":"d/x","kind":"delete"}]}`,
		`{"entries":[{"path":"a","kind":"file","xattrs":{"trusted.overlay.opaque":"y"}}]}`,
		`{}`, `[]`, `{"entries":null}`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := l.Validate(); err != nil {
			t.Fatalf("Parse accepted a layer Validate refuses: %v", err)
		}
		for _, e := range l.Entries {
			for _, p := range []string{e.Path, e.Target} {
				if e.Kind == Symlink && p == e.Target {
					continue // a symlink's target is data, never followed by Apply
				}
				if p == "" {
					continue
				}
				if path.IsAbs(p) || path.Clean(p) != p || slices.Contains(strings.Split(p, "/"), "..") {
					t.Fatalf("accepted path %q that leaves the layer", p)
				}
			}
		}
	})
}
