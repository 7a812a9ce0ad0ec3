package mountutil

import (
	"strconv"
	"strings"
)

// MountError is a failed mount(2) or umount2(2), with everything that was
// passed to the kernel. An errno alone ("invalid argument") says nothing
// about which of a hundred layer mounts failed or which option the kernel
// disliked; the whole call does. Unwrap returns the underlying error (the
// errno for kernel failures), so errors.Is(err, unix.EXDEV) keeps working
// however many layers of fmt.Errorf("...: %w") sit on top.
type MountError struct {
	Op     string // "mount" or "unmount"
	Source string
	Target string
	FSType string
	Flags  uintptr
	Data   string
	// Dir is the working directory relative paths in Source, Target and
	// Data were resolved against (MountAt); empty for absolute mounts.
	Dir string
	Err error
}

func (e *MountError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Dir != "" {
		b.WriteString(" (in " + e.Dir + ")")
	}
	b.WriteString(" ")
	if e.Source != "" {
		b.WriteString("src=" + e.Source + ", ")
	}
	b.WriteString("dst=" + e.Target)
	if e.FSType != "" {
		b.WriteString(", type=" + e.FSType)
	}
	if e.Flags != 0 {
		b.WriteString(", flags=0x" + strconv.FormatUint(uint64(e.Flags), 16))
	}
	if e.Data != "" {
		b.WriteString(", data=" + e.Data)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *MountError) Unwrap() error { return e.Err }
