package drivers

import "fmt"

// DepthLimit turns Options.MaxDepth into a driver's limit in layers: 0
// means def, Deepest means max, anything from 1 to max is taken as is, and
// anything else is an error (beyond max a *DepthError, with why saying
// where max comes from).
func DepthLimit(driver string, requested, def, max int, why string) (int, error) {
	switch {
	case requested == 0:
		return def, nil
	case requested == Deepest:
		return max, nil
	case requested < 0:
		return 0, fmt.Errorf("%s: MaxDepth %d out of range: want 0 (the default) to %d", driver, requested, max)
	case requested > max:
		return 0, fmt.Errorf("%w (%s)", &DepthError{Driver: driver, Depth: requested, Max: max}, why)
	}
	return requested, nil
}
