#!/bin/bash
# Description: the tools on trees written to raw block devices, whose
# st_size is 0 (they take the size with BLKGETSIZE64): the NVMe disk's raw
# partition (nvme0n1p3, 16 MiB) and the fault-injection controller's whole
# namespace (serial bpfchain-faults, 64 MiB; overwritten).  On each, a
# B+-tree and a hash table from bpfchain-mkdb; bpfchain-lookup (info,
# lookups, ranges, hash lookups) must answer on the device exactly as on a
# copy of the tree in a file, and examples/chain-lookup (with and without
# O_DIRECT) as bpfchain-lookup, its -v counters showing every hop in the
# driver tier, and none with -g.  A tree larger than the device is refused.
#   raw_devices.sh PROGS_BUILD_DIR
set -u
progs=$1
mkdb=$progs/bpfchain-mkdb reader=$progs/bpfchain-lookup example=$progs/examples/chain-lookup
for f in "$mkdb" "$reader" "$example"; do
	[ -x "$f" ] || { echo "Skipped: $f missing (make -C progs)"; exit 77; }
done
devs=()
[ -b /dev/nvme0n1p3 ] && devs+=(/dev/nvme0n1p3)
for c in /sys/class/nvme/nvme*; do
	[ -r "$c/serial" ] && [ "$(tr -d " " < "$c/serial")" = bpfchain-faults ] || continue
	ns=/dev/$(basename "$c")n1
	[ -b "$ns" ] && devs+=("$ns")
done
[ ${#devs[@]} = 2 ] || { echo "Skipped: want nvme0n1p3 and the bpfchain-faults namespace, found: ${devs[*]}"; exit 77; }
for d in "${devs[@]}"; do
	grep -q "^$d " /proc/mounts && { echo "FAIL: $d is mounted"; exit 1; }
done
tmp=$(mktemp -d /tmp/progs-raw.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# kind|mkdb arguments (with --seed, so the file copy is the same tree)
cases=(
	"btree|btree -n 100k -s 512 -f 8 --seed 7 --scatter"
	"btree|btree -n 60k -s 4096 --seed 8"
	"hash|hash -n 20000 -s 512 -f 4 -b 300 --seed 9 --scatter"
)
for dev in "${devs[@]}"; do
	size=$(blockdev --getsize64 "$dev")
	for c in "${cases[@]}"; do
		IFS='|' read -r kind args <<< "$c"
		name="$(basename "$dev") ${args%% --seed*}"
		# shellcheck disable=SC2086
		"$mkdb" $args "$dev" > "$tmp/mkdb.dev" || { fail "$name: mkdb on the device"; continue; }
		# shellcheck disable=SC2086
		"$mkdb" $args "$tmp/file.db" > "$tmp/mkdb.file" || { fail "$name: mkdb on a file"; continue; }
		cmp -s "$tmp/mkdb.dev" "$tmp/mkdb.file" || fail "$name: mkdb says $(cat "$tmp/mkdb.dev") on the device"
		bytes=$(stat -c %s "$tmp/file.db")
		cmp -s -n "$bytes" "$dev" "$tmp/file.db" || fail "$name: the device does not hold the tree"
		"$reader" "$dev" info > "$tmp/info" || fail "$name: bpfchain-lookup info on the device"
		keys=$("$mkdb" keys "$tmp/file.db" --every 331 --count 30; "$mkdb" keys "$tmp/file.db" --absent --count 10)
		n=0
		for f in "$dev" "$tmp/file.db"; do
			{
				for k in $keys; do "$reader" "$f" "$k"; echo "rc=$?"; done
				if [ "$kind" = btree ]; then
					# shellcheck disable=SC2086
					set -- $keys
					"$reader" "$f" range "$1" "$5" 20; echo "rc=$?"
					"$reader" "$f" range 0 0xffffffffffffffff 56 | head -3; echo "rc=$?"
				else
					for k in $keys; do "$reader" "$f" hash "$k"; echo "rc=$?"; done
				fi
			} > "$tmp/answers.$n" 2>&1
			n=$((n + 1))
		done
		if ! cmp -s "$tmp/answers.0" "$tmp/answers.1"; then
			fail "$name: bpfchain-lookup answers differently on the device"
			diff "$tmp/answers.1" "$tmp/answers.0" | head -6
		fi
		grep -q '^rc=[^01]' "$tmp/answers.0" && fail "$name: bpfchain-lookup failed on the device: $(grep -m1 -B1 '^rc=[^01]' "$tmp/answers.0")"
		line="$name: $(grep -c '^found' "$tmp/answers.0") found, $(grep -c '^not-found' "$tmp/answers.0") not found as on the file"
		if [ "$kind" = btree ]; then
			for k in $keys; do "$reader" "$dev" "$k"; done > "$tmp/want"
			hops=$(grep -o 'blocks=[0-9]*' "$tmp/want" | awk -F= '{ n += $2 } END { print n }')
			for flags in "" "-g" "-d" "-d -g"; do
				# shellcheck disable=SC2086
				"$example" -v $flags "$dev" $keys > "$tmp/got" 2> "$tmp/err"
				rc=$?
				[ "$rc" = 1 ] || fail "$name: chain-lookup $flags: exit $rc, want 1: $(cat "$tmp/err")"
				cmp -s "$tmp/want" "$tmp/got" || fail "$name: chain-lookup $flags answers differently"
				read -r drv gen <<< "$(sed -n 's/.* driver=\([0-9]*\) generic=\([0-9]*\).*/\1 \2/p' "$tmp/err")"
				want_drv=$hops; [[ $flags == *-g* ]] && want_drv=0
				[ "${drv:-x}" = "$want_drv" ] && [ "$((drv + gen))" = "$hops" ] ||
					fail "$name: chain-lookup -v $flags: driver=${drv:-?} generic=${gen:-?}, want driver=$want_drv of $hops"
				line="$line; chain-lookup ${flags:-(none)} driver/generic $drv/$gen"
			done
		fi
		echo "$line"
		rm -f "$tmp/file.db"
	done
	# a tree that does not fit: mkdb fails with ENOSPC, not silently (on
	# the small partition only: the image is built in memory first)
	[ "$size" -le $((32 << 20)) ] || continue
	if "$mkdb" btree -n $((size / 16)) -s 4096 "$dev" > /dev/null 2> "$tmp/err"; then
		fail "$(basename "$dev"): a tree larger than the device ($size bytes) was written"
	else
		grep -q 'No space left' "$tmp/err" || fail "$(basename "$dev"): too large a tree: $(cat "$tmp/err")"
	fi
done

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok: ${#devs[@]} raw devices, ${#cases[@]} trees each"
