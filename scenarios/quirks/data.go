package quirks

import (
	"bytes"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/layerspec"
)

// file declares a regular file of size bytes of the seed's random content.
func file(path string, size int64, seed uint64) layerspec.Entry {
	return layerspec.Entry{Path: path, Kind: layerspec.File, Size: size, Seed: seed}
}

// oneLayer is an image of one layer holding entries, plus an unrelated
// file in a second layer, so that the probed files are in a lower layer
// below another one, as in real images.
func oneLayer(entries ...layerspec.Entry) func() []*layerspec.Layer {
	return func() []*layerspec.Layer {
		return []*layerspec.Layer{
			{Entries: entries},
			{Entries: []layerspec.Entry{file("etc/app.conf", 128, 99)}},
		}
	}
}

const lowerFile = "data/lower"

func openROThenRW() Quirk {
	return Quirk{
		ID:       "open-ro-rw",
		Title:    "O_RDONLY fd sees a write made through a later O_RDWR fd",
		Requires: "one file, one data: a read through any open descriptor returns the last write (POSIX read(2)/write(2))",
		Image:    oneLayer(file(lowerFile, 4096, 1)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			ro, err := open(p, unix.O_RDONLY)
			if err != nil {
				return Outcome{}, err
			}
			defer unix.Close(ro)
			before, err := pread(ro, len(marker), 0)
			if err != nil {
				return Outcome{}, sysErr("read", p, err)
			}
			rw, err := open(p, unix.O_RDWR)
			if err != nil {
				return Outcome{}, err
			}
			defer unix.Close(rw)
			if _, err := unix.Pwrite(rw, marker, 0); err != nil {
				return Outcome{}, sysErr("write", p, err)
			}
			after, err := pread(ro, len(marker), 0)
			if err != nil {
				return Outcome{}, sysErr("read", p, err)
			}
			obs, ok := verdict(hasMarker(after), "sees the write", "stale data")
			return Outcome{obs, ok, fmt.Sprintf("read through the O_RDONLY fd opened before the copy-up: %s (before the write %s, written %s)", q(after), q(before), q(marker))}, nil
		},
	}
}

func mmapShared() Quirk {
	return Quirk{
		ID:       "mmap-shared",
		Title:    "MAP_SHARED mapping of a read-only fd sees a later write",
		Requires: "a MAP_SHARED mapping shows writes to the file made through write(2) (POSIX mmap: shared changes are visible)",
		Image:    oneLayer(file(lowerFile, 4096, 2)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			ro, err := open(p, unix.O_RDONLY)
			if err != nil {
				return Outcome{}, err
			}
			defer unix.Close(ro)
			m, err := unix.Mmap(ro, 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
			if err != nil {
				return Outcome{}, sysErr("mmap", p, err)
			}
			defer unix.Munmap(m)
			before := bytes.Clone(m[:len(marker)]) // faults the page in from the lower file
			if err := overwrite(p); err != nil {
				return Outcome{}, err
			}
			after := bytes.Clone(m[:len(marker)])
			obs, ok := verdict(hasMarker(after), "sees the write", "old data")
			return Outcome{obs, ok, fmt.Sprintf("mapping read %s after the write, %s before", q(after), q(before))}, nil
		},
	}
}

func truncateLower() Quirk {
	return Quirk{
		ID:       "truncate-lower",
		Title:    "truncate(2) of a lower file",
		Requires: "the size becomes the length given and the bytes before it are kept (POSIX truncate)",
		Image:    oneLayer(file(lowerFile, 8192, 3)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			before, err := head(p, 100)
			if err != nil {
				return Outcome{}, err
			}
			if err := unix.Truncate(p, 100); err != nil {
				return Outcome{"truncate " + errnoName(err), false, err.Error()}, nil
			}
			st, err := lstat(p)
			if err != nil {
				return Outcome{}, err
			}
			after, err := head(p, 200)
			if err != nil {
				return Outcome{}, err
			}
			ok := st.Size == 100 && bytes.Equal(after, before)
			obs, _ := verdict(ok, "truncated", "wrong size or data")
			return Outcome{obs, ok, fmt.Sprintf("size %d after truncate to 100; first 100 bytes kept: %v", st.Size, bytes.Equal(after, before))}, nil
		},
	}
}

func fsyncCopyUp() Quirk {
	const size = 256 << 10
	return Quirk{
		ID:       "fsync-copyup",
		Title:    "fsync(2) after a copy-up reaches the device",
		Requires: "fsync returns 0 only once the data is on the storage device (POSIX fsync with _POSIX_SYNCHRONIZED_IO)",
		Image:    oneLayer(file(lowerFile, size, 4)),
		Probe: func(c *Container) (Outcome, error) {
			p := c.Path(lowerFile)
			fd, err := open(p, unix.O_WRONLY) // the copy-up happens here
			if err != nil {
				return Outcome{}, err
			}
			defer unix.Close(fd)
			buf := bytes.Repeat(marker, size/len(marker))
			if _, err := unix.Pwrite(fd, buf, 0); err != nil {
				return Outcome{}, sysErr("write", p, err)
			}
			before, measurable := backing.DeviceWrites(c.FS)
			if err := unix.Fsync(fd); err != nil {
				return Outcome{"fsync " + errnoName(err), false, err.Error()}, nil
			}
			after, _ := backing.DeviceWrites(c.FS)
			if !measurable {
				return Outcome{"fsync returns 0", true, fmt.Sprintf("fsync of %d written bytes returned 0; the backing fs (%s) has no block device to check that they reached it", size, c.FS.Spec.Kind)}, nil
			}
			written := after - before
			obs, ok := verdict(written >= size, "data on device", "returns 0, not synced")
			return Outcome{obs, ok, fmt.Sprintf("fsync returned 0 after writing %d bytes; the backing device received %d bytes during the fsync", size, written)}, nil
		},
	}
}

func layerspecDir(path string) layerspec.Entry {
	return layerspec.Entry{Path: path, Kind: layerspec.Dir}
}
