// Package guest runs test suites inside a kernel booted in qemu, for the
// drivers this host's kernel cannot mount: aufs, which no current
// distribution kernel has, is tested for real in a kernel with aufs built
// in. The package's test builds the drivers' test binaries statically,
// boots the kernel once with them as the guest's payload, and reads their
// `go test` output back from the results share.
//
// It has no non-test code. The kernel is named by UNIONBENCH_AUFS_KERNEL
// (default ../shared/kernels/aufs-6.1/bzImage beside the repository, which
// only this project's CI has; unionbench itself never looks there), and
// the boot runs only with UNIONBENCH_VM_TEST=1:
//
//	sudo UNIONBENCH_VM_TEST=1 go test -count=1 -v -timeout 40m ./tests/guest/
package guest
