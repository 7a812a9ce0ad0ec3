// Package bench holds unionbench's `go test -bench` entry points. Every
// benchmark builds real layer stacks on a real backing filesystem inside the
// test binary's private mount namespace (internal/sandbox), names its
// sub-benchmarks key=value so benchstat can split them
// (BenchmarkBuildImage/backing=ext4/driver=overlay2), prints the host facts
// as benchmark config lines, and reports extra numbers with b.ReportMetric.
//
// Run as root:
//
//	go test -run '^$' -bench . -benchtime 1x ./bench/ | tee bench.txt
//
// Not as root every benchmark skips with the reason.
package bench
