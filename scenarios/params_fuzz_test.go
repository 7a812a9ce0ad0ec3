package scenarios

import (
	"testing"

	"github.com/unionbench/unionbench/reports/units"
)

// FuzzParseLists: the --sizes and --depths lists refuse or give values in
// range, one per comma-separated item.
func FuzzParseLists(f *testing.F) {
	for _, s := range []string{"1,16,128", "0", "4KiB,1MiB", ",", "1,,2", "-3", "99999999999999999999", " 2 , 3 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sizes, err := units.ParseSizes(s); err == nil {
			for _, n := range sizes {
				if n < 0 || n > 1<<40 {
					t.Fatalf("ParseSizes(%q): %d out of range", s, n)
				}
			}
		}
		if depths, err := ParseDepths(s); err == nil {
			for _, d := range depths {
				if d < 1 {
					t.Fatalf("ParseDepths(%q): depth %d", s, d)
				}
			}
		}
	})
}
