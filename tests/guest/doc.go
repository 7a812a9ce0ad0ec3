// Package guest runs the harness inside a kernel booted in qemu, for the
// drivers this host's kernel cannot mount: aufs, which no current
// distribution kernel has, is tested for real in a kernel with aufs built
// in. TestConformanceInAufsKernel builds the drivers' test binaries
// statically, boots the kernel once with them as the guest's payload (the
// aufs package's tests, conformance suite included, then overlay2's
// conformance suite), and reads their `go test` output back from the
// results share; it fails if the aufs suite skipped. TestQuirksAndRunInAufsKernel
// runs `unionbench vm -- quirks -- run` there as a user would and checks
// every record came from that kernel, with every scenario measured.
//
// It has no non-test code. The kernel is named by UNIONBENCH_AUFS_KERNEL
// (default ../shared/kernels/aufs-6.1/bzImage beside the repository, which
// only this project's CI has; unionbench itself never looks there). The
// boots run only with UNIONBENCH_VM_TEST=1; then, under CI=true, a missing
// kernel or qemu fails the tests instead of skipping them:
//
//	sudo UNIONBENCH_VM_TEST=1 go test -count=1 -v -timeout 60m ./tests/guest/
package guest
