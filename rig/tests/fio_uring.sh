#!/bin/bash
# Rig check: fio runs in the guest with ioengine=io_uring, O_DIRECT, on the
# NVMe disk, interrupt-driven and (with hipri) on a poll queue.
dir=${1:-/mnt/nvme}
fail=0
for hipri in 0 1; do
	extra=()
	[ "$hipri" = 1 ] && extra=(--hipri)
	json=$(fio --name=smoke --filename="$dir/fio-smoke.dat" --size=16M \
		--ioengine=io_uring --direct=1 --rw=randread --bs=4k --iodepth=4 \
		"${extra[@]}" --io_size=4M --output-format=json 2>&1)
	err=$(echo "$json" | jq -r '.jobs[0].error' 2>/dev/null)
	ios=$(echo "$json" | jq -r '.jobs[0].read.total_ios' 2>/dev/null)
	if [ "$err" = 0 ] && [ "${ios:-0}" -eq 1024 ]; then
		echo "ok: fio io_uring hipri=$hipri: $ios reads, err=0, $(echo "$json" | jq -r '.jobs[0].read.iops | floor') IOPS"
	else
		echo "FAIL: fio io_uring hipri=$hipri: err=$err total_ios=$ios"
		echo "$json" | tail -20; fail=1
	fi
done
rm -f "$dir/fio-smoke.dat"
exit $fail
