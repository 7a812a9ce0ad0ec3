#!/usr/bin/env bash
# kernels.sh: the kernel matrix on this one machine, without Vagrant: boot
# Debian kernel packages in qemu with `unionbench vm`, run quirks and the
# quick suite in each, render one report, and compare the first kernel with
# the last. This is the job to run when a kernel upgrade is coming: its exit
# status is compare's (1 on a regression or a changed quirk).
#
#   scripts/kernels.sh linux-image-6.1.0-47-amd64 linux-image-6.1.0-56-amd64
#   scripts/kernels.sh ./linux-image-6.1.0-47-amd64_6.1.170-3_amd64.deb ./bzImage
#
# Arguments are Debian package names (fetched with apt-get download into
# $UB_CACHE/debs) or paths to a .deb, a kernel tree or a bzImage. Runs
# under KVM when /dev/kvm works, else under software emulation (TCG), whose
# timings are marked emulated and are only comparable with each other.
#
# Environment:
#   UB_OUT         results directory (default results/kernels-<time>)
#   UB_RUN_ARGS    `unionbench run` arguments in each guest
#                  (default: --quick --scenarios mount,inodes,lookup --count 3)
#   UB_VM_ARGS     extra `unionbench vm` flags, e.g. "--accel tcg --timeout 2h"
#   UB_CACHE       download and unpack cache (default /var/cache/unionbench)
#   UB_UNIONBENCH  unionbench binary (default: built static from this tree)
set -euo pipefail

log() { printf 'kernels: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

[ $# -ge 1 ] || die "usage: $0 PACKAGE|PATH... (two or more to compare)"
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${UB_CACHE:-/var/cache/unionbench}
out=${UB_OUT:-$root/results/kernels-$(date -u +%Y%m%dT%H%M%SZ)}
read -r -a run_args <<<"${UB_RUN_ARGS:---quick --scenarios mount,inodes,lookup --count 3}"
read -r -a vm_args <<<"${UB_VM_ARGS:-}"

bin=${UB_UNIONBENCH:-}
if [ -z "$bin" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	bin=$tmp/unionbench
	# Static: it becomes the guest's /init, with no libraries to carry.
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/unionbench)
fi

kernels=()
for k in "$@"; do
	if [ -e "$k" ]; then
		kernels+=(--kernel "$k")
		continue
	fi
	case $k in
	linux-image-*) ;;
	*) die "$k: neither a file nor a linux-image package name" ;;
	esac
	mkdir -p "$cache/debs"
	deb=$(find "$cache/debs" -maxdepth 1 -name "${k}_*.deb" | sort | tail -n 1)
	if [ -z "$deb" ]; then
		log "downloading $k"
		# apt-get download writes into the current directory.
		(cd "$cache/debs" && apt-get download "$k") || die "apt-get download $k failed (apt-cache search linux-image lists what exists)"
		deb=$(find "$cache/debs" -maxdepth 1 -name "${k}_*.deb" | sort | tail -n 1)
	fi
	kernels+=(--kernel "$deb")
done

status=0
SECONDS=0
"$bin" vm "${vm_args[@]}" --out "$out" "${kernels[@]}" -- quirks -- run "${run_args[@]}" || status=$?
log "all guests done in ${SECONDS}s"

mapfile -t runs < <(find "$out" -mindepth 3 -maxdepth 3 -path '*/run/results.jsonl' | sort -V)
mapfile -t all < <(find "$out" -mindepth 3 -maxdepth 3 -name results.jsonl | sort -V)
[ ${#all[@]} -gt 0 ] || die "no results came back (see $out/*/console.log)"
"$bin" report -o "$out/report" "${all[@]}" || status=1
if [ ${#runs[@]} -ge 2 ]; then
	base=${runs[0]} new=${runs[${#runs[@]}-1]}
	q_base=${base%/run/results.jsonl}/quirks/results.jsonl
	q_new=${new%/run/results.jsonl}/quirks/results.jsonl
	log "compare $base -> $new"
	"$bin" compare "$base" "$new" | tee "$out/compare-run.txt" || status=1
	if [ -s "$q_base" ] && [ -s "$q_new" ]; then
		"$bin" compare "$q_base" "$q_new" | tee "$out/compare-quirks.txt" || status=1
	fi
fi
log "report: $out/report/report.html"
exit "$status"
