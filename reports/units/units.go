// Package units formats measured values the way a person reads them, for
// report tables and plot axes: 1.23ms rather than 1234567 ns, 11.4 MiB
// rather than 11960320 bytes. The formats are stable (tests compare a
// table's text with Format of the raw numbers), so change them only with
// the tests that read reports.
package units

import (
	"fmt"
	"math"
	"strconv"
)

// Format renders v in unit with four significant digits.
func Format(v float64, unit string) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "∞"
	}
	switch unit {
	case "ns":
		return Duration(v)
	case "bytes":
		return Bytes(v)
	case "ratio", "floor-ratio": // floor-ratio: results.FloorRatioUnit
		return strconv.FormatFloat(v, 'g', 4, 64) + "×"
	case "count":
		return strconv.FormatFloat(v, 'f', -1, 64)
	case "inodes":
		return strconv.FormatFloat(v, 'f', -1, 64) + " " + unit
	default:
		return strconv.FormatFloat(v, 'g', 4, 64) + " " + unit
	}
}

// Duration renders nanoseconds: 950ns, 12.3µs, 1.235ms, 2.5s.
func Duration(ns float64) string {
	a := math.Abs(ns)
	switch {
	case a >= 1e9:
		return sig(ns/1e9) + "s"
	case a >= 1e6:
		return sig(ns/1e6) + "ms"
	case a >= 1e3:
		return sig(ns/1e3) + "µs"
	default:
		return sig(ns) + "ns"
	}
}

// Bytes renders a byte count in binary units: 4 KiB, 11.41 MiB.
func Bytes(b float64) string {
	a := math.Abs(b)
	for _, u := range []struct {
		s string
		f float64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if a >= u.f {
			return sig(b/u.f) + " " + u.s
		}
	}
	return sig(b) + " B"
}

func sig(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// Percent renders a fraction as a signed percentage: +12.3%.
func Percent(f float64) string {
	if math.IsInf(f, 0) {
		return "+∞%"
	}
	return fmt.Sprintf("%+.1f%%", 100*f)
}

// Detectable renders a minimum detectable effect, a fraction: "12.3%", or
// "none" when it is +Inf (no change could be shown).
func Detectable(f float64) string {
	if math.IsInf(f, 1) {
		return "none"
	}
	return strconv.FormatFloat(100*f, 'g', 3, 64) + "%"
}
