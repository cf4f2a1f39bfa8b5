#!/bin/bash
# The SQLite programs' walks through the host kernel's verifier as XDP
# programs (verify_xdp.bpf.c, loaded one by one by verify-load): each must
# load; the verifier's processed-instruction count is printed (the limit is
# 1000000).  Skips (77) when the host may not load BPF programs.
#   verify_xdp.sh BUILD_PROGS_SQLITE_DIR
set -u
out=$1
for p in verify_rowid verify_index_int verify_index_text verify_range; do
	"$out/verify-load" "$out/verify_xdp.bpf.o" $p > /tmp/verify-$$.log 2>&1
	rc=$?
	grep -E '^processed' /tmp/verify-$$.log | sed "s/^/$p: /"
	tail -1 /tmp/verify-$$.log
	[ $rc = 77 ] && { echo "Skipped: no permission to load BPF programs"; rm -f /tmp/verify-$$.log; exit 77; }
	[ $rc = 0 ] || { tail -20 /tmp/verify-$$.log; echo "FAIL: $p"; rm -f /tmp/verify-$$.log; exit 1; }
done
rm -f /tmp/verify-$$.log
echo "verify-xdp: pass"
