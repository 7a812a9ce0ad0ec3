// Package results is unionbench's results model: one JSON object per
// measurement, appended to results.jsonl and synced as each measurement
// finishes so a crash loses nothing already measured, and the same
// measurements in Go benchmark format (bench.txt) so benchstat reads them
// unchanged.
//
// Every record carries a schema version, the run id, the host facts that
// change results (kernel, distro, CPU, backing filesystem and its options),
// the driver variant and its mount options, the scenario and its
// parameters, the unit and every raw sample. It also says what it is, in
// typed fields the scenario filled and every reader goes by: its status
// (ok, failed with its error, unsupported with its reason), which
// direction is better, whether the samples are exact counts, and which
// floor record it is compared with. A failed measurement is a record too.
//
// The package is a leaf: it imports nothing else of unionbench, and holds
// its own types for host and backing facts, so what a results file means
// does not change when the harness does. Files of an older schema are
// upgraded as they are read (Upgrade), the only place where the old
// conventions on names live.
package results
