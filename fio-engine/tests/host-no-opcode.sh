#!/bin/bash
# Host test: on a kernel without IORING_OP_BPF_CHAIN (the host's), mode=chain
# stops at init with one line; mode=user and the bpf_chain_psync engine
# still run, verified.
# Skips on the bpfchain kernel.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
so=$top/build/fio-engine/bpf_chain.so
psync=$top/build/fio-engine/bpf_chain_psync.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$top/build/progs/bpfchain-mkdb" btree -n 1000 -s 512 -f 8 "$work/t.db" >/dev/null || exit 1
common=(--name=h --filename="$work/t.db" --rw=randread --bs=512 --io_size=51200 --output-format=json --output="$work/out.json")
fio "${common[@]}" --ioengine=external:"$so" --mode=chain 2> "$work/err"
rc=$?
cat "$work/err"
if [ $rc = 0 ]; then echo "SKIP: this kernel has IORING_OP_BPF_CHAIN"; exit 77; fi
grep -q "io_uring_queue_init" "$work/err" && { echo "SKIP: io_uring is not available here"; exit 77; }
[ $rc -lt 128 ] || { echo "FAIL: fio died (exit $rc)"; exit 1; }
[ "$(grep -c '^bpf_chain: h: this kernel has no IORING_OP_BPF_CHAIN' "$work/err")" = 1 ] ||
	{ echo "FAIL: no one-line 'no IORING_OP_BPF_CHAIN' error"; exit 1; }
for m in "$so --mode=user" "$psync"; do
	set -- $m
	fio "${common[@]}" --ioengine=external:"$1" "${@:2}" --verify_lookups=1 2> "$work/err" || { cat "$work/err"; echo "FAIL: $m"; exit 1; }
	[ "$(jq -r '.jobs[0].error' "$work/out.json")" = 0 ] || { echo "FAIL: $m: error"; exit 1; }
	[ "$(jq -r '.jobs[0].read.total_ios' "$work/out.json")" = 100 ] || { echo "FAIL: $m: not 100 lookups"; exit 1; }
done
echo "PASS: mode=chain refused with one line, mode=user and bpf_chain_psync verified 100 lookups each"
