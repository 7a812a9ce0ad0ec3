package mountutil

import (
	"strings"

	"golang.org/x/sys/unix"
)

// flagOptions are the mount options that mount(2) takes as flags rather than
// in the data string. Filesystems reject them in data ("ext4: Unrecognized
// mount option noatime"), yet users write them in one comma-separated list,
// as fstab does.
var flagOptions = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro":          {false, unix.MS_RDONLY},
	"rw":          {true, unix.MS_RDONLY},
	"nosuid":      {false, unix.MS_NOSUID},
	"suid":        {true, unix.MS_NOSUID},
	"nodev":       {false, unix.MS_NODEV},
	"dev":         {true, unix.MS_NODEV},
	"noexec":      {false, unix.MS_NOEXEC},
	"exec":        {true, unix.MS_NOEXEC},
	"sync":        {false, unix.MS_SYNCHRONOUS},
	"async":       {true, unix.MS_SYNCHRONOUS},
	"dirsync":     {false, unix.MS_DIRSYNC},
	"noatime":     {false, unix.MS_NOATIME},
	"atime":       {true, unix.MS_NOATIME},
	"nodiratime":  {false, unix.MS_NODIRATIME},
	"diratime":    {true, unix.MS_NODIRATIME},
	"relatime":    {false, unix.MS_RELATIME},
	"norelatime":  {true, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME},
	"lazytime":    {false, unix.MS_LAZYTIME},
	"nolazytime":  {true, unix.MS_LAZYTIME},
}

// ParseOptions splits a comma-separated option list such as
// "noatime,size=1g,nr_inodes=4096" into mount(2) flags (MS_NOATIME) and the
// filesystem's data string ("size=1g,nr_inodes=4096"). Later options win, as
// with mount(8): "ro,rw" mounts read-write. Empty items are dropped.
func ParseOptions(options string) (flags uintptr, data string) {
	var rest []string
	for _, o := range strings.Split(options, ",") {
		if o == "" {
			continue
		}
		f, ok := flagOptions[o]
		switch {
		case !ok:
			rest = append(rest, o)
		case f.clear:
			flags &^= f.flag
		default:
			flags |= f.flag
		}
	}
	return flags, strings.Join(rest, ",")
}
