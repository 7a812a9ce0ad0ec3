package scenarios

import (
	"testing"
)

// FuzzParseSize: any input is refused or gives a size in range that
// FormatSize renders back to the same size.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0B", "4KiB", "64MiB", "1GiB", "1024GiB", "1025GiB", "10QB", "-1", " 7 ", "9223372036854775807", "1.5MiB", "KiB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 || n > 1<<40 {
			t.Fatalf("ParseSize(%q) = %d: out of 0..1024GiB", s, n)
		}
		back, err := ParseSize(FormatSize(n))
		if err != nil || back != n {
			t.Fatalf("ParseSize(FormatSize(%d)=%q) = %d, %v", n, FormatSize(n), back, err)
		}
	})
}

// FuzzParseLists: the --sizes and --depths lists refuse or give values in
// range, one per comma-separated item.
func FuzzParseLists(f *testing.F) {
	for _, s := range []string{"1,16,128", "0", "4KiB,1MiB", ",", "1,,2", "-3", "99999999999999999999", " 2 , 3 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sizes, err := ParseSizes(s); err == nil {
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
