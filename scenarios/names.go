package scenarios

import (
	"fmt"
	"strings"
)

// SelectByName picks from all, by a comma-separated list of names, the
// items with those names, in the list's order: what the --scenarios and
// --quirks flags do. kind says what the names are in the error
// ("scenario", "quirk"), which lists every name there is.
func SelectByName[T any](list, kind string, all []T, name func(T) string) ([]T, error) {
	byName := make(map[string]T, len(all))
	names := make([]string, len(all))
	for i, x := range all {
		names[i] = name(x)
		byName[names[i]] = x
	}
	var out []T
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		x, ok := byName[f]
		if !ok {
			return nil, fmt.Errorf("unknown %s %q: want one of %s", kind, f, strings.Join(names, ", "))
		}
		out = append(out, x)
	}
	return out, nil
}
