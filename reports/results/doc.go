// Package results is unionbench's results model: one JSON object per
// measurement, appended to results.jsonl and synced as each measurement
// finishes so a crash loses nothing already measured, and the same
// measurements in Go benchmark format (bench.txt) so benchstat reads them
// unchanged.
//
// Every record carries a schema version, the run id, the host facts that
// change results (kernel, distro, CPU, backing filesystem and its options),
// the driver variant and its mount options, the scenario and its
// parameters, the unit and every raw sample. A failed measurement is a
// record too, with its error.
package results
