package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// CheckParams refuses a case whose parameters are not exactly keys, each
// once and with a value: a case from a hand-written or mistyped list
// (--sizes, a results file, a test) must fail as bad input rather than be
// measured with a default standing in for what was meant. scenario names
// the scenario in the error.
func (c Case) CheckParams(scenario string, keys ...string) error {
	want := "no parameters"
	if len(keys) > 0 {
		want = "parameters " + strings.Join(keys, ", ")
	}
	seen := map[string]bool{}
	for _, p := range c.Params {
		switch {
		case !slices.Contains(keys, p.Key):
			return fmt.Errorf("%s: case %s: unknown parameter %q: want %s", scenario, c.Name(), p.Key, want)
		case seen[p.Key]:
			return fmt.Errorf("%s: case %s: parameter %q given twice", scenario, c.Name(), p.Key)
		case p.Value == "":
			return fmt.Errorf("%s: case %s: parameter %q has no value", scenario, c.Name(), p.Key)
		}
		seen[p.Key] = true
	}
	for _, k := range keys {
		if !seen[k] {
			return fmt.Errorf("%s: case %s: missing parameter %q: want %s", scenario, c.Name(), k, want)
		}
	}
	return nil
}
