#!/usr/bin/env bash
# install-deps.sh: install everything `unionbench run` and the whole test
# suite (`CI=true go test ./...`) need on a fresh Debian 12 machine; run it
# as root from anywhere in the tree. README.md's two set-up commands and
# .ci/run start with it.
#
# It runs scripts/provision.sh first (Go as go.mod names it, the drivers'
# and backing filesystems' programs, the overlay/fuse/loop modules), then
# installs what only the tests use, then downloads the Go modules so the
# tests need no network beyond what they fetch on purpose (the VM test's
# kernel package). It is idempotent: a second run installs nothing.
#
# What each test-only package is for (the drivers' and backing
# filesystems' ones are listed again so a failed provision step shows here):
#   the linter: scripts/lint_test.go runs it on every scripts/*.sh
#   ruby: scripts/lint_test.go parses the Vagrantfile (ruby -c)
#   chromium: cmd/unionbench draws the HTML report in headless Chromium
#   cpio: internal/vm reads its initramfs back with cpio -it
#   qemu-system-x86: the kernel-matrix test boots a Debian kernel in qemu
#   dpkg: internal/vm builds kernel packages with dpkg-deb
#   docker.io: the Docker-parity test runs a real dockerd (20.10) as the
#     oracle of the drivers' on-disk formats (internal/dockerd)
#   busybox-static: the rootfs internal/dockerd imports to docker build
#     a multi-layer test image with RUN steps
#   mmdebstrap: images/imagetest makes the real-image tests' base layer
#     from Debian's archive (mmdebstrap --variant=minbase bookworm), which
#     docker.io then imports and builds the test image on
#   skopeo: images/imagetest copies the test image's `docker save`
#     archive to OCI layouts (gzip and zstd layers)
set -euo pipefail

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and loads modules): sudo $0"
src=$(cd "$(dirname "$0")/.." && pwd)
command -v apt-get >/dev/null || die "only Debian (12) is supported here: no apt-get"

export DEBIAN_FRONTEND=noninteractive
UB_SRC=$src "$src/scripts/provision.sh"

# Other jobs on the machine may hold the dpkg lock for a while: wait for
# it rather than fail.
log "installing the test tools"
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
	fuse-overlayfs fuse3 xfsprogs btrfs-progs e2fsprogs tar kmod util-linux \
	shellcheck ruby chromium cpio qemu-system-x86 dpkg docker.io busybox-static mmdebstrap skopeo >/dev/null

export PATH="/usr/local/go/bin:$PATH"
log "downloading the Go modules"
(cd "$src" && go mod download)

missing=()
for prog in fuse-overlayfs mkfs.ext4 mkfs.xfs mkfs.btrfs losetup modprobe tar \
	shellcheck ruby chromium cpio qemu-system-x86_64 dpkg-deb dockerd busybox mmdebstrap skopeo go; do
	command -v "$prog" >/dev/null || missing+=("$prog")
done
[ ${#missing[@]} = 0 ] || die "still missing after installing: ${missing[*]}"
log "ready: $(go version); tests: CI=true go test -count=1 -timeout 15m ./..."
