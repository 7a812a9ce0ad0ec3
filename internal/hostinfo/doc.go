// Package hostinfo reads the facts about a host that change what unionbench
// measures: kernel release, distribution, CPU and memory, whether the CPU is
// emulated, the overlay module's parameters and which filesystems the kernel
// knows. Every result carries them, so numbers from two hosts are never
// compared without saying how the hosts differ.
//
// It only reads /proc, /sys and /etc; it never changes anything.
package hostinfo
