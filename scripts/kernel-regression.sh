#!/usr/bin/env bash
# kernel-regression.sh: the kernel-upgrade regression job, for any CI.
# .github/workflows/kernel-regression.yml runs the same two steps.
#
#   scripts/kernel-regression.sh baseline OUT
#       build unionbench, run the quick suite on this machine's kernel,
#       leave OUT/results/results.jsonl (keep OUT/results as the
#       baseline artifact) and its report in OUT/results.
#   scripts/kernel-regression.sh compare BASELINE_RESULTS OUT
#       the same run on the new kernel, then `unionbench compare` of
#       BASELINE_RESULTS (a results.jsonl) with it: OUT/compare.txt holds
#       compare's output, OUT/report a report of both runs, and the exit
#       code is compare's: 0 nothing changed, 1 a regression or a quirk
#       change, 2 bad input.
#
# Run as root (mounts). UNIONBENCH_RUN_FLAGS adds flags to `unionbench
# run` (e.g. --drivers overlay2,vfs); the defaults are the quick suite's,
# with --target-ci choosing each timing's sample count.
set -euo pipefail

log() { printf 'kernel-regression: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }
usage() { die "usage: $0 baseline OUT | $0 compare BASELINE_RESULTS OUT"; }

[ "$(id -u)" = 0 ] || die "run as root (the suite mounts filesystems): sudo $0 $*"
src=$(cd "$(dirname "$0")/.." && pwd)

mode=${1:-}
case "$mode" in
baseline) [ $# = 2 ] || usage; out=$2 ;;
compare)
	[ $# = 3 ] || usage
	base=$2 out=$3
	[ -f "$base" ] || die "baseline results $base: no such file"
	;;
*) usage ;;
esac

mkdir -p "$out"
out=$(cd "$out" && pwd)
bin="$out/unionbench"
log "building unionbench on $(uname -r)"
(cd "$src" && go build -o "$bin" ./cmd/unionbench)

read -r -a extra <<<"${UNIONBENCH_RUN_FLAGS:-}"
rm -rf "$out/results"
log "running the quick suite"
"$bin" run --out "$out/results" --workdir "$out/work" "${extra[@]}"

if [ "$mode" = baseline ]; then
	log "baseline: $out/results/results.jsonl"
	exit 0
fi

set +e
"$bin" compare "$base" "$out/results/results.jsonl" | tee "$out/compare.txt"
code=${PIPESTATUS[0]}
set -e
"$bin" report -o "$out/report" "$base" "$out/results/results.jsonl" || log "report failed (compare's verdict stands)"
log "compare exited $code; output in $out/compare.txt, report in $out/report"
exit "$code"
