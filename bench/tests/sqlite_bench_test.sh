#!/bin/bash
# sqlite-bench on the host, on a small database from bench/sqlite/mkdb.sh:
# the SQLite library and the user-space traversal (the rowid program's C
# source under progs' chain emulator, with 0 to 2 levels cached) each give
# one CSV row whose checked lookups all equal sqlite3's; a checked row
# changed on purpose (SQLITE_BENCH_CORRUPT) makes it exit 1.  The chain
# modes need the bpfchain kernel: make bench-sqlite runs them in the guest.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/build/bench-sqlite}/sqlite-bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad() { echo "FAIL: $*"; status=1; }
status=0
"$top/bench/sqlite/mkdb.sh" "$tmp/t.db" 20000 2>/dev/null || { echo "FAIL: mkdb.sh"; exit 1; }
[ "$("$bin" -H | cut -d, -f1,6,16)" = "mode,lookups_per_s,id" ] || bad "header"
for args in "-m sqlite" "-m pread" "-m pread -c 1" "-m pread -c 2"; do
	row=$("$bin" $args -w 0.1 -t 0.4 -k 3 -i 7 "$tmp/t.db" t 2>"$tmp/err") || bad "$args: exit $?: $(cat "$tmp/err")"
	IFS=, read -r mode cache inflight lookups _ lps _ _ _ _ _ _ pages found checked id <<< "$row"
	[ "$lookups" -gt 0 ] && [ "$found" = "$lookups" ] && [ "$checked" -gt 0 ] && [ "$id" = 7 ] ||
		bad "$args: row $row"
	grep -q "$checked of $checked checked lookups equal to sqlite3's" "$tmp/err" || bad "$args: $(cat "$tmp/err")"
	# 20,000 rows of about 84 bytes: a root over 400-odd leaves, 2 pages a lookup
	case "$args" in
	"-m pread") [ "$pages" = 2.000 ] || bad "$args: $pages pages per lookup, want 2";;
	*-c*) [ "$pages" = 1.000 ] || bad "$args: $pages pages per lookup, want 1";;
	esac
done
SQLITE_BENCH_CORRUPT=1 "$bin" -m pread -w 0 -t 0.2 "$tmp/t.db" t >/dev/null 2>"$tmp/err"
rc=$?
[ $rc = 1 ] && grep -q "not sqlite3's row" "$tmp/err" || bad "a changed row: exit $rc, $(cat "$tmp/err")"
"$bin" -m chain -c 1 -q 100 "$tmp/t.db" t >/dev/null 2>&1
[ $? = 2 ] || bad "-q 100 accepted"
[ $status = 0 ] && echo "sqlite-bench: ok"
exit $status
