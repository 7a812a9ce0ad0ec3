// Package sandbox keeps every mount unionbench makes away from the host.
//
// Enter re-executes the running program (the CLI or a test binary) as the
// first process of a new PID namespace with a private mount namespace whose
// "/" is recursively private. Every mount is made in there, so when the
// program ends in any way, kill -9 included, the kernel tears the namespace
// down: the mounts vanish, every helper process (fuse-overlayfs daemons,
// mkfs) is killed with the namespace's init, and loop devices set up with
// LO_FLAGS_AUTOCLEAR detach themselves. The parent process left outside only
// waits, forwards signals, removes the scratch directory, and (for tests)
// checks that the host's mount table and loop devices are what they were.
//
// Do not use it for a program that must leave mounts behind for others to
// see: nothing mounted inside is ever visible outside.
package sandbox
