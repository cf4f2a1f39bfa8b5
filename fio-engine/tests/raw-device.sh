#!/bin/bash
# Guest test: a tree written to a raw block device works in one engine
# mode, its size the device's (BLKGETSIZE64), not st_size (0).
#   raw-device.sh DEVICE MODE
# DEVICE: partition (nvme0n1p3, rig/vm-run's raw partition) or namespace
# (the whole namespace of the bpfchain-faults controller); MODE: chain,
# chain-generic, user (bpf_chain.so) or psync (bpf_chain_psync.so).  A
# depth-5 tree (20k keys, 512-byte nodes) is written at offset 0, then 1000
# lookups run with verify_lookups=1.  Exit 0 pass, 1 fail, 77 skip.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/.." && pwd)
which=$1 mode=$2
engines=${BC_ENGINE_DIR:-$top/build/fio-engine}
n=1000

case $which in
partition)	dev=/dev/nvme0n1p3;;
namespace)	dev=
		for c in /sys/class/nvme/nvme*; do
			[ "$(tr -d ' ' < "$c/serial" 2>/dev/null)" = bpfchain-faults ] &&
				dev=/dev/$(basename "$c")n1
		done;;
*)		echo "FAIL: unknown device $which"; exit 1;;
esac
[ -n "$dev" ] && [ -b "$dev" ] || { echo "SKIP: no raw $which here (run in the guest: rig/vm-run)"; exit 77; }
grep -q "^$dev " /proc/mounts && { echo "FAIL: $dev is mounted"; exit 1; }
case $mode in
psync)	eng=(--ioengine=external:"$engines/bpf_chain_psync.so");;
*)	eng=(--ioengine=external:"$engines/bpf_chain.so" --mode="$mode");;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$top/build/progs/bpfchain-mkdb" btree -n 20k -s 512 -f 8 "$work/t.db" || exit 1
size=$(stat -c %s "$work/t.db")
[ "$size" -le "$(blockdev --getsize64 "$dev")" ] || { echo "FAIL: the tree ($size bytes) does not fit $dev"; exit 1; }
dd if="$work/t.db" of="$dev" bs=1M oflag=direct conv=fsync status=none || { echo "FAIL: writing $dev"; exit 1; }

fio --name=raw --filename="$dev" --rw=randread --bs=512 --io_size=$((n * 512)) --direct=1 \
	--norandommap --iodepth=4 "${eng[@]}" --verify_lookups=1 \
	--output-format=json --output="$work/out.json" 2> "$work/err"
rc=$?
cat "$work/err"
if grep -q "has no IORING_OP_BPF_CHAIN" "$work/err"; then
	echo "SKIP: the running kernel has no IORING_OP_BPF_CHAIN"; exit 77
fi
err=$(jq -r '.jobs[0].error' "$work/out.json" 2>/dev/null)
ios=$(jq -r '.jobs[0].read.total_ios' "$work/out.json" 2>/dev/null)
if [ $rc != 0 ] || [ "$err" != 0 ] || [ "$ios" != $n ]; then
	echo "FAIL: $mode on $dev: fio exit $rc, error=$err, $ios lookups (want 0, 0, $n)"; exit 1
fi
echo "PASS: $mode on raw $which $dev ($(blockdev --getsize64 "$dev") bytes): $n lookups verified against the pread reader"
