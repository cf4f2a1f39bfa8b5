#!/bin/bash
# Description: examples/lookup answers like the pread(2) reader of progs/
# (bpfchain-lookup), line for line, on trees of depth 1 to 6, with and
# without O_DIRECT, for keys that are there and keys that are not; its
# exit codes (0 all found, 1 some missing, 2 usage, 3 error).
#   example-lookup.sh EXAMPLE PROGS_BUILD_DIR
set -u
example=$1 progs=$2
mkdb=$progs/bpfchain-mkdb reader=$progs/bpfchain-lookup obj=$progs/btree_lookup.bpf.o
for f in "$example" "$mkdb" "$reader" "$obj"; do
	[ -e "$f" ] || { echo "Skipped: $f missing (make -C progs; make -C liburing-ext)"; exit 77; }
done
tmp=$(mktemp -d /tmp/liburing-ext-example.XXXXXX)
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
	if [ ! -w "$dir" ]; then echo "$name: $dir not there, not tested"; continue; fi
	db=$(mktemp "$dir/liburing-ext-example.XXXXXX")
	# shellcheck disable=SC2086
	"$mkdb" btree $args "$db" || { fail "$name: mkdb"; rm -f "$db"; continue; }
	keys=$("$mkdb" keys "$db" --every 997 --count 40; "$mkdb" keys "$db" --absent --count 10)
	# shellcheck disable=SC2086
	"$example" $flags "$db" $keys > "$tmp/got" 2> "$tmp/err"
	rc=$?
	[ "$rc" = 1 ] || fail "$name: exit $rc with absent keys, want 1: $(cat "$tmp/err")"
	for k in $keys; do "$reader" "$db" "$k"; done > "$tmp/want"
	if ! cmp -s "$tmp/want" "$tmp/got"; then
		fail "$name: answers differ from bpfchain-lookup"
		diff "$tmp/want" "$tmp/got" | head -10
	fi
	# shellcheck disable=SC2086
	"$example" $flags "$db" $("$mkdb" keys "$db" --count 3) > /dev/null ||
		fail "$name: exit $? with present keys, want 0"
	echo "$name: $(grep -c '^found' "$tmp/got") found, $(grep -c '^not-found' "$tmp/got") not found, as the reader says"
	rm -f "$db"
done

"$example" > /dev/null 2>&1; [ $? = 2 ] || fail "no arguments: want exit 2"
"$example" "$tmp/probe.db" 12z > /dev/null 2>&1; [ $? = 2 ] || fail "bad key: want exit 2"
"$example" /nonexistent 1 > /dev/null 2>&1; [ $? = 3 ] || fail "missing file: want exit 3"
"$example" -o /nonexistent.o "$tmp/probe.db" 1 > /dev/null 2>&1; [ $? = 3 ] ||
	fail "missing object: want exit 3"
head -c 8192 /dev/zero > "$tmp/zero.db"
"$example" "$tmp/zero.db" 1 > /dev/null 2>&1; [ $? = 3 ] || fail "not a tree: want exit 3"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
