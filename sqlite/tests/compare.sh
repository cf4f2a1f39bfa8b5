#!/bin/bash
# Description: bpfchain-sqlite answers exactly as sqlite3 -list, byte for
# byte, on databases the real sqlite3 writes in the guest on NVMe ext4,
# NVMe xfs and virtio-blk: mixed column types (integers of every width,
# floats, text, blobs, NULLs), rows long enough for overflow pages, deleted
# rows (free pages) and a VACUUMed copy, page sizes 512, 1024 and 4096, an
# INTEGER and a TEXT index.  Rowid lookups (present and absent), index
# lookups and rowid ranges, in the auto tier (with -v: every hop in the
# driver tier on NVMe, none off it) and the forced generic tier (-g: every
# hop generic).  Corrupt pages (bytes flipped in a copy) end with the
# program's error (exit 3), never rows.
# Scaled for TCG: ROWS rows per database (default 20000, not the issue's
# 1M), KEYS rowids, IDX index values, RANGES ranges per database.
#   compare.sh BUILD_SQLITE_DIR
set -u
tool=$1/bpfchain-sqlite
ROWS=${ROWS:-20000} KEYS=${KEYS:-2000} IDX=${IDX:-300} RANGES=${RANGES:-40}
[ -x "$tool" ] || { echo "FAIL: $tool missing"; exit 1; }
command -v sqlite3 > /dev/null || { echo "Skipped: no sqlite3"; exit 77; }
fails=0 cases=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mk() { # mk FILE PAGESIZE
	rm -f "$1"
	sqlite3 "$1" "PRAGMA page_size = $2;
	CREATE TABLE t(id INTEGER PRIMARY KEY, n INT, r REAL, s TEXT, b BLOB, z);
	WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $ROWS)
	INSERT INTO t SELECT i * 3,
		CASE i % 7 WHEN 0 THEN NULL WHEN 1 THEN i % 100 WHEN 2 THEN i * 1000
		WHEN 3 THEN i * 100000000 WHEN 4 THEN -i * 1000000000000 WHEN 5 THEN i % 2 ELSE i * 40000 END,
		CASE WHEN i % 5 = 0 THEN NULL ELSE i / 7.0 END,
		'k' || (i % 997) || CASE WHEN i % 97 = 0 THEN printf('%.*c', 3000, 'x') ELSE '' END,
		CASE WHEN i % 3 = 0 THEN NULL WHEN i % 61 = 0 THEN zeroblob(5000) ELSE x'4142' || randomblob(i % 9) END,
		NULL FROM c;
	CREATE INDEX t_n ON t(n); CREATE INDEX t_s ON t(s);
	DELETE FROM t WHERE id % 11 = 0 OR (id > 3000 AND id < 9000);" || return 1
}
run() { # run NAME DB DIR
	local name=$1 db=$2 dir=$3 on_nvme=0 maxid ids vals svals
	case $dir in /mnt/nvme*) on_nvme=1 ;; esac
	maxid=$((ROWS * 3 + 10))
	ids=$(awk -v n="$KEYS" -v m="$maxid" 'BEGIN { srand(7); for (i = 0; i < n; i++) print int(rand() * m) }' | sort -n -u)
	vals=$(awk -v n="$IDX" 'BEGIN { srand(8); for (i = 0; i < n; i++) print int(rand() * 120) - 5 }' | sort -n -u)
	svals=$(awk -v n="$IDX" 'BEGIN { srand(9); for (i = 0; i < n; i++) print "k" int(rand() * 1000) }' | LC_ALL=C sort -u)
	rng=$(awk -v n="$RANGES" -v m="$maxid" 'BEGIN { srand(10); for (i = 0; i < n; i++) { a = int(rand() * m) - 5; print a, a + int(rand() * 400) } }')
	sqlite3 -list "$db" "SELECT * FROM t WHERE rowid IN ($(echo $ids | tr ' ' ,)) ORDER BY rowid" > "$tmp/want.rowid"
	sqlite3 -list "$db" "SELECT * FROM t WHERE n IN ($(echo $vals | tr ' ' ,)) ORDER BY n, rowid" > "$tmp/want.index"
	sqlite3 -list "$db" "SELECT * FROM t WHERE s IN ($(printf "'%s'," $svals | sed 's/,$//')) ORDER BY s, rowid" > "$tmp/want.tindex"
	echo "$rng" | while read -r lo hi; do echo "SELECT * FROM t WHERE rowid BETWEEN $lo AND $hi;"; done | sqlite3 -list "$db" > "$tmp/want.range"
	for tier in auto generic; do
		local g=; [ $tier = generic ] && g=-g
		for q in rowid index tindex range; do
			cases=$((cases + 1))
			case $q in
			rowid) "$tool" -v $g "$db" t $ids ;;
			index) "$tool" -v $g "$db" t --index t_n $vals ;;
			tindex) "$tool" -v $g "$db" t --index t_s $svals ;;
			range) "$tool" -v $g "$db" t --range $rng ;;
			esac > "$tmp/got" 2> "$tmp/err"
			rc=$?
			if [ $rc != 0 ]; then fail "$name $tier $q: exit $rc: $(head -3 "$tmp/err")"; continue; fi
			if ! cmp -s "$tmp/want.$q" "$tmp/got"; then
				fail "$name $tier $q: output differs from sqlite3 ($(wc -l < "$tmp/want.$q") and $(wc -l < "$tmp/got") lines)"
				diff "$tmp/want.$q" "$tmp/got" | head -4 | cut -c1-200
				continue
			fi
			read -r chains hops drv gen errs < <(sed -E 's/chains=([0-9]+) hops=([0-9]+) driver=([0-9]+) generic=([0-9]+) errors=([0-9]+)/\1 \2 \3 \4 \5/' "$tmp/err")
			if [ $tier = generic ] && [ "$drv" != 0 ]; then fail "$name $q -g: $drv driver hops"; fi
			if [ $tier = auto ] && [ $on_nvme = 1 ] && [ "$drv" != "$hops" ]; then fail "$name $q: $drv of $hops hops in the driver tier on NVMe"; fi
			if [ $tier = auto ] && [ $on_nvme = 0 ] && [ "$drv" != 0 ]; then fail "$name $q: $drv driver hops off NVMe"; fi
			echo "$name $tier $q: $(wc -l < "$tmp/got") rows equal; chains=$chains hops=$hops driver=$drv generic=$gen"
		done
	done
}
corrupt() { # corrupt NAME DB: flip bytes of interior/leaf pages in copies
	local db=$1 c=$tmp/corrupt.db ps root
	ps=$(sqlite3 "$db" "PRAGMA page_size")
	root=$(sqlite3 "$db" "SELECT rootpage FROM sqlite_schema WHERE name = 't'")
	for what in type ncells cellptr child-past-eof self-cycle; do
		cp "$db" "$c"
		off=$(( (root - 1) * ps ))
		case $what in
		type) printf '\x07' | dd of="$c" bs=1 seek=$off conv=notrunc status=none ;;
		ncells) printf '\xff\xff' | dd of="$c" bs=1 seek=$((off + 3)) conv=notrunc status=none ;;
		cellptr) printf '\xff\xf0' | dd of="$c" bs=1 seek=$((off + 12)) conv=notrunc status=none ;;
		child-past-eof) printf '\x7f\xff\xff\xff' | dd of="$c" bs=1 seek=$((off + 8)) conv=notrunc status=none ;;
		self-cycle) printf "\\x$(printf %02x $((root >> 24 & 255)))\\x$(printf %02x $((root >> 16 & 255)))\\x$(printf %02x $((root >> 8 & 255)))\\x$(printf %02x $((root & 255)))" |
			dd of="$c" bs=1 seek=$((off + 8)) conv=notrunc status=none ;;
		esac
		for g in "" -g; do
			cases=$((cases + 1))
			timeout 60 "$tool" $g "$c" t 999999999 --range 0 0 > "$tmp/got" 2> "$tmp/err" || true
			"$tool" $g "$c" t 999999999 > "$tmp/got" 2> "$tmp/err"
			rc=$?
			if [ $rc != 3 ] || [ -s "$tmp/got" ]; then fail "$2 corrupt $what $g: exit $rc: $(cat "$tmp/err")"
			else echo "$2 corrupt $what ${g:-auto}: exit 3: $(cat "$tmp/err")"; fi
		done
	done
}

start=$SECONDS
for spec in "nvme-ext4|/mnt/nvme|4096" "nvme-xfs|/mnt/nvme-xfs|1024" "vblk|/mnt/vblk|512"; do
	IFS='|' read -r name dir ps <<< "$spec"
	if [ ! -w "$dir" ]; then echo "$name: $dir not there, not tested"; continue; fi
	tmp=$(mktemp -d "$dir/sqlite-compare.XXXXXX")
	t0=$SECONDS
	mk "$tmp/t.db" "$ps" || { fail "$name: sqlite3 could not build the database"; continue; }
	echo "$name: page size $ps, $(sqlite3 "$tmp/t.db" 'SELECT count(*) FROM t') rows, $(sqlite3 "$tmp/t.db" 'PRAGMA freelist_count') free pages, built in $((SECONDS - t0)) s"
	run "$name-p$ps" "$tmp/t.db" "$dir"
	cp "$tmp/t.db" "$tmp/v.db" && sqlite3 "$tmp/v.db" "VACUUM"
	run "$name-p$ps-vacuum" "$tmp/v.db" "$dir"
	corrupt "$tmp/t.db" "$name"
	rm -rf "$tmp"
done
echo "compare: $cases cases, $fails failed, $((SECONDS - start)) s"
[ $fails = 0 ]
