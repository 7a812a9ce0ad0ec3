// Package dockerparity holds the test that makes a real Docker daemon the
// judge of every driver's on-disk format (issue 14, "Docker as the
// oracle").
//
// For each storage driver that both Docker 20.10 and unionbench have on
// this kernel (overlay2, overlay, vfs, fuse-overlayfs) it starts a real
// dockerd (internal/dockerd) on a scratch data root, `docker load`s a
// multi-layer image written from layerspec layers (whiteouts, an opaque
// directory, hard links, a large file, many small files, setuid, owners,
// xattrs), `docker create`s a container, and builds the same layers and
// container with unionbench's driver under the same layer ids. It then
// compares the two driver roots entry by entry (type, mode, owner, size,
// content, link target, device, xattrs, link count; overlay2's link, lower
// and committed files and l/ links with Docker's random short ids mapped to
// layer ids), and the two containers' merged views and mount options.
// Every difference must be listed, with why, in docs/docker-parity.md; the
// test prints "parity: N entries compared, M undocumented differences" and
// fails on M>0.
//
// The image comes from layerspec rather than `docker build` so that both
// sides build exactly the same layers: layerspec describes contents by
// seed, and unionbench cannot yet apply a real image's tar streams (that
// is `run --image`, being built separately).
package dockerparity
