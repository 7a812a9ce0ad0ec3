#!/usr/bin/env bash
# bench.sh: build unionbench and run the suite on this machine, writing
# results/<machine>/ (drivers.json, quirks/, run/). Run it as root on any
# Linux VM, CI runner or bare host after scripts/provision.sh; under Vagrant
# the Vagrantfile's "bench" provisioner runs it.
#
# Environment:
#   UB_MACHINE     name of this machine in the matrix (default: hostname)
#   UB_SRC         the unionbench source tree (default: this script's parent)
#   UB_RESULTS     where results/<machine>/ goes (default: $UB_SRC/results)
#   UB_BENCH_ARGS  extra arguments for `unionbench run`, e.g. "--full" or
#                  "--scenarios mount,lookup --count 10" (default: the quick suite)
#   UB_SKIP_QUIRKS set to 1 to skip `unionbench quirks`
#
# Exit status: 0 when every step passed, else 1 after all steps ran (a
# failed quirks run does not stop the benchmarks).
set -euo pipefail

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (unionbench mounts filesystems)"
src=${UB_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
machine=${UB_MACHINE:-$(hostname -s)}
results=${UB_RESULTS:-$src/results}
case $machine in
'' | */* | .*) die "bad machine name '$machine'" ;;
esac
export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || die "no go: run scripts/provision.sh first"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/unionbench
log "building unionbench ($(go version | cut -d' ' -f3))"
# Static, so the same binary also runs as a guest's init under `unionbench vm`.
(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/unionbench)

out=$results/$machine
if [ -e "$out" ]; then
	old="$out.$(date -u +%Y%m%dT%H%M%SZ)"
	log "keeping the previous results as $old"
	mv "$out" "$old"
fi
mkdir -p "$out"
uname -a >"$out/uname.txt"

status=0
"$bin" drivers --json >"$out/drivers.json" || status=1
if [ "${UB_SKIP_QUIRKS:-0}" != 1 ]; then
	log "quirks"
	"$bin" quirks --out "$out/quirks" >"$out/quirks.txt" || {
		log "quirks failed (see $out/quirks.txt)"
		status=1
	}
fi
read -r -a extra <<<"${UB_BENCH_ARGS:-}"
log "run ${extra[*]:-(quick suite)}"
SECONDS=0
"$bin" run --out "$out/run" "${extra[@]}" | tee "$out/run.txt" || {
	log "run failed (see $out/run.txt)"
	status=1
}
log "done in ${SECONDS}s: $out"
exit "$status"
