#!/bin/bash
# Seed corpora of the fuzzers: small valid files from the project's own
# builder, so that fuzz_db starts from real structure, and a few inputs of
# the other two.  seeds.sh MKDB OUTDIR
set -eu
mkdb=$1 out=$2
rm -rf "$out"
mkdir -p "$out/db" "$out/parse" "$out/build"

# B+-trees: a lone root leaf, depth 2..4 in 512-byte nodes, 1 and 4 KiB
# nodes, scattered; hashes: empty, overflow chains, several bucket blocks
db() { "$mkdb" "$@" > /dev/null; }
db btree -n 20  -s 512  -f 31 --seed 1 "$out/db/btree-leaf"
db btree -n 40  -s 512  -f 8  --seed 2 "$out/db/btree-d2"
db btree -n 60  -s 512  -f 3  --seed 3 "$out/db/btree-d4"
db btree -n 60  -s 512  -f 4  --seed 4 --scatter "$out/db/btree-scatter"
db btree -n 100 -s 1024 -f 0  --seed 5 "$out/db/btree-1k"
db btree -n 300 -s 4096 -f 0  --seed 6 "$out/db/btree-4k"
db btree -n 0   -s 512        --seed 7 "$out/db/btree-empty"
db hash  -n 0   -s 512        --seed 8 "$out/db/hash-empty"
db hash  -n 60  -s 512  -f 3 -b 4  --seed 9 "$out/db/hash-chains"
db hash  -n 50  -s 512  -f 4 -b 70 --seed 10 --scatter "$out/db/hash-2bb"
db hash  -n 100 -s 1024 -f 0 -b 5  --seed 11 "$out/db/hash-1k"

# numbers as a user types them
i=0
for s in 0 7 1000 0x1f 0X7fffffffffffffff 017 18446744073709551615 \
	 12k 3M 1g -1 '' 0x 08 5kk; do
	printf '%s' "$s" > "$out/parse/$i"
	i=$((i + 1))
done

# options: u8 flags (1 hash, 2 scatter), u16 nkeys, u32 block size,
# u32 fanout, u16 buckets, u64 seed (fuzz_build.c)
opt() { printf "$1" > "$out/build/$2"; }
opt '\x00\x2c\x01\x00\x02\x00\x00\x03\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00' btree-300-f3
opt '\x02\xe8\x03\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00' btree-1000-4k-scatter
opt '\x01\xf4\x01\x00\x02\x00\x00\x04\x00\x00\x00\x0a\x00\x03\x00\x00\x00\x00\x00\x00\x00' hash-500-f4-b10
opt '\x03\x64\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00' hash-100-1k-scatter
