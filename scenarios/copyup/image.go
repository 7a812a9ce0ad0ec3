package copyup

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/layerspec"
)

// Paths in the image, relative to its root.
const (
	// Target is the file the first and second writes go to.
	Target = "data/target"
	// ChmodTarget is a second file of the same size that only chmod
	// touches, so the metadata-only copy-up starts from a file nothing
	// has copied up yet.
	ChmodTarget = "data/chmod-target"
)

// Image is the copy-up image for files of size bytes: Target and
// ChmodTarget in the bottom layer.
func Image(size int64) []*layerspec.Layer { return ImageOf(size, Target, ChmodTarget) }

// ImageOf is an image of two layers, bottom first: the bottom layer holds
// the named files, each of size bytes of its own incompressible content
// (not sparse, so a copy moves every byte), the layer above some unrelated
// small files, as a real image's upper layers hold. One upper layer is
// enough to make the files lower files; more would only multiply what vfs
// copies per layer. The same arguments always give the same bytes.
func ImageOf(size int64, files ...string) []*layerspec.Layer {
	bottom := &layerspec.Layer{Entries: []layerspec.Entry{
		{Path: "etc/os-release", Kind: layerspec.File, Size: 256, Fill: layerspec.Text, Seed: 10},
	}}
	for i, f := range files {
		bottom.Entries = append(bottom.Entries, layerspec.Entry{Path: f, Kind: layerspec.File, Size: size, Seed: uint64(1 + i)})
	}
	upper := &layerspec.Layer{}
	for i := range 8 {
		upper.Entries = append(upper.Entries, layerspec.Entry{Path: fmt.Sprintf("app/lib/mod%d.so", i), Kind: layerspec.File, Size: 16 << 10, Seed: uint64(100 + i)})
	}
	upper.Entries = append(upper.Entries, layerspec.Entry{Path: "etc/app.conf", Kind: layerspec.File, Size: 512, Fill: layerspec.Text, Seed: 20})
	return []*layerspec.Layer{bottom, upper}
}

// Build creates the layers in d, bottom first, as layer000, layer001, ...
// and returns the top layer's id, for drivers.NewContainer. The pagecache
// scenario builds its image with it too.
func Build(ctx context.Context, d drivers.Driver, layers []*layerspec.Layer) (top string, err error) {
	for i, l := range layers {
		id := fmt.Sprintf("layer%03d", i)
		if err := d.Create(ctx, id, top, l); err != nil {
			return "", err
		}
		top = id
	}
	return top, nil
}

// ReadAll reads the file at name (beneath the directory dirfd) to the end
// with reads of len(buf) bytes, returning the bytes read. It is how a file
// is made warm, and what the pagecache scenario times.
func ReadAll(dirfd int, name string, buf []byte) (int64, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: name, Err: err}
	}
	defer unix.Close(fd)
	var total int64
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return total, &os.PathError{Op: "read", Path: name, Err: err}
		}
		if n == 0 {
			return total, nil
		}
		total += int64(n)
	}
}
