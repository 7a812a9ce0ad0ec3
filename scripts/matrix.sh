#!/usr/bin/env bash
# matrix.sh: run the suite on every machine of the kernel matrix and render
# one merged report.
#
#   scripts/matrix.sh                          # every machine in the Vagrantfile
#   scripts/matrix.sh ubuntu1804 debian12      # some of them
#   scripts/matrix.sh --ssh root@vm1 --ssh root@vm2   # any VMs reachable by ssh
#
# Vagrant machines are brought up (provisioned on first boot), benchmarked
# with scripts/bench.sh, and halted. With --ssh the tree is copied to each
# host, provision.sh and bench.sh run there as root, and results come back
# with tar over the same ssh connection. Either way results land in
# results/<machine>/ and the report in results/report/.
#
# Environment:
#   UB_PROVIDER    vagrant provider (default: libvirt if vagrant-libvirt is installed, else virtualbox)
#   UB_BENCH_ARGS  passed to bench.sh (extra `unionbench run` arguments)
#   UB_DESTROY     1: destroy each Vagrant machine after its run instead of halting it
#   UB_UNIONBENCH  a unionbench binary for the report (default: built from this tree)
#
# Exit status: 1 if any machine failed (the report still covers the others).
set -euo pipefail

log() { printf 'matrix: %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
results=$root/results
cd "$root"

hosts=()
machines=()
while [ $# -gt 0 ]; do
	case $1 in
	--ssh)
		[ $# -ge 2 ] || die "--ssh wants a host"
		hosts+=("$2")
		shift 2
		;;
	-h | --help)
		sed -n '2,24s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	-*) die "unknown option $1" ;;
	*)
		machines+=("$1")
		shift
		;;
	esac
done

failed=()

run_vagrant() {
	command -v vagrant >/dev/null || die "vagrant not installed (or use --ssh HOST)"
	local provider=${UB_PROVIDER:-}
	if [ -z "$provider" ]; then
		if vagrant plugin list 2>/dev/null | grep -q vagrant-libvirt; then
			provider=libvirt
		else
			provider=virtualbox
		fi
	fi
	if [ ${#machines[@]} -eq 0 ]; then
		mapfile -t machines < <(vagrant status --machine-readable | awk -F, '$3 == "metadata" && $4 == "provider" { print $2 }')
	fi
	[ ${#machines[@]} -gt 0 ] || die "no machines in the Vagrantfile"
	mkdir -p "$results"
	local m
	for m in "${machines[@]}"; do
		log "$m: up ($provider)"
		if ! vagrant up "$m" --provider="$provider"; then
			failed+=("$m (vagrant up)")
			continue
		fi
		# The tree may have changed since the machine was made.
		vagrant rsync "$m" >/dev/null 2>&1 || true
		if ! UB_BENCH_ARGS=${UB_BENCH_ARGS:-} vagrant provision "$m" --provision-with bench; then
			failed+=("$m (bench)")
		fi
		# The synced folder normally brought the results already; fetch
		# them over ssh where the provider synced one way only.
		if [ ! -d "$results/$m" ]; then
			vagrant ssh "$m" -c "sudo tar -C /unionbench-results -cf - $m" </dev/null | tar -C "$results" -xf - ||
				failed+=("$m (fetching results)")
		fi
		if [ "${UB_DESTROY:-0}" = 1 ]; then
			vagrant destroy -f "$m"
		else
			vagrant halt "$m"
		fi
	done
}

run_ssh() {
	mkdir -p "$results"
	local h name
	for h in "${hosts[@]}"; do
		name=${h#*@}
		name=${name%%:*}
		log "$name: copying the tree to $h"
		if ! tar -C "$root" --exclude=./.git --exclude=./results --exclude=./unionbench -cf - . |
			ssh "$h" 'rm -rf /var/tmp/unionbench-src && mkdir -p /var/tmp/unionbench-src && tar -C /var/tmp/unionbench-src -xf -'; then
			failed+=("$name (copy)")
			continue
		fi
		# shellcheck disable=SC2029 # expanded here on purpose: the remote side gets the values
		if ! ssh "$h" "sudo UB_SRC=/var/tmp/unionbench-src /var/tmp/unionbench-src/scripts/provision.sh &&
			sudo UB_SRC=/var/tmp/unionbench-src UB_MACHINE=$name UB_RESULTS=/var/tmp/unionbench-results UB_BENCH_ARGS='${UB_BENCH_ARGS:-}' /var/tmp/unionbench-src/scripts/bench.sh"; then
			failed+=("$name (bench)")
		fi
		# shellcheck disable=SC2029
		ssh "$h" "sudo tar -C /var/tmp/unionbench-results -cf - $name" | tar -C "$results" -xf - ||
			failed+=("$name (fetching results)")
	done
}

if [ ${#hosts[@]} -gt 0 ]; then
	[ ${#machines[@]} -eq 0 ] || die "give Vagrant machines or --ssh hosts, not both"
	run_ssh
else
	run_vagrant
fi

bin=${UB_UNIONBENCH:-}
if [ -z "$bin" ]; then
	bin=$(mktemp -d)/unionbench
	trap 'rm -rf "$(dirname "$bin")"' EXIT
	(cd "$root" && CGO_ENABLED=0 go build -o "$bin" ./cmd/unionbench)
fi
files=()
for f in "$results"/*/quirks/results.jsonl "$results"/*/run/results.jsonl; do
	[ -s "$f" ] && files+=("$f")
done
if [ ${#files[@]} -gt 0 ]; then
	"$bin" report -o "$results/report" "${files[@]}" || failed+=("report")
else
	log "no results to report"
fi
if [ ${#failed[@]} -gt 0 ]; then
	log "failed: ${failed[*]}"
	exit 1
fi
log "report: $results/report/report.html"
