// Package scripts holds the shell scripts of the kernel matrix
// (provision.sh, bench.sh, matrix.sh, kernels.sh) and no Go code: its test
// lints them with shellcheck and the Vagrantfile with ruby -c, so a script
// that only runs on a VM once a release still breaks the build at once.
package scripts
