package results

import (
	"slices"
	"strings"
)

// floorDriver is the driver name of floor records.
const floorDriver = "floor"

// Upgrade gives schema-1 records (read from one file) the meaning schema 2
// records carry in typed fields, from the conventions schema 1 used:
//
//   - status: an error with extra.unsupported = true is Unsupported (the
//     error becomes the Reason), any other error Failed, else OK;
//   - better: metrics named *-until-enospc are Higher, the rest Lower;
//   - exact: compare took two sample sets for counts when both were
//     constant, so a record whose samples are all equal is Exact (with
//     compare's rule that both sides must be exact, that is schema 1's
//     rule exactly);
//   - floor: the floor record of the same scenario, unit and backing in
//     the same records whose parameters are a subset of the record's, of
//     the same metric, except copy-up's: first-write and chmod have
//     copy-fsync, their -device-bytes copy-fsync-device-bytes, and
//     second-write (which copies nothing) none.
//
// This is the only place those name rules live: every reader uses the
// typed fields. Records of schema 2 are left alone.
func Upgrade(recs []Record) {
	for i := range recs {
		r := &recs[i]
		if r.Schema >= 2 {
			continue
		}
		switch {
		case r.Error == "":
			r.Status = OK
		case r.Extra["unsupported"] == true:
			r.Status, r.Reason, r.Error = Unsupported, r.Error, ""
		default:
			r.Status = Failed
		}
		if r.Extra != nil {
			delete(r.Extra, "unsupported")
			if len(r.Extra) == 0 {
				r.Extra = nil
			}
		}
		r.Better = Lower
		if strings.HasSuffix(r.Metric, "-until-enospc") {
			r.Better = Higher
		}
		r.Exact = len(r.Samples) > 0 && !slices.ContainsFunc(r.Samples, func(v float64) bool { return v != r.Samples[0] })
	}
	for i := range recs {
		r := &recs[i]
		if r.Schema >= 2 || r.Driver == floorDriver {
			continue
		}
		metric := schema1FloorMetric(r.Scenario, r.Metric)
		if metric == "" {
			continue
		}
		for j := range recs {
			f := &recs[j]
			if f.Driver == floorDriver && f.Scenario == r.Scenario && f.Metric == metric && f.Unit == r.Unit &&
				f.Backing.Kind == r.Backing.Kind && subset(f.Params, r.Params) {
				r.Floor = f.CaseKey()
				break
			}
		}
	}
	for i := range recs {
		if recs[i].Schema < 2 {
			recs[i].Schema = SchemaVersion
		}
	}
}

// schema1FloorMetric is the floor's metric for a schema-1 record.
func schema1FloorMetric(scenario, metric string) string {
	if scenario != "copyup" {
		return metric
	}
	switch {
	case metric == "second-write":
		return ""
	case strings.HasSuffix(metric, "-device-bytes"):
		return "copy-fsync-device-bytes"
	}
	return "copy-fsync"
}

func subset(want, have []Param) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
