package quirks

import (
	"github.com/unionbench/unionbench/reports/results"
)

// Scenario is the name quirk records carry in results.
const Scenario = "quirks"

// Unit is the unit of a quirk record: a behaviour, not a quantity. Its one
// sample is 1 when the behaviour is what POSIX requires and 0 when it
// deviates, so a compare of two runs sees a flip as a change of value.
const Unit = "behaviour"

// Record turns a result into a results record, on base (which carries the
// run id, time, host and backing facts). The metric is the quirk id; the
// observation is in Extra (observed, posix, detail, mount), where reports
// and compare find it. An unsupported or failed probe is recorded the way
// the scenario runner records them: an error, no samples, and for
// unsupported extra.unsupported = true.
func (r Result) Record(base results.Record) results.Record {
	rec := base
	rec.Schema = results.SchemaVersion
	rec.Driver, rec.Variant, rec.MountOptions = r.Driver, r.Variant, r.MountOptions
	rec.Scenario, rec.Metric, rec.Unit = Scenario, r.Quirk, Unit
	rec.Extra = map[string]any{"observed": r.Observed, "posix": r.POSIX, "detail": r.Detail, "status": r.Status}
	if r.Mount != "" {
		rec.Extra["mount"] = r.Mount
	}
	switch r.Status {
	case StatusOK:
		rec.Samples = []float64{0}
		if r.POSIX {
			rec.Samples = []float64{1}
		}
	case StatusUnsupported:
		rec.Unit, rec.Error = "n/a", r.Detail
		rec.Extra["unsupported"] = true
	default:
		rec.Error = r.Detail
	}
	return rec
}
