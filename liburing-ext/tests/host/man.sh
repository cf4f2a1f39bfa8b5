#!/bin/bash
# Description: a man page per public function of liburing-ext.h and the
# liburing-ext.7 overview, each passing rig/check-man-page (renders
# cleanly, liburing's sections, a NAME line lexgrog reads), with the
# header in its synopsis and SEE ALSO references to pages that exist here.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
man=$here/man
fails=0 n=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

funcs=$(grep -oE '^(static inline )?(int|void) io_uring_ext_[a-z_]+\(' "$here/include/liburing-ext.h" |
	grep -oE 'io_uring_ext_[a-z_]+' | sort -u)
[ -n "$funcs" ] || fail "no functions found in liburing-ext.h"
for f in $funcs; do
	[ -f "$man/$f.3" ] || fail "no man page for $f"
done
for p in "$man"/*.3 "$man"/*.7; do
	n=$((n + 1))
	base=$(basename "$p") name=${base%.*}
	grep -q '^\.B #include <liburing-ext.h>' "$p" || fail "$base: synopsis lacks the include"
	# one page a function: lexgrog names the page itself
	lexgrog "$p" 2>&1 | grep -q "\"$name - " || fail "$base: lexgrog: $(lexgrog "$p" 2>&1)"
	# SEE ALSO: our pages must exist
	for ref in $(sed -n '/^\.SH SEE ALSO/,$p' "$p" | grep -oE 'io_uring_ext_[a-z_]+ \([0-9]\)|liburing-ext \(7\)' | tr -d ' '); do
		r=${ref%(*} s=${ref#*(}; s=${s%)}
		[ -f "$man/$r.$s" ] || fail "$base: SEE ALSO $ref has no page"
	done
done
# what every page of the project must do
"$here/../rig/check-man-page" "$man"/*.3 "$man"/*.7 || fails=$((fails + 1))
echo "$n pages, $(wc -w <<< "$funcs") functions"
[ "$fails" = 0 ]
