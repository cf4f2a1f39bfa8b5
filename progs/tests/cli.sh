#!/bin/bash
# bpfchain-mkdb and bpfchain-lookup from the command line.  $1 = build/progs.
set -u
out=$1
mkdb=$out/bpfchain-mkdb lookup=$out/bpfchain-lookup
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# build: the summary line, determinism of the bytes
line=$($mkdb btree -n 100k --node-size 512 --fanout 8 --seed 3 "$tmp/t") || bad "mkdb btree"
echo "$line"
[[ $line == *" depth=6 "* ]] || bad "100k keys, fanout 8: want depth=6"
[[ $line == *" file_size=$(stat -c %s "$tmp/t") "* ]] || bad "file_size not the file's"
$mkdb btree -n 100k -s 512 -f 8 --seed 3 "$tmp/t2" >/dev/null && cmp -s "$tmp/t" "$tmp/t2" ||
	bad "same seed, different bytes"
$mkdb btree -n 100k -s 512 -f 8 --seed 4 "$tmp/t2" >/dev/null && ! cmp -s "$tmp/t" "$tmp/t2" ||
	bad "other seed, same bytes"
$mkdb btree -n 10 -s 512 -f 40 "$tmp/x" 2>/dev/null && bad "fanout 40 in 512-byte nodes accepted"
$mkdb frob 2>/dev/null; [ $? = 2 ] || bad "unknown sub-command: want exit 2"

# keys from the file and from the seed agree; every 997th key is found with its value
cmp -s <($mkdb keys "$tmp/t" --every 997) <($mkdb keys --seed 3 -n 100k --every 997) ||
	bad "keys FILE and keys --seed differ"
n=0
while read -r key value; do
	got=$($lookup "$tmp/t" "$key") || { bad "key $key not found"; continue; }
	[[ $got == "found key=$key value=$value blocks=6" ]] || bad "lookup $key: $got"
	n=$((n + 1))
done < <($mkdb keys "$tmp/t" --every 997 --values)
[ "$n" -eq 101 ] || bad "looked up $n keys, want 101"
# absent keys: exit 1
for key in $($mkdb keys "$tmp/t" --absent --count 20); do
	$lookup "$tmp/t" "$key" > /dev/null; rc=$?
	[ $rc = 1 ] || bad "absent key $key: exit $rc"
done

# numbers: a digit first, nothing past 2^64 - 1 (found by fuzz_parse: " -1"
# was 2^64 - 1, "k" was 0, "18446744073709552k" wrapped)
for num in ' -1' k ' 5' +5 18446744073709552k 0x4000000000000000k; do
	$lookup "$tmp/t" "$num" > /dev/null 2>&1; rc=$?
	[ $rc = 2 ] || bad "key '$num': exit $rc, want 2 (usage)"
done
$mkdb btree -n k "$tmp/x" 2>/dev/null; [ $? = 2 ] || bad "mkdb -n k: want exit 2"
$lookup "$tmp/t" 18446744073709551k > /dev/null; [ $? = 1 ] || bad "key 18446744073709551k refused"

# range: the whole tree is every key, in order, in chunks of 56 (or 5)
$lookup "$tmp/t" range 0 0xffffffffffffffff > "$tmp/all" || bad "range"
tail -1 "$tmp/all" | grep -q '^count=100000 calls=1786 ' || bad "range summary: $(tail -1 "$tmp/all")"
$mkdb keys "$tmp/t" --values | sort | awk '{print $2}' > "$tmp/model"
head -n -1 "$tmp/all" | cmp -s - "$tmp/model" || bad "range values differ from the sorted keys'"
# a MAX past 2^32 is the default 56, not its low 32 bits
$lookup "$tmp/t" range 0 0xffffffffffffffff 4294967297 | tail -1 | grep -q '^count=100000 calls=1786 ' ||
	bad "range MAX 2^32 + 1"
lo=$(sed -n 500p <($mkdb keys "$tmp/t" | sort)) hi=$(sed -n 520p <($mkdb keys "$tmp/t" | sort))
$lookup "$tmp/t" range "$lo" "$hi" 5 | tail -1 | grep -q '^count=21 calls=5 ' || bad "range of 21 keys by 5"

# hash
line=$($mkdb hash -n 50k --block-size 512 --buckets 1000 --seed 8 "$tmp/h") || bad "mkdb hash"
echo "$line"
for key in $($mkdb keys "$tmp/h" --every 4999); do
	$lookup "$tmp/h" hash "$key" | grep -q '^found ' || bad "hash key $key not found"
	$lookup "$tmp/h" "$key" | grep -q '^found ' || bad "hash key $key not found (auto)"
done
$lookup "$tmp/h" hash "$($mkdb keys "$tmp/h" --absent --count 1)" >/dev/null; [ $? = 1 ] ||
	bad "absent hash key"
$lookup "$tmp/h" info | grep -q '^hash .* buckets=1000 ' || bad "hash info"

# corruption: exit 3 with the errno's name
printf 'garbage!' | dd of="$tmp/t" conv=notrunc status=none
$lookup "$tmp/t" 1 2> "$tmp/err"; rc=$?
[ $rc = 3 ] && grep -q EBADMSG "$tmp/err" || bad "bad superblock magic: exit $rc, $(cat "$tmp/err")"

[ $fail = 0 ] && echo "cli: pass"
exit $fail
