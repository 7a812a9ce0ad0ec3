// Package scripts holds the shell scripts of the kernel matrix
// (provision.sh, bench.sh, matrix.sh, kernels.sh) and of the kernel
// regression job (kernel-regression.sh, which
// .github/workflows/kernel-regression.yml runs), and no Go code: its test
// lints them with shellcheck, the workflows with actionlint and the
// Vagrantfile with ruby -c, so a script that only runs on a VM once a
// release still breaks the build at once.
package scripts
