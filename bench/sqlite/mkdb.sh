#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The SQLite benchmark's database, written once by the real sqlite3 and kept
# (make bench-sqlite copies it into the guest):
#
#   bench/sqlite/mkdb.sh DB [ROWS]
#
# One rowid table t(a INTEGER, b REAL, c TEXT, d BLOB, e) of ROWS rows
# (default 15,000,000: about 1.2 GiB in 4096-byte pages), rowids 1..ROWS,
# inserted in rowid order as an append-heavy table is: integers of 1, 4 and
# 6 bytes, REALs and NULLs, text of 25-70 bytes, 16-byte blobs, and every
# 100,000th row a 5,000-byte text that spills to an overflow page.  The
# values are functions of the rowid, so the file is the same every time.
# DB is rebuilt only when it is missing or was made with other ROWS or
# another version of this script (DB.stamp).
set -euo pipefail
db=${1:?usage: mkdb.sh DB [ROWS]}
rows=${2:-15000000}
stamp="rows=$rows $(sha1sum < "$0" | cut -c1-12)"
if [ -f "$db" ] && [ "$(cat "$db.stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi
mkdir -p "$(dirname "$db")"
rm -f "$db" "$db.stamp" "$db.tmp"
echo "mkdb: $rows rows into $db (once; about a minute per 5M rows)" >&2
sqlite3 "$db.tmp" >/dev/null <<SQL
PRAGMA page_size = 4096;
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
CREATE TABLE t(a INTEGER, b REAL, c TEXT, d BLOB, e);
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $rows)
INSERT INTO t(rowid, a, b, c, d, e)
SELECT i,
       (i * 2654435761) % 4294967296 - 2147483648,
       CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.25 END,
       CASE WHEN i % 100000 = 0 THEN printf('%d %.5000c', i, 'L')
            ELSE printf('row %d %.*c', i, 10 + i % 45, char(97 + i % 26)) END,
       CAST(printf('%08x%08x', i, (i * 40503) % 4294967296) AS BLOB),
       CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN i % 128 ELSE i * 1000003 END
FROM s;
COMMIT;
SQL
mv "$db.tmp" "$db"
echo "$stamp" > "$db.stamp"
