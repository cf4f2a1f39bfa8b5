#!/bin/bash
# Description: bpfchain-sqlite answers exactly as sqlite3 -list, byte for
# byte, on databases the real sqlite3 writes: mixed column types (integers
# of every width, floats, text, blobs, NULLs), rows long enough for overflow
# pages, deleted rows (free pages) and a VACUUMed copy, an INTEGER and a
# TEXT index.  Rowid lookups (present and absent, also with the top levels
# cached, O_DIRECT and one lookup in flight), index lookups and rowid
# ranges.  Then corrupt pages (bytes flipped in copies) end every kind of
# lookup with the program's error (exit 3 and its errno), never with rows,
# never a hang.
#
# In the guest (default): databases on NVMe ext4 (page sizes 4096, 2048),
# NVMe xfs (1024) and virtio-blk (512); every lookup in the auto tier
# (-v: fdinfo's counters must show every hop in the driver tier on NVMe and
# none off it), the forced generic tier (-g: every hop generic) and through
# BPF_PROG_TEST_RUN (-T).  With --host: the same databases in $TMPDIR, every
# page size, every lookup run by the host build (bpfchain-sqlite-emu -T:
# the programs' C source under progs' chain emulator).
#
# Scale: ROWS rows per database, KEYS rowids, IDX values of each index and
# RANGES ranges per database (environment; default 20,000, 2,000, 300, 40).
# SCALE=issue sets the issue's: 1M, 10,000, 2,000, 200; make test runs the
# lookups (--queries) at that scale, the corruptions (--corrupt) at the
# default (sqlite/Makefile says why).  Prints one line per case with its
# time and a summary.  SPECs (NAME|DIR|PAGESIZE[|TIER,...]) name the
# databases to test and, optionally, the tiers; default all of the above.
# --queries or --corrupt runs only the lookups or only the corruptions
# (make test runs them as separate tests, each within its time limit).
#
# Each database is built once for the tests of a boot that share it: in
# DIR/sqlite-compare.NAME-pPAGESIZE.ROWS (with its description, the
# lookups' keys and sqlite3's answers, each kept only once complete), which
# --keep leaves for the next test of the same spec and scale; without it
# the test removes it when done, whether it built it or found it (make
# test passes --keep to every test but the last of a database).  A test run
# alone builds what it does not find.  One test at a time (run-tests).
#
# Which lookups run in which tier: every one in the auto tier (the cached
# ones, O_DIRECT with one lookup in flight, and all of them again on the
# VACUUMed copy); the plain ones and O_DIRECT in the forced generic tier;
# the plain ones through BPF_PROG_TEST_RUN.  The cache is user space, the
# same whichever tier reads below it.
#   compare.sh [--host] [--queries|--corrupt] [--keep] BUILD_SQLITE_DIR [SPEC...]
set -u
host=0 parts="queries corrupt" keep=0
[ "${1:-}" = --host ] && { host=1; shift; }
case ${1:-} in --queries) parts=queries; shift ;; --corrupt) parts=corrupt; shift ;; esac
[ "${1:-}" = --keep ] && { keep=1; shift; }
build=$1
shift
if [ "${SCALE:-}" = issue ]; then
	ROWS=1000000 KEYS=10000 IDX=2000 RANGES=200
fi
ROWS=${ROWS:-20000} KEYS=${KEYS:-2000} IDX=${IDX:-300} RANGES=${RANGES:-40}
if [ $host = 1 ]; then
	tool=$build/bpfchain-sqlite-emu tiers="emu"
	specs="host|${TMPDIR:-/tmp}|512 host|${TMPDIR:-/tmp}|1024 host|${TMPDIR:-/tmp}|2048 host|${TMPDIR:-/tmp}|4096"
else
	tool=$build/bpfchain-sqlite tiers="auto generic test-run"
	specs="nvme-ext4|/mnt/nvme|4096 nvme-ext4|/mnt/nvme|2048 nvme-xfs|/mnt/nvme-xfs|1024 vblk|/mnt/vblk|512"
fi
[ $# -gt 0 ] && specs="$*"
[ -x "$tool" ] || { echo "FAIL: $tool missing"; exit 1; }
command -v sqlite3 > /dev/null || { echo "Skipped: no sqlite3 (rig/deps.sh installs it)"; exit 77; }
fails=0 cases=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# mk FILE PAGESIZE: the test database, written by sqlite3.  Integers of
# every width in n (1-byte ones and the constants 0 and 1 in a share that
# shrinks with ROWS, so that a value matches about 20 rows at any scale),
# REALs (whole ones too) in r, text in s (every 97th over 3000 bytes:
# overflow pages, and index entries that spill), blobs in b (every 61st a
# 5000-byte one), NULLs everywhere; then deleted rows.  No rollback journal
# while building (a new file, nothing to roll back to; the file's format is
# the same): the deletions would otherwise write most of it twice.
mk() {
	local k=$((ROWS / 2000 > 7 ? ROWS / 2000 : 7))
	rm -f "$1"
	sqlite3 "$1" "PRAGMA page_size = $2; PRAGMA cache_size = -65536; PRAGMA journal_mode = OFF;
	CREATE TABLE t(id INTEGER PRIMARY KEY, n INT, r REAL, s TEXT, b BLOB, z);
	WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $ROWS)
	INSERT INTO t SELECT i * 3,
		CASE WHEN i % $k = 0 THEN NULL WHEN i % $k = 1 THEN (i / $k) % 120 - 5
		WHEN i % ($k * 50) = 2 THEN (i / $k) % 2
		ELSE CASE i % 4 WHEN 0 THEN i * 1000 WHEN 1 THEN i * 100000000
		WHEN 2 THEN -i * 1000000000000 ELSE i * 40000 END END,
		CASE WHEN i % 5 = 0 THEN NULL ELSE i / 7.0 END,
		'k' || ((i * 7919) % ($ROWS / 2 + 1)) ||
			CASE WHEN i % 97 = 0 THEN printf('%.*c', 3000, 'x') ELSE '' END,
		CASE WHEN i % 3 = 0 THEN NULL WHEN i % 61 = 0 THEN zeroblob(5000)
		ELSE x'4142' || randomblob(i % 9) END,
		NULL FROM c;
	CREATE INDEX t_n ON t(n); CREATE INDEX t_s ON t(s);
	DELETE FROM t WHERE id % 11 = 0 OR (id > $ROWS / 7 * 3 AND id < $ROWS / 7 * 9);" > /dev/null || return 1
}

free_mib() { df -Pm "$1" | awk 'NR == 2 { print $4 }'; }

# database: $cache/t.db, this spec's database at this scale, and its
# description in $cache/about; built unless a test before this one left it
# (--keep).  t.db appears last, when everything is complete, so a test
# killed while building leaves nothing to reuse.
database() {
	local t0=$SECONDS about
	if [ -f "$cache/t.db" ] && [ -f "$cache/about" ]; then
		echo "$name: $(cat "$cache/about"), left by the test before; tiers: $tiers"
		return 0
	fi
	rm -rf "$cache"
	mkdir -p "$cache" && mk "$cache/new.db" "$ps" || return 1
	# one pass of dbstat over every page: overflow pages, and the depth of t
	about=$(sqlite3 -separator ' ' "$cache/new.db" "SELECT (SELECT count(*) FROM t), page_count, freelist_count, ov, depth
		FROM pragma_page_count, pragma_freelist_count, (SELECT sum(pagetype = 'overflow') AS ov,
			max(CASE WHEN name = 't' THEN length(path) - length(replace(path, '/', '')) END) AS depth FROM dbstat)" |
		awk '{ printf "%s rows, %s pages (%s free), %s overflow pages, b-tree depth %s", $1, $2, $3, $4, $5 }') &&
		[ -n "$about" ] || return 1
	echo "$about, $(($(stat -c %s "$cache/new.db") >> 20)) MiB, built in $((SECONDS - t0)) s" > "$cache/about" &&
		mv "$cache/new.db" "$cache/t.db" || return 1
	echo "$name: $(cat "$cache/about") ($(free_mib "$dir") MiB left on $dir); tiers: $tiers"
}

# keys DB: the lookups' keys ($ids, $vals, $svals, $rng), chosen once from
# DB at this scale and kept in $keydir, the same for the VACUUMed copy (the
# same rows)
keys() {
	local db=$1 t0=$SECONDS maxid=$((ROWS * 3 + 10))
	keydir=$cache/keys.$KEYS-$IDX-$RANGES
	if [ ! -f "$keydir/done" ]; then
		rm -rf "$keydir"
		mkdir -p "$keydir" || return 1
		# KEYS different rowids (present and absent) in random order
		awk -v n="$KEYS" -v m="$maxid" 'BEGIN { srand(7); while (c < n) { k = int(rand() * m) - 3; if (!(k in s)) { s[k]; c++; print k } } }' |
			sort -n > "$keydir/ids"
		# IDX different values of each index: of n, the small integers
		# (present or not) drawn first, a third of them, then those of rows
		# in a fixed pseudo-random order (the same in every run); texts
		# likewise (present or not, then those of rows)
		(awk -v n=$((IDX / 3)) 'BEGIN { srand(8); for (i = 0; i < n; i++) print int(rand() * 130) - 10 }'
			sqlite3 "$db" "SELECT n FROM t WHERE n IS NOT NULL ORDER BY (rowid * 2654435761) % 4294967291 LIMIT $((IDX * 2))") |
			awk -v n="$IDX" '!($0 in s) { s[$0]; if (c++ < n) print }' | sort -n > "$keydir/vals"
		(awk -v n=$((IDX / 3)) -v m="$ROWS" 'BEGIN { srand(9); for (i = 0; i < n; i++) print "k" int(rand() * m) }'
			sqlite3 "$db" "SELECT s FROM t WHERE length(s) < 64 ORDER BY (rowid * 2654435761) % 4294967291 LIMIT $((IDX * 2))") |
			awk -v n="$IDX" '!($0 in s) { s[$0]; if (c++ < n) print }' | LC_ALL=C sort > "$keydir/svals"
		awk -v n="$RANGES" -v m="$maxid" 'BEGIN { srand(10); for (i = 0; i < n; i++) { a = int(rand() * m) - 5; print a, a + int(rand() * 400) } }' > "$keydir/rng"
		touch "$keydir/done"
		echo "$name: keys chosen in $((SECONDS - t0)) s: $(grep -c . "$keydir/ids") rowids," \
			"$(grep -c . "$keydir/vals") + $(grep -c . "$keydir/svals") index values, $(grep -c . "$keydir/rng") ranges"
	fi
	ids=$(cat "$keydir/ids") vals=$(cat "$keydir/vals") svals=$(cat "$keydir/svals") rng=$(cat "$keydir/rng")
}

# answers NAME DB WANTDIR: sqlite3's answers to the keys' queries on DB in
# WANTDIR/want.{rowid,index,tindex,range}, unless a test before left them
answers() {
	local name=$1 db=$2 w=$3 t0=$SECONDS
	[ -f "$w/done" ] && return 0
	rm -rf "$w"
	mkdir -p "$w" || return 1
	sqlite3 -list "$db" "SELECT * FROM t WHERE rowid IN ($(echo $ids | tr ' ' ,)) ORDER BY rowid" > "$w/want.rowid"
	sqlite3 -list "$db" "SELECT * FROM t WHERE n IN ($(echo $vals | tr ' ' ,)) ORDER BY n, rowid" > "$w/want.index"
	sqlite3 -list "$db" "SELECT * FROM t WHERE s IN ($(printf "'%s'," $svals | sed 's/,$//')) ORDER BY s, rowid" > "$w/want.tindex"
	echo "$rng" | while read -r lo hi; do echo "SELECT * FROM t WHERE rowid BETWEEN $lo AND $hi;"; done |
		sqlite3 -list "$db" > "$w/want.range"
	if [ -s "$w/want.rowid" ] && [ -s "$w/want.index" ] && [ -s "$w/want.tindex" ] && [ -s "$w/want.range" ]; then
		touch "$w/done"
	else
		fail "$name: sqlite3 found no rows for some query"
	fi
	echo "$name: sqlite3's answers in $((SECONDS - t0)) s ($(cat "$w"/want.* | wc -l) rows)"
}

# lookup TIER Q DB: run query Q's lookups in TIER, output in $tmp/got
lookup() {
	local tier=$1 q=$2 db=$3 opts=-v
	case $tier in generic) opts="-v -g" ;; test-run|emu) opts=-T ;; esac
	case $q in
	rowid) "$tool" $opts "$db" t $ids ;;
	rowid-cache) "$tool" $opts -c 2 "$db" t $ids ;;
	rowid-direct) "$tool" $opts -d -q 1 "$db" t $ids ;;
	index) "$tool" $opts "$db" t --index t_n $vals ;;
	index-cache) "$tool" $opts -c 1 "$db" t --index t_n $vals ;;
	tindex) "$tool" $opts "$db" t --index t_s $svals ;;
	range) "$tool" $opts "$db" t --range $rng ;;
	range-cache) "$tool" $opts -c 1 "$db" t --range $rng ;;
	esac > "$tmp/got" 2> "$tmp/err"
}

# run NAME DB DIR WANTDIR: every query in every tier against sqlite3's
# answers in WANTDIR
run() {
	local name=$1 db=$2 dir=$3 wantdir=$4 on_nvme=0 rc want t1
	case $dir in /mnt/nvme*) on_nvme=1 ;; esac
	for tier in $tiers; do
		case $tier:$name in
		auto:*-vacuum|emu:*-vacuum) qs="rowid index tindex range" ;;
		*:*-vacuum) continue ;;
		auto:*|emu:*) qs="rowid rowid-cache rowid-direct index index-cache tindex range range-cache" ;;
		generic:*) qs="rowid rowid-direct index tindex range" ;;
		*) qs="rowid index tindex range" ;;
		esac
		for q in $qs; do
			want=$wantdir/want.${q%-*}
			cases=$((cases + 1))
			t1=$SECONDS
			lookup $tier $q "$db"
			rc=$?
			if [ $rc != 0 ]; then fail "$name $tier $q: exit $rc: $(head -3 "$tmp/err")"; continue; fi
			if ! cmp -s "$want" "$tmp/got"; then
				fail "$name $tier $q: output differs from sqlite3's ($(wc -l < "$want") and $(wc -l < "$tmp/got") lines)"
				diff "$want" "$tmp/got" | head -4 | cut -c1-200
				continue
			fi
			if [ $tier = auto ] || [ $tier = generic ]; then
				if ! read -r chains hops drv gen errs < <(grep '^chains=' "$tmp/err" |
					sed -E 's/chains=([0-9]+) hops=([0-9]+) driver=([0-9]+) generic=([0-9]+) errors=([0-9]+)/\1 \2 \3 \4 \5/'); then
					fail "$name $tier $q: no counters from -v"; continue
				fi
				if [ "$hops" = 0 ] || [ "$errs" != 0 ] || [ $((drv + gen)) != "$hops" ]; then
					fail "$name $tier $q: counters chains=$chains hops=$hops driver=$drv generic=$gen errors=$errs"; continue
				fi
				if [ $tier = generic ] && [ "$drv" != 0 ]; then fail "$name $q -g: $drv driver hops"; continue; fi
				if [ $tier = auto ] && [ $on_nvme = 1 ] && [ "$drv" != "$hops" ]; then
					fail "$name $q: $drv of $hops hops in the driver tier on NVMe"; continue
				fi
				if [ $tier = auto ] && [ $on_nvme = 0 ] && [ "$drv" != 0 ]; then
					fail "$name $q: $drv driver hops off NVMe"; continue
				fi
				echo "$name $tier $q: $(wc -l < "$tmp/got") rows equal; chains=$chains hops=$hops driver=$drv generic=$gen ($((SECONDS - t1)) s)"
			else
				echo "$name $tier $q: $(wc -l < "$tmp/got") rows equal ($((SECONDS - t1)) s)"
			fi
		done
	done
}

# poke FILE OFFSET HEXBYTES: overwrite bytes of a copy
poke() {
	printf "$(echo "$3" | sed 's/../\\x&/g')" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
hex32() { printf '%08x' "$1"; }

# corrupt NAME DB: each corruption in a copy; every lookup that meets it
# ends with exit 3 and the program's errno (bcsql_strerror names it)
corrupt() {
	local name=$1 db=$2 c=$tmp/corrupt.db ps root leaf iroot usable off what want rc q lastn
	ps=$(sqlite3 "$db" "PRAGMA page_size")
	root=$(sqlite3 "$db" "SELECT rootpage FROM sqlite_schema WHERE name = 't'")
	iroot=$(sqlite3 "$db" "SELECT rootpage FROM sqlite_schema WHERE name = 't_n'")
	# the left-most leaf of t (rowid 3 is on it)
	leaf=$(sqlite3 "$db" "SELECT pageno FROM dbstat WHERE name = 't' AND pagetype = 'leaf' ORDER BY path LIMIT 1")
	lastn=$(sqlite3 "$db" "SELECT n FROM t WHERE n IS NOT NULL ORDER BY rowid DESC LIMIT 1")
	usable=$ps
	[ "$(sqlite3 "$db" "SELECT pagetype FROM dbstat WHERE name = 't' AND pageno = $root")" = internal ] ||
		{ fail "$name corrupt: the root of t is not an interior page"; return; }
	for what in type:EUCLEAN ncells:EUCLEAN cellptr:EUCLEAN child-zero:EFAULT \
		    child-past-eof:ENXIO self-cycle:ELOOP varint-past-end:EUCLEAN index-type:EUCLEAN; do
		want=${what#*:} what=${what%:*}
		cp --reflink=never "$db" "$c"
		off=$(( (root - 1) * ps ))
		case $what in
		type) poke "$c" $off 07 ;;
		ncells) poke "$c" $((off + 3)) ffff ;;
		# every cell pointer of the root past the usable size
		cellptr) n=$(sqlite3 "$db" "SELECT ncell FROM dbstat WHERE name = 't' AND pageno = $root")
			for ((i = 0; i < n; i++)); do poke "$c" $((off + 12 + 2 * i)) fff0; done ;;
		child-zero) poke "$c" $((off + 8)) 00000000 ;;
		child-past-eof) poke "$c" $((off + 8)) 7fffffff ;;
		self-cycle) poke "$c" $((off + 8)) "$(hex32 "$root")" ;;
		# the left-most leaf's first cell at the page's last 2 bytes, 0xff
		varint-past-end) off=$(( (leaf - 1) * ps ))
			poke "$c" $((off + 8)) "$(printf '%04x' $((usable - 2)))"
			poke "$c" $((off + usable - 2)) ffff ;;
		index-type) off=$(( (iroot - 1) * ps )); poke "$c" $off 07 ;;
		esac
		for tier in $tiers; do
			local opts=
			case $tier in generic) opts=-g ;; test-run|emu) opts=-T ;; esac
			for q in rowid range index; do
				case $what:$q in
				index-type:rowid|index-type:range|varint-past-end:index) continue ;;
				esac
				cases=$((cases + 1))
				case $q in
				# a small rowid: down the left edge, through cell 0 of each page;
				# a big one: through the right-most child
				rowid) case $what in child-*|self-cycle) k=999999999 ;; *) k=3 ;; esac
					timeout 120 "$tool" $opts "$c" t $k ;;
				range) case $what in child-*|self-cycle) k="999999990 999999999" ;; *) k="-5 10" ;; esac
					timeout 120 "$tool" $opts "$c" t --range $k ;;
				# the key of t's last row, in the right-most subtree
				index) timeout 120 "$tool" $opts "$c" t --index t_n "$lastn" ;;
				esac > "$tmp/got" 2> "$tmp/err"
				rc=$?
				if [ $rc = 124 ]; then fail "$name corrupt $what $tier $q: still running after 120 s"
				elif [ $rc != 3 ] || ! grep -q "($want)" "$tmp/err" || [ -s "$tmp/got" ]; then
					fail "$name corrupt $what $tier $q: exit $rc (want 3 and $want), $(wc -l < "$tmp/got") rows: $(head -2 "$tmp/err")"
				else
					echo "$name corrupt $what $tier $q: exit 3: $(cat "$tmp/err")"
				fi
			done
		done
	done
}

start=$SECONDS
all_tiers=$tiers
for spec in $specs; do
	IFS='|' read -r name dir ps spec_tiers <<< "$spec"
	tiers=${spec_tiers:-$all_tiers}
	tiers=${tiers//,/ }
	name=$name-p$ps
	if [ ! -w "$dir" ]; then fail "$name: $dir not there"; continue; fi
	tmp=$(mktemp -d "$dir/sqlite-compare.XXXXXX")
	cache=$dir/sqlite-compare.$name.$ROWS
	t0=$SECONDS
	if ! database; then
		fail "$name: sqlite3 could not build the database ($(free_mib "$dir") MiB left on $dir)"
		rm -rf "$tmp" "$cache"; continue
	fi
	case $parts in *queries*)
		keys "$cache/t.db"
		answers "$name" "$cache/t.db" "$keydir/t"
		run "$name" "$cache/t.db" "$dir" "$keydir/t"
		# the VACUUMed copy, in the auto tier only (run()); VACUUM INTO
		# writes it as VACUUM would, into a new file (blocks of its own:
		# xfs does not map a file that shares them, a reflink, and the
		# driver tier would stay out), with no journal and no copy of
		# the original first, so that both fit on the xfs partition
		case " $tiers " in *" auto "*|*" emu "*)
			t1=$SECONDS
			if sqlite3 "$cache/t.db" "VACUUM INTO '$tmp/v.db'"; then
				echo "$name-vacuum: $(($(stat -c %s "$tmp/v.db") >> 20)) MiB, VACUUM INTO in $((SECONDS - t1)) s ($(free_mib "$dir") MiB left on $dir)"
				answers "$name-vacuum" "$tmp/v.db" "$tmp/want"
				run "$name-vacuum" "$tmp/v.db" "$dir" "$tmp/want"
			else
				fail "$name: VACUUM INTO failed ($(free_mib "$dir") MiB left on $dir)"
			fi ;;
		esac ;;
	esac
	case $parts in *corrupt*) corrupt "$name" "$cache/t.db" ;; esac
	echo "$name: done after $((SECONDS - t0)) s"
	rm -rf "$tmp"
	[ $keep = 1 ] || rm -rf "$cache"
done
echo "compare ($parts): $cases cases, $fails failed, $((SECONDS - start)) s"
[ $fails = 0 ]
