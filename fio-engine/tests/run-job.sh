#!/bin/bash
# Guest test: run one job file of fio-engine/jobs, short, with every answer
# checked against the pread reader.
#   run-job.sh JOB.fio
# Every section gets, appended (so they win): verify_lookups=1, direct=1,
# no time limit, and io_size = BC_LOOKUPS (default 2000) x its bs;
# directory= becomes $BC_DIR (default /mnt/nvme; trees built there by
# mktrees.sh if missing).  Passes when fio exits 0 and every job has error 0 and exactly
# BC_LOOKUPS lookups.  Exit 0 pass, 1 fail, 77 skip (no mount, no bpfchain
# kernel for a chain job, no poll queues for a hipri job).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/.." && pwd)
job=$1
dir=${BC_DIR:-/mnt/nvme}
n=${BC_LOOKUPS:-2000}
export BC_ENGINE=${BC_ENGINE:-$top/build/fio-engine/bpf_chain.so}
export BC_ENGINE_PSYNC=${BC_ENGINE_PSYNC:-$top/build/fio-engine/bpf_chain_psync.so}
name=$(basename "$job" .fio)

for e in "$BC_ENGINE" "$BC_ENGINE_PSYNC"; do
	[ -f "$e" ] || { echo "FAIL: $e missing (make -C fio-engine)"; exit 1; }
done
if [ "$dir" = /mnt/nvme ] && ! mountpoint -q "$dir"; then
	echo "SKIP: $dir is not mounted (run in the guest: rig/vm-run)"; exit 77
fi
"$here/mktrees.sh" "$dir" >/dev/null || exit 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Append the overrides at the end of every section but [global].
awk -v n="$n" -v dir="$dir" '
function flush() {
	if (sec != "" && sec != "global") {
		b = (secbs != "") ? secbs : gbs
		if (b == "") b = 4096
		printf "verify_lookups=1\ndirect=1\ntime_based=0\nruntime=0\nramp_time=0\nio_size=%d\n", n * b
	}
}
/^\[.*\]/ { flush(); sec = substr($0, 2, length($0) - 2); secbs = ""; print; next }
/^bs=/ { v = substr($0, 4); if (sec == "global") gbs = v; else secbs = v }
/^directory=/ { print "directory=" dir; next }
{ print }
END { flush() }' "$job" > "$work/job.fio"

fio --output-format=json --output="$work/out.json" "$work/job.fio" 2> "$work/err"
rc=$?
cat "$work/err"
if grep -q "has no IORING_OP_BPF_CHAIN" "$work/err"; then
	echo "SKIP: the running kernel has no IORING_OP_BPF_CHAIN"; exit 77
fi
if grep -q "hipri" "$job" && grep -qi "io_uring_queue_init.*IOPOLL\|Operation not supported" "$work/err" &&
   [ "$(cat /sys/module/nvme/parameters/poll_queues 2>/dev/null || echo 0)" = 0 ]; then
	echo "SKIP: hipri needs NVMe poll queues"; exit 77
fi
if ! jq -e . "$work/out.json" >/dev/null 2>&1; then
	echo "FAIL: $name: fio exited $rc without JSON output"; exit 1
fi
jq -r '.jobs[] | "\(.jobname)\terror=\(.error)\tlookups=\(.read.total_ios)\tIOPS=\(.read.iops|floor)\tmean_lat_us=\(.read.lat_ns.mean/1000|floor)"' "$work/out.json"
bad=$(jq -r --argjson n "$n" '[.jobs[] | select(.error != 0 or .read.total_ios != $n)] | length' "$work/out.json")
jobs=$(jq -r '.jobs | length' "$work/out.json")
if [ "$rc" != 0 ] || [ "$bad" != 0 ] || [ "$jobs" = 0 ]; then
	echo "FAIL: $name: fio exit $rc, $bad of $jobs jobs with an error or not $n lookups"; exit 1
fi
echo "PASS: $name: $jobs jobs x $n lookups, error 0, verified against the pread reader"
