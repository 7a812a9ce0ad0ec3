// Package dockerparity holds the test that makes a real Docker daemon the
// judge of every driver's on-disk format (issue 14, "Docker as the
// oracle").
//
// For each storage driver that both Docker 20.10 and unionbench have on
// this kernel (overlay2, overlay, vfs, fuse-overlayfs) it starts a real
// dockerd (internal/dockerd) on a scratch data root, `docker load`s an
// image, `docker create`s a container, and makes the same layers and
// container with unionbench's driver under the same layer ids (Docker's
// cache ids and mount id). It then compares the two driver roots entry by
// entry (type, mode, owner, size, content, link target, device, xattrs,
// link count; overlay2's link, lower and committed files and l/ links with
// Docker's random short ids mapped to layer ids), and the two containers'
// merged views and mount options.
//
// It does so for two images through one comparison path (runParity): a
// synthetic one written from layerspec layers (whiteouts, an opaque
// directory, hard links, a large and a sparse file, many small files,
// setuid, owners, xattrs), which unionbench creates from the layerspec
// description; and the Debian test image of images/imagetest, which
// unionbench imports from the same `docker save` archive Docker loads,
// through the images package as `unionbench run --image` does.
//
// Every difference must be listed, with why, in docs/docker-parity.md; the
// test prints "parity: N entries compared (...), M undocumented
// differences", also into the file UNIONBENCH_PARITY_SUMMARY names (for
// CI, where go test hides a passing package's output), and fails on M>0.
package dockerparity
