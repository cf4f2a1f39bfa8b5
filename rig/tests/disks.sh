#!/bin/bash
# Rig check: the guest has the CPUs it was given, and sees the NVMe disk
# (ext4 + xfs partitions and a raw one, the requested poll queues), the virtio-blk
# disk, mounted where tests expect, and the second NVMe controller kept for
# fault injection, the 4096-byte-LBA namespace, the zoned one, the one with
# metadata and protection information, the small-MDTS controller and the
# namespace the two controllers of one subsystem share.
fail=0
want() {
	if grep -q "^$1 $2 $3 " /proc/mounts; then
		echo "ok: $1 is $3 on $2"
	else
		echo "FAIL: $1 is not $3 on $2"; fail=1
	fi
}
want /dev/nvme0n1p1 /mnt/nvme ext4
want /dev/nvme0n1p2 /mnt/nvme-xfs xfs
want /dev/vda /mnt/vblk ext4
if [ -b /dev/nvme0n1p3 ] && ! grep -q "^/dev/nvme0n1p3 " /proc/mounts; then
	echo "ok: /dev/nvme0n1p3 is a raw partition"
else
	echo "FAIL: /dev/nvme0n1p3 is missing or mounted"; fail=1
fi
# Controllers probe in parallel: their numbers are not the command line's order.
ctrls() {
	local c
	for c in /sys/class/nvme/nvme*; do
		[ "$(tr -d ' ' < "$c/serial" 2>/dev/null)" = "$1" ] && echo "${c##*/}"
	done | sort -V
}
f=$(ctrls bpfchain-faults)
if [ -n "$f" ] && [ -b "/dev/${f}n1" ] && ! grep -q "^/dev/${f}n1" /proc/mounts; then
	echo "ok: ${f}n1 is the unmounted fault-injection disk"
else
	echo "FAIL: no bpfchain-faults controller, or its namespace is missing or in use"; fail=1
fi
want "$(readlink -f /dev/bpfchain-4k-raw | sed 's/p2$/p1/')" /mnt/nvme-4k ext4
lbs() { cat "/sys/class/block/$(basename "$(readlink -f "$1")")/queue/logical_block_size" 2>/dev/null ||
	cat "/sys/class/block/$(basename "$(readlink -f "$1")" | sed 's/p[0-9]*$//')/queue/logical_block_size"; }
if [ -b /dev/bpfchain-4k-raw ] && [ "$(lbs /dev/bpfchain-4k-raw)" = 4096 ]; then
	echo "ok: /dev/bpfchain-4k-raw is a partition with 4096-byte LBAs"
else
	echo "FAIL: no raw partition with 4096-byte LBAs at /dev/bpfchain-4k-raw"; fail=1
fi
z=$(basename "$(readlink -f /dev/bpfchain-zoned)")
if [ "$(cat "/sys/block/$z/queue/zoned" 2>/dev/null)" = host-managed ] &&
   [ "$(cat "/sys/block/$z/queue/chunk_sectors")" = 2048 ]; then
	echo "ok: /dev/bpfchain-zoned is host-managed with 1 MiB zones"
else
	echo "FAIL: /dev/bpfchain-zoned is not a zoned namespace of 1 MiB zones"; fail=1
fi
disk() { basename "$(readlink -f "$1")"; }
attr() { cat "/sys/class/block/$(disk "$1")/$2" 2>/dev/null; }
if [ -b /dev/bpfchain-pi ] && [ "$(attr /dev/bpfchain-pi metadata_bytes)" = 8 ] &&
   [ "$(attr /dev/bpfchain-pi size)" -gt 0 ]; then
	# without CONFIG_BLK_DEV_INTEGRITY there is no profile: the
	# controller adds and strips PI itself
	echo "ok: /dev/bpfchain-pi has 8 bytes of metadata per LBA, integrity profile" \
		"$(attr /dev/bpfchain-pi integrity/format || echo "none (no BLK_DEV_INTEGRITY)")"
else
	echo "FAIL: /dev/bpfchain-pi is not a namespace with 8 bytes of metadata, or is empty"; fail=1
fi
if [ -b /dev/bpfchain-mdts ] && [ "$(attr /dev/bpfchain-mdts queue/max_hw_sectors_kb)" = 8 ]; then
	echo "ok: /dev/bpfchain-mdts transfers at most 8 KiB per command"
else
	echo "FAIL: /dev/bpfchain-mdts is not a namespace of an 8 KiB MDTS controller"; fail=1
fi
mp=($(ctrls bpfchain-mp))
if [ "${#mp[@]}" = 2 ] && [ -b /dev/bpfchain-mp ]; then
	# a head is a disk of the subsystem, a path or namespace one of a controller
	sub=$(readlink -f "/sys/class/block/$(disk /dev/bpfchain-mp)/device")
	if [[ ${sub##*/} == nvme-subsys* ]] &&
	   [ "$(tr -d ' ' < "$sub/serial")" = bpfchain-mp ]; then
		echo "ok: /dev/bpfchain-mp is the multipath head of ${sub##*/} over ${mp[*]}"
	elif [ ! -e /sys/module/nvme_core/parameters/multipath ] &&
	     [ "$(disk /dev/bpfchain-mp)" = "${mp[0]}n1" ]; then
		echo "ok: /dev/bpfchain-mp is ${mp[0]}'s namespace (no NVME_MULTIPATH), shared with ${mp[1]}"
	else
		echo "FAIL: /dev/bpfchain-mp is $(disk /dev/bpfchain-mp), not the multipath head"; fail=1
	fi
else
	echo "FAIL: want /dev/bpfchain-mp and two bpfchain-mp controllers, found ${mp[*]}"; fail=1
fi
start=$(cat /sys/block/nvme0n1/nvme0n1p1/start)
[ "$start" = 2048 ] && echo "ok: nvme0n1p1 starts at sector 2048" ||
	{ echo "FAIL: nvme0n1p1 starts at $start"; fail=1; }
if [ -n "${BPFCHAIN_CPUS:-}" ]; then
	if [ "$(nproc)" = "$BPFCHAIN_CPUS" ]; then
		echo "ok: the guest runs on the $BPFCHAIN_CPUS CPUs it was given"
	else
		echo "FAIL: the guest has $(nproc) CPUs, vm-run gave it $BPFCHAIN_CPUS"; fail=1
	fi
fi
pq=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^nvme.poll_queues=//p')
if [ -n "$pq" ] && [ "$pq" -gt 0 ]; then
	if dmesg | grep -q "nvme0: [0-9]*/[0-9]*/$pq default/read/poll queues"; then
		echo "ok: nvme0 has $pq poll queue(s)"
	else
		echo "FAIL: nvme0 did not report $pq poll queue(s):"; dmesg | grep nvme0; fail=1
	fi
fi
exit $fail
