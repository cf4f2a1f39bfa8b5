#!/bin/bash
# Description: the man pages of sqlite/ pass rig/check-man-page (they
# render cleanly, with the usual sections and a NAME line lexgrog reads);
# bpfchain_sqlite.3 names every public function of bpfchain-sqlite.h;
# bpfchain-sqlite.1 documents every option and exit status of the tool.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
fails=0 n=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pages=("$here"/man/*.[0-9])
n=${#pages[@]}
"$here/../rig/check-man-page" "${pages[@]}" || fails=$((fails + 1))
[ "$n" = 2 ] || fail "$n pages, want bpfchain_sqlite.3 and bpfchain-sqlite.1"
api=$here/man/bpfchain_sqlite.3
funcs=$(grep -oE '^[a-z].*[ *](bcsql_[a-z_]+)\(' "$here/include/bpfchain-sqlite.h" | grep -oE 'bcsql_[a-z_]+\(' | tr -d '(' | sort -u)
[ "$(wc -w <<< "$funcs")" -ge 20 ] || fail "only $(wc -w <<< "$funcs") functions found in bpfchain-sqlite.h"
for f in $funcs; do
	grep -q "^\.BI \"[^\"]*\b$f(" "$api" || fail "bpfchain_sqlite.3: $f is not in the SYNOPSIS"
	grep -q "^\.BR $f ()" "$api" || fail "bpfchain_sqlite.3: $f is not described"
	sed -n '/^\.SH NAME/,/^\.SH SYNOPSIS/p' "$api" | grep -qw "$f" || fail "bpfchain_sqlite.3: $f is not in NAME"
done
tool=$here/man/bpfchain-sqlite.1
for o in d g v c q T; do
	grep -q "^\.BI\? \\\\-$o\b" "$tool" || fail "bpfchain-sqlite.1: option -$o is not documented"
done
for x in 0 2 3 4 5 6 7 8 9 10; do
	grep -qx "\.B $x" "$tool" || fail "bpfchain-sqlite.1: exit status $x is not documented"
done
echo "man: $n pages, $(wc -w <<< "$funcs") functions; $fails failed"
[ "$fails" = 0 ]
