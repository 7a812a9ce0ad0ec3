// Package vm boots other kernels on this machine in qemu and runs
// unionbench inside them, so one host can measure a kernel matrix: the
// kernel a CI job is about to roll out against the one it runs now.
//
// A kernel comes as a Debian linux-image .deb (its vmlinuz and the modules
// unionbench needs are taken from it), as a directory laid out like an
// installed system (boot/vmlinuz-R and lib/modules/R), or as a bare bzImage
// whose needed drivers are built in. The guest has no distribution: its root
// is an initramfs holding unionbench as /init, the modules in load order and
// a few host programs (mkfs.ext4, fuse-overlayfs, sleep) with their shared
// libraries. A sparse ext4 image the host made is the guest's scratch disk,
// and results come back through a 9p share of a host directory, so every
// record the guest syncs is on the host already, even if the guest hangs.
//
// The guest's init mounts what a Docker host has besides proc, sys and dev
// (/dev/shm, where Docker's aufs driver keeps its xino file, /dev/pts,
// mqueue, cgroup2). A guest command is unionbench by default, or a payload
// program the host put into the initramfs (a static test binary, say, as
// tests/guest does), each with its own directory in the share.
//
// While a guest runs, its initramfs and disk image live in a scratch
// directory under the work directory, holding the same owner lock as a
// sandbox's scratch, so the next run or `unionbench clean` removes those of
// a killed unionbench; qemu gets a parent-death signal, so it dies with
// unionbench however unionbench dies.
//
// Under software emulation (qemu's TCG, used when /dev/kvm is missing, or
// when a probe boot shows qemu cannot run the kernel under KVM, as under
// some nested hypervisors) the guest's kernel command line carries
// hostinfo.EmulatedParam, and every result it writes says emulated=true:
// timings from an emulated CPU are for comparing kernels booted the same
// way, never for comparing with a native run. Quirk results are exact
// anywhere.
//
// Do not use it to benchmark the host's own kernel (run unionbench
// directly), nor for kernels that need firmware, an initrd of their own or
// a root filesystem: the guest is only as much of a system as the harness
// needs.
package vm
