package scenarios

import (
	"sync"
)

var (
	regMu    sync.Mutex
	registry []Scenario
)

// Register makes a scenario available to `unionbench run` by name, in the
// order of the scenario table. Scenario packages call it from init; import
// scenarios/all to get every one.
func Register(s Scenario) {
	regMu.Lock()
	defer regMu.Unlock()
	registry = append(registry, s)
}

// All returns every registered scenario in the order of the scenario table.
func All() []Scenario {
	regMu.Lock()
	defer regMu.Unlock()
	order := map[string]int{"copyup": 0, "lookup": 1, "mount": 2, "inodes": 3, "pagecache": 4}
	out := append([]Scenario(nil), registry...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && rank(order, out[j]) < rank(order, out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func rank(order map[string]int, s Scenario) int {
	if r, ok := order[s.Name()]; ok {
		return r
	}
	return len(order)
}

// Names lists the registered scenario names.
func Names() []string {
	var n []string
	for _, s := range All() {
		n = append(n, s.Name())
	}
	return n
}

// ParseList parses a comma-separated list of scenario names.
func ParseList(list string) ([]Scenario, error) {
	return SelectByName(list, "scenario", All(), Scenario.Name)
}
