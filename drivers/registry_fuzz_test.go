package drivers_test

import (
	"testing"

	"github.com/unionbench/unionbench/drivers"
	_ "github.com/unionbench/unionbench/drivers/all"
)

// FuzzParseList: a --drivers list is refused or gives registered
// variants whose names parse back to themselves.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"overlay2", "overlay2,vfs", "overlay2+metacopy=on+redirect_dir=on", "overlay2+", "zfs", ",", "aufs,fuse-overlayfs", "overlay2+volatile,overlay2+index=on", "overlay2+a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := drivers.ParseList(s)
		if err != nil {
			return
		}
		for _, v := range vs {
			again, err := drivers.ParseVariant(v.String())
			if err != nil {
				t.Fatalf("ParseList(%q) gave %q, which does not parse: %v", s, v, err)
			}
			if again.String() != v.String() {
				t.Fatalf("%q parses back as %q", v, again)
			}
			if _, ok := drivers.Lookup(v.Driver); !ok {
				t.Fatalf("ParseList(%q) gave unregistered driver %q", s, v.Driver)
			}
		}
	})
}
