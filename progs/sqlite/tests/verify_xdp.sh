#!/bin/bash
# The SQLite programs' walks through the host kernel's verifier as XDP
# programs (verify_xdp.bpf.c): each must load, and the verifier's count of
# processed instructions is printed.  Skips (77) when the host cannot load
# XDP programs (no CAP_BPF/CAP_NET_ADMIN).  $1 = build/progs/sqlite.
set -u
out=$1
obj=$out/verify_xdp.bpf.o
[ -f "$obj" ] || { echo "FAIL: $obj missing (make -C progs/sqlite)"; exit 1; }
pin=/sys/fs/bpf/bpfchain-sqlite-verify.$$
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; rm -rf "$pin"' EXIT
if ! bpftool -d prog loadall "$obj" "$pin" type xdp > "$tmp/log" 2>&1; then
	if grep -qE 'Operation not permitted|permission' "$tmp/log"; then
		echo "Skipped: cannot load XDP programs here: $(grep -m1 -E 'not permitted|permission' "$tmp/log")"
		exit 77
	fi
	grep -E 'processed|too large|invalid|R[0-9]+ |libbpf:' "$tmp/log" | tail -30
	echo "FAIL: the verifier refused a walk"
	exit 1
fi
grep -E '^processed [0-9]+ insns' "$tmp/log" | sed 's/^/verifier: /'
echo "verify-xdp: pass"
