package units

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0B": 0, "4KiB": 4096, "64MiB": 64 << 20, "1GiB": 1 << 30, "512": 512} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		if in != "512" {
			assert.Equal(t, in, FormatSize(got), "FormatSize reads back")
		}
	}
	for _, bad := range []string{"10QB", "", "-1KiB", "1.5MiB", "KiB", "2000GiB"} {
		_, err := ParseSize(bad)
		assert.Error(t, err, bad)
	}
}

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
