package dockerd

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Import makes image ref from the rootfs tarball at path (`docker import`).
func (d *Daemon) Import(ctx context.Context, path, ref string) error {
	_, err := d.Docker(ctx, "import", path, ref)
	return err
}

// Build builds the Dockerfile text into image ref with the classic builder
// (DOCKER_BUILDKIT=0, which needs no network) and no network for RUN
// steps, in an empty build context under the daemon's directory.
func (d *Daemon) Build(ctx context.Context, dockerfile, ref string) error {
	dir, err := os.MkdirTemp(d.Dir, "build")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	_, err = d.Docker(ctx, "build", "--network", "none", "--quiet", "--tag", ref, dir)
	return err
}

// Save writes image ref as a `docker save` archive at path.
func (d *Daemon) Save(ctx context.Context, ref, path string) error {
	_, err := d.Docker(ctx, "save", "--output", path, ref)
	return err
}

// Load loads a `docker save` archive (`docker load`).
func (d *Daemon) Load(ctx context.Context, path string) error {
	_, err := d.Docker(ctx, "load", "--quiet", "--input", path)
	return err
}

// BusyboxRootfs writes a tarball of a tiny root filesystem at path: the
// statically linked busybox (Debian's busybox-static) as /bin/busybox,
// /bin/sh and the applets a Dockerfile's RUN steps use as symlinks to it,
// and empty /etc and /tmp. It is enough for `docker import` and `docker
// build` RUN steps.
func BusyboxRootfs(busybox, path string) error {
	bin, err := os.Open(busybox)
	if err != nil {
		return fmt.Errorf("busybox rootfs: %w (apt-get install busybox-static)", err)
	}
	defer bin.Close()
	fi, err := bin.Stat()
	if err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	for _, dir := range []string{"bin/", "etc/", "tmp/"} {
		mode := int64(0o755)
		if dir == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: mode}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: fi.Size()}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, bin); err != nil {
		return err
	}
	for _, applet := range strings.Fields("sh ls cat cp mv rm mkdir rmdir ln dd touch chmod chown seq sleep true sync") {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return out.Close()
}
