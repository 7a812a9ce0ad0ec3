#!/usr/bin/env bash
# provision.sh: make a machine ready to run unionbench.
#
# Installs Go (the version go.mod names, from go.dev, unless a new enough one
# is there), the programs the drivers and backing filesystems need
# (fuse-overlayfs, xfsprogs, btrfs-progs, e2fsprogs), and loads the aufs and
# overlay modules where they are modules. Works on Debian and Ubuntu under
# Vagrant, on any cloud VM or CI runner, or on a bare host; run it as root.
# It is idempotent: run it again after a kernel upgrade to load the new
# kernel's modules.
#
# Environment:
#   UB_SRC      the unionbench source tree (default: this script's parent)
#   GO_VERSION  Go to install (default: the go line of go.mod)
#   GO_SHA256   expected SHA-256 of the Go tarball (checked when set)
set -euo pipefail

log() { printf 'provision: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and loads modules)"

src=${UB_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
[ -f "$src/go.mod" ] || die "no go.mod in $src: set UB_SRC to the unionbench tree"

export DEBIAN_FRONTEND=noninteractive
command -v apt-get >/dev/null || die "only Debian and Ubuntu are provisioned here (no apt-get)"
# Another job on the machine (unattended-upgrades, a second provisioning)
# may hold the dpkg lock: wait for it rather than fail.
apt=(apt-get -o DPkg::Lock::Timeout=600)
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends \
	ca-certificates curl tar gzip kmod util-linux e2fsprogs xfsprogs btrfs-progs \
	fuse-overlayfs fuse3 >/dev/null ||
	"${apt[@]}" install -y -qq --no-install-recommends \
		ca-certificates curl tar gzip kmod util-linux e2fsprogs xfsprogs btrfs-progs \
		fuse-overlayfs fuse >/dev/null # Ubuntu 18.04 has fuse, not fuse3

# aufs: built into Ubuntu's generic kernels up to 20.04, as a module that
# lives in linux-modules-extra on some of them; auplink (aufs-tools) lets
# the aufs driver flush pseudo-links before unmounting.
kernel=$(uname -r)
if ! grep -qw aufs /proc/filesystems && ! modprobe aufs 2>/dev/null; then
	if apt-cache show "linux-modules-extra-$kernel" >/dev/null 2>&1; then
		"${apt[@]}" install -y -qq --no-install-recommends "linux-modules-extra-$kernel" >/dev/null || true
		modprobe aufs 2>/dev/null || true
	fi
fi
if grep -qw aufs /proc/filesystems; then
	"${apt[@]}" install -y -qq --no-install-recommends aufs-tools >/dev/null 2>&1 ||
		log "aufs-tools not available: the aufs driver runs without auplink"
	log "aufs: available"
else
	log "aufs: not in this kernel ($kernel): its results will say not supported"
fi
for mod in overlay fuse loop; do
	modprobe "$mod" 2>/dev/null || log "modprobe $mod failed (built in, or missing)"
done
grep -qw overlay /proc/filesystems || log "warning: overlay is not in /proc/filesystems"

# Go: the toolchain go.mod asks for.
want=${GO_VERSION:-$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$src/go.mod")}
[ -n "$want" ] || die "cannot read the go version from $src/go.mod"
have=$(/usr/local/go/bin/go env GOVERSION 2>/dev/null || true)
if [ "$have" != "go$want" ]; then
	case $(uname -m) in
	x86_64) arch=amd64 ;;
	aarch64) arch=arm64 ;;
	*) die "no Go download for $(uname -m)" ;;
	esac
	tarball="go$want.linux-$arch.tar.gz"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	log "installing Go $want"
	curl -fsSL --retry 3 -o "$tmp/$tarball" "https://go.dev/dl/$tarball"
	if [ -n "${GO_SHA256:-}" ]; then
		echo "$GO_SHA256  $tmp/$tarball" | sha256sum -c --quiet - || die "Go tarball checksum mismatch"
	fi
	rm -rf /usr/local/go
	tar -C /usr/local -xzf "$tmp/$tarball"
fi
ln -sf /usr/local/go/bin/go /usr/local/bin/go
log "ready: $(go version), kernel $kernel"
