// Package mountutil mounts and unmounts with the hygiene a benchmark that
// builds and tears down thousands of mounts needs: errors that carry the
// whole mount(2) call and still unwrap to the errno, a page-size check on
// mount data before the kernel silently truncates it, mounting with relative
// paths from a given directory (as Docker's overlay2 does for deep stacks),
// unmounting that waits out a transient EBUSY and names who holds a busy
// mount, and recursive unmounting, children before parents.
//
// Nothing here ever removes a file or directory: a failed unmount followed
// by a recursive delete is how lower layers (or a host's real data) get
// destroyed, so removal is left to callers, who should use os.Remove on a
// mount point, never os.RemoveAll.
//
// When not to use it: this package does not isolate anything. Mounts it
// makes land in the calling process's mount namespace, so run it inside the
// private namespace internal/sandbox provides (or a test binary re-executed
// with CLONE_NEWNS); called from the host namespace it will mount on the
// host. It is Linux-only and uses the classic mount(2) interface; it does not
// use the new mount API (fsopen/fsconfig), so it shares mount(2)'s one-page
// limit on options.
package mountutil
