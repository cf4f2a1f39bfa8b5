#!/bin/bash
# Description: every refusal of bpfchain-sqlite, with its one-line message
# and documented exit code, on databases made here by the real sqlite3:
# not an SQLite database (4), a WAL database whose -wal file holds frames
# (5), page size 8192 (6), a WITHOUT ROWID table (7), an index collated
# NOCASE (8), no such table / index (9), UTF-16 text (10), and usage errors
# (2), generated columns, virtual tables, a TEXT key over 64 bytes (10).
# None of them needs the bpfchain kernel: they come before any chain.  Then
# the errors a chain itself ends with on a sound database, through the host
# build (bpfchain-sqlite-emu -T, the programs under progs' chain emulator):
# an INTEGER key meeting a REAL in the index (EDOM), a TEXT key the local
# bytes of spilled index entries cannot decide (EOVERFLOW), each finished
# in user space with sqlite3's answer.
#   refusals.sh BUILD_SQLITE_DIR
set -u
tool=$1/bpfchain-sqlite
[ -x "$tool" ] || { echo "FAIL: $tool missing (make -C sqlite)"; exit 1; }
command -v sqlite3 > /dev/null || { echo "Skipped: no sqlite3 (rig/deps.sh installs it)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sqlite-refusals.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0 n=0
# expect NAME EXIT REGEX -- ARGS...
expect() {
	local name=$1 want=$2 re=$3; shift 4
	n=$((n + 1))
	"$tool" "$@" > "$tmp/out" 2> "$tmp/err"
	local rc=$?
	if [ "$rc" != "$want" ] || ! grep -Eq "$re" "$tmp/err" || [ "$(wc -l < "$tmp/err")" != 1 ] ||
	   [ -s "$tmp/out" ]; then
		echo "FAIL: $name: exit $rc (want $want), stderr: $(cat "$tmp/err")"
		fails=$((fails + 1))
	else
		echo "ok: $name: exit $rc: $(cat "$tmp/err")"
	fi
}
s() { sqlite3 "$@" > /dev/null; }

s "$tmp/ok.db" "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT COLLATE NOCASE, c INT, d);
	CREATE INDEX t_b ON t(b); CREATE INDEX t_c ON t(c); CREATE INDEX t_cd ON t(c, d);
	CREATE INDEX t_c_desc ON t(c DESC); CREATE INDEX t_part ON t(c) WHERE c > 0;
	CREATE INDEX t_d ON t(d); CREATE INDEX t_expr ON t(c + 1);
	CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID; CREATE TABLE u(x);
	CREATE INDEX u_x ON u(x); CREATE VIEW v AS SELECT * FROM t;
	CREATE TABLE u2(s TEXT); CREATE INDEX u2_s ON u2(s);
	CREATE TABLE g(a INT, b INT GENERATED ALWAYS AS (a + 1));
	CREATE VIRTUAL TABLE rt USING rtree(id, x0, x1);
	INSERT INTO t VALUES (1, 'a', 1, 1);"
printf 'not a database, just text long enough to be longer than one hundred bytes ..........................\n' > "$tmp/text.db"
: > "$tmp/short.db"
s "$tmp/big.db" "PRAGMA page_size = 8192; CREATE TABLE t(a); INSERT INTO t VALUES (1);"
s "$tmp/utf16.db" "PRAGMA encoding = 'UTF-16le'; CREATE TABLE t(a); INSERT INTO t VALUES ('x');"
# a WAL database whose -wal file keeps its frames: a second connection
# holds a read transaction open, so the first cannot checkpoint on close
s "$tmp/wal.db" "PRAGMA journal_mode = WAL; CREATE TABLE t(a);"
( sqlite3 "$tmp/wal.db" "BEGIN; SELECT count(*) FROM t;" ".shell sleep 3" > /dev/null & )
sleep 1
s "$tmp/wal.db" "PRAGMA wal_autocheckpoint = 0; INSERT INTO t VALUES (1);"
cp "$tmp/wal.db" "$tmp/wal2.db"; cp "$tmp/wal.db-wal" "$tmp/wal2.db-wal" 2> /dev/null
[ -s "$tmp/wal2.db-wal" ] || { echo "FAIL: could not make a -wal file with frames"; fails=$((fails + 1)); }
s "$tmp/walempty.db" "PRAGMA journal_mode = WAL; CREATE TABLE t(a); INSERT INTO t VALUES (7);"

expect not-a-database 4 'not an SQLite database' -- "$tmp/text.db" t 1
expect empty-file 4 'not an SQLite database' -- "$tmp/short.db" t 1
expect missing-file 3 'No such file' -- "$tmp/nope.db" t 1
expect wal-frames 5 'WAL mode and .* holds frames' -- "$tmp/wal2.db" t 1
expect page-size-8192 6 'page size 8192: chains read at most 4096 bytes per hop' -- "$tmp/big.db" t 1
expect without-rowid 7 'w: a WITHOUT ROWID table' -- "$tmp/ok.db" w 1
expect nocase-index 8 't_b: an index column collated other than BINARY' -- "$tmp/ok.db" t --index t_b a
expect no-table 9 'nope: no such table or index' -- "$tmp/ok.db" nope 1
expect no-index 9 'nope: no such table or index' -- "$tmp/ok.db" t --index nope 1
expect index-of-other-table 9 'u_x: no such table or index' -- "$tmp/ok.db" t --index u_x 1
expect view 10 'v: not supported' -- "$tmp/ok.db" v 1
expect two-column-index 10 't_cd: not supported' -- "$tmp/ok.db" t --index t_cd 1
expect desc-index 10 't_c_desc: not supported' -- "$tmp/ok.db" t --index t_c_desc 1
expect partial-index 10 't_part: not supported' -- "$tmp/ok.db" t --index t_part 1
expect expression-index 10 't_expr: not supported' -- "$tmp/ok.db" t --index t_expr 1
expect blob-affinity-index 10 't_d: not supported' -- "$tmp/ok.db" t --index t_d 1
expect utf16 10 'UTF-16' -- "$tmp/utf16.db" t 1
expect generated-column 10 'g: not supported' -- "$tmp/ok.db" g 1
expect virtual-table 10 'rt: not supported' -- "$tmp/ok.db" rt 1
expect text-key-too-long 10 '^bpfchain-sqlite: 0{65}: a TEXT key longer than 64 bytes: not supported$' -- "$tmp/ok.db" u2 --index u2_s "$(printf "%065d" 0)"
expect usage-no-key 2 'usage' -- "$tmp/ok.db" t
expect usage-bad-rowid 2 'not an integer' -- "$tmp/ok.db" t 12x
expect usage-bad-int-key 2 'not an integer' -- "$tmp/ok.db" t --index t_c abc
expect usage-odd-range 2 'usage' -- "$tmp/ok.db" t --range 1
expect usage-range-lo-hi 2 'LO > HI' -- "$tmp/ok.db" t --range 5 1
expect usage-option 2 'usage' -- -x "$tmp/ok.db" t 1
expect usage-cache-levels 2 'usage' -- -c 21 "$tmp/ok.db" t 1
expect usage-cache-not-a-number 2 'usage' -- -c x "$tmp/ok.db" t 1
expect usage-depth-0 2 'usage' -- -q 0 "$tmp/ok.db" t 1

# names are case-insensitive, as in SQL: the same answer as sqlite3's
n=$((n + 1))
if "$1/bpfchain-sqlite-emu" -T "$tmp/ok.db" T --index T_C 1 > "$tmp/out" 2> "$tmp/err" &&
   [ "$(cat "$tmp/out")" = "$(sqlite3 "$tmp/ok.db" 'SELECT * FROM t WHERE c = 1')" ] && [ -s "$tmp/out" ]; then
	echo "ok: names-ignore-case: $(cat "$tmp/out")"
else
	echo "FAIL: names-ignore-case: $(cat "$tmp/out" "$tmp/err")"; fails=$((fails + 1))
fi

# a chain that ends with EDOM (an INTEGER key met a REAL) or EOVERFLOW
# (spilled index entries whose bytes on the page cannot decide): the
# library walks that index in user space and the answer is still
# sqlite3's; through the programs under the emulator
tool=$1/bpfchain-sqlite-emu
# fallback NAME DB INDEX KEY SQL: rows equal to sqlite3's, one user walk at least
fallback() {
	local name=$1 db=$2 ix=$3 key=$4 sql=$5 walks
	n=$((n + 1))
	"$tool" -T -v "$db" t --index "$ix" "$key" > "$tmp/out" 2> "$tmp/err"
	local rc=$?
	sqlite3 -list "$db" "$sql" > "$tmp/want"
	walks=$(sed -n 's/^user_walks=//p' "$tmp/err")
	if [ $rc != 0 ] || ! cmp -s "$tmp/want" "$tmp/out" || [ ! -s "$tmp/want" ] || [ "${walks:-0}" -lt 1 ]; then
		echo "FAIL: $name: exit $rc, $(wc -l < "$tmp/out") rows ($(wc -l < "$tmp/want") wanted), user walks ${walks:-none}: $(head -2 "$tmp/err")"
		fails=$((fails + 1))
	else
		echo "ok: $name: $(wc -l < "$tmp/out") rows as sqlite3's, $walks index walks in user space"
	fi
}
if [ -x "$tool" ]; then
	s "$tmp/real.db" "CREATE TABLE t(a INTEGER PRIMARY KEY, n INT); CREATE INDEX t_n ON t(n);
		INSERT INTO t VALUES (1, 1), (2, 2.5), (3, 3), (4, 2), (5, -1e300), (6, 2.0);"
	s "$tmp/spill.db" "PRAGMA page_size = 512; CREATE TABLE t(s TEXT); CREATE INDEX t_s ON t(s);
		WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50)
		INSERT INTO t SELECT printf('%.*c', 1000 + i, 'a') FROM c;
		INSERT INTO t VALUES (printf('%.*c', 64, 'a')), (printf('%.*c', 63, 'a') || 'b');"
	fallback chain-integer-meets-real "$tmp/real.db" t_n 2 "SELECT * FROM t WHERE n = 2"
	fallback chain-spilled-entries-undecided "$tmp/spill.db" t_s "$(printf 'a%.0s' $(seq 64))" \
		"SELECT * FROM t WHERE s = '$(printf 'a%.0s' $(seq 64))'"
else
	echo "FAIL: $tool missing"; fails=$((fails + 1))
fi
echo "refusals: $n cases, $fails failed"
[ "$fails" = 0 ]
