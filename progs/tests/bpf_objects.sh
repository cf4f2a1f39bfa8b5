#!/bin/bash
# The BPF objects: eBPF ELF, one program in section io_chain, a license,
# no helper calls or maps, and the sources build with -Werror.  $1 = build/progs.
set -u
out=$1
progs=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
command -v llvm-objdump >/dev/null || PATH=$PATH:$(ls -d /usr/lib/llvm-*/bin 2>/dev/null | tail -1)
for p in btree_lookup btree_range hash_lookup; do
	o=$out/$p.bpf.o
	[ -f "$o" ] || { bad "$o missing"; continue; }
	readelf -h "$o" | grep -q 'Machine:.*BPF' || bad "$p: not an eBPF object"
	readelf -S -W "$o" | grep -q ' io_chain ' || bad "$p: no io_chain section"
	readelf -S -W "$o" | grep -q ' license ' || bad "$p: no license section"
	readelf -S -W "$o" | grep -Eq ' (maps|\.maps) ' && bad "$p: has maps"
	readelf -s -W "$o" | grep -q " FUNC .* bpfchain_$p\$" || bad "$p: no function bpfchain_$p"
	if command -v llvm-objdump >/dev/null; then
		llvm-objdump -d --section=io_chain "$o" > "$tmp/$p.dis" || bad "$p: objdump"
		grep -Eq '\scall\s' "$tmp/$p.dis" && bad "$p: calls a helper or function"
		echo "$p: $(grep -cE '^\s+[0-9]+:' "$tmp/$p.dis") instructions"
	fi
	clang -target bpf -O2 -g -Wall -Wextra -Werror -I/usr/include/x86_64-linux-gnu \
		-I"$progs/../include" -I"$progs" -c "$progs/$p.bpf.c" -o "$tmp/$p.o" ||
		bad "$p: warnings"
done
[ $fail = 0 ] && echo "bpf-objects: pass"
exit $fail
