// Package quirks is a catalogue of POSIX conformance probes run on the
// merged view of a real container: the behaviours where union filesystems
// are known to differ from a local filesystem (open(2) after copy-up,
// rename(2) of lower directories, hard links, inode numbers, atime, ETXTBSY,
// locks, ...).
//
// Each probe is a small experiment, in the manner of moby's
// doesSupportNativeDiff: it declares the lower state as layer specs, gets a
// fresh image and container of its own on the driver under test, acts with
// real system calls and records what it observed (data read back, errno,
// inode numbers, link counts) and whether that is what POSIX requires. A
// probe never knows which driver it runs on and never expects an answer:
// the same code runs on vfs, where every quirk must conform, and on every
// overlay variant.
//
// "posix" means what POSIX requires of a filesystem or, for calls POSIX
// does not have (renameat2, O_TMPFILE, statfs, flock), what Linux does on a
// local filesystem such as ext4 or tmpfs.
//
// The catalogue documents itself: docs/quirks.md explains every probe, why
// union filesystems deviate and which kernel changed what; the ids there
// and in Catalogue are the same.
//
// When not to use it: the probes are root-only (they mount, chown and mknod)
// and each builds a container, so they are a conformance matrix, not a
// benchmark; the quirks scenario records behaviours, never timings.
package quirks
