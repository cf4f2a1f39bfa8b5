#!/bin/bash
# Description: examples/chain-lookup answers like the pread(2) reader
# (bpfchain-lookup), line for line, on trees of depth 1 to 6, with and
# without O_DIRECT, in the driver tier and the generic tier (-g), for keys
# that are there and keys that are not; its -v counters say which tier read
# the blocks (on NVMe the driver, every hop; elsewhere, and with -g, the
# generic tier); -o loads an object by path; its exit codes (0 all found,
# 1 some missing, 2 usage, 3 error).
#   chain_lookup.sh PROGS_BUILD_DIR
set -u
progs=$1
example=$progs/examples/chain-lookup
mkdb=$progs/bpfchain-mkdb reader=$progs/bpfchain-lookup obj=$progs/btree_lookup.bpf.o
for f in "$example" "$mkdb" "$reader" "$obj"; do
	[ -e "$f" ] || { echo "Skipped: $f missing (make -C progs)"; exit 77; }
done
tmp=$(mktemp -d /tmp/progs-chain-lookup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A kernel without the opcode: skip, like the C tests.
"$mkdb" btree -n 200 -s 4096 "$tmp/probe.db" > /dev/null || exit 1
"$example" "$tmp/probe.db" 0 > /dev/null 2> "$tmp/err"
if grep -q 'IORING_OP_BPF_CHAIN' "$tmp/err"; then
	echo "Skipped: $(cat "$tmp/err")"; exit 77
fi
grep -q 'Operation not permitted' "$tmp/err" && { echo "Skipped: $(cat "$tmp/err")"; exit 77; }

# name|directory|lookup flags|mkdb arguments
cases=(
	"d1|/tmp||-n 200 -s 4096"
	"d2|/tmp||-n 60k -s 4096"
	"d4|/tmp||-n 100k -s 512 -f 24"
	"d6-scattered|/tmp||-n 100k -s 512 -f 8 --scatter"
	"d3-nvme-direct|/mnt/nvme|-d|-n 100k -s 4096 -f 64 --scatter"
	"d6-xfs-direct|/mnt/nvme-xfs|-d|-n 100k -s 512 -f 8"
	"d5-vblk|/mnt/vblk||-n 100k -s 512 -f 12"
)
for c in "${cases[@]}"; do
	IFS='|' read -r name dir flags args <<< "$c"
	counts=
	if [ ! -w "$dir" ]; then echo "$name: $dir not there, not tested"; continue; fi
	db=$(mktemp "$dir/progs-chain-lookup.XXXXXX")
	# shellcheck disable=SC2086
	"$mkdb" btree $args "$db" || { fail "$name: mkdb"; rm -f "$db"; continue; }
	keys=$("$mkdb" keys "$db" --every 997 --count 40; "$mkdb" keys "$db" --absent --count 10)
	for k in $keys; do "$reader" "$db" "$k"; done > "$tmp/want"
	hops=$(grep -o 'blocks=[0-9]*' "$tmp/want" | awk -F= '{ n += $2 } END { print n }')
	case $dir in /mnt/nvme*) on_nvme=1 ;; *) on_nvme=0 ;; esac
	for tier in driver generic; do
		tflag=; [ "$tier" = generic ] && tflag=-g
		# shellcheck disable=SC2086
		"$example" -v $tflag $flags "$db" $keys > "$tmp/got" 2> "$tmp/err"
		rc=$?
		[ "$rc" = 1 ] || fail "$name $tier: exit $rc with absent keys, want 1: $(cat "$tmp/err")"
		if ! cmp -s "$tmp/want" "$tmp/got"; then
			fail "$name $tier: answers differ from bpfchain-lookup"
			diff "$tmp/want" "$tmp/got" | head -10
		fi
		# chains=N hops=N driver=N generic=N errors=N
		read -r drv gen <<< "$(sed -n 's/.* driver=\([0-9]*\) generic=\([0-9]*\).*/\1 \2/p' "$tmp/err")"
		want_drv=0; [ "$tier" = driver ] && [ "$on_nvme" = 1 ] && want_drv=$hops
		[ "${drv:-x}" = "$want_drv" ] && [ "$((drv + gen))" = "$hops" ] ||
			fail "$name $tier: -v says driver=${drv:-?} generic=${gen:-?}, want driver=$want_drv of $hops hops"
		counts="$counts $tier $drv/$gen"
	done
	# shellcheck disable=SC2086
	"$example" $flags "$db" $("$mkdb" keys "$db" --count 3) > /dev/null ||
		fail "$name: exit $? with present keys, want 0"
	echo "$name: $(grep -c '^found' "$tmp/got") found, $(grep -c '^not-found' "$tmp/got") not found, as the reader says; driver/generic hops:$counts"
	rm -f "$db"
done

"$example" > /dev/null 2>&1; [ $? = 2 ] || fail "no arguments: want exit 2"
"$example" "$tmp/probe.db" 12z > /dev/null 2>&1; [ $? = 2 ] || fail "bad key: want exit 2"
"$example" /nonexistent 1 > /dev/null 2>&1; [ $? = 3 ] || fail "missing file: want exit 3"
"$example" -o /nonexistent.o "$tmp/probe.db" 1 > /dev/null 2>&1; [ $? = 3 ] ||
	fail "missing object: want exit 3"
# -o: the object by path, its first io_chain program, the same answers
k=$("$mkdb" keys "$tmp/probe.db" --count 1)
[ "$("$example" -o "$obj" "$tmp/probe.db" "$k")" = "$("$reader" "$tmp/probe.db" "$k")" ] ||
	fail "-o $obj: answer differs from bpfchain-lookup"
head -c 8192 /dev/zero > "$tmp/zero.db"
"$example" "$tmp/zero.db" 1 > /dev/null 2>&1; [ $? = 3 ] || fail "not a tree: want exit 3"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
