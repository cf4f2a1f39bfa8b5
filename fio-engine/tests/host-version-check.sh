#!/bin/bash
# Host test: the Makefile stops with one line when the fio source is
# missing or is not the installed fio's version.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$(make -s -C "$top/fio-engine" FIO_SRCDIR="$work/none" all 2>&1) && { echo "FAIL: built without a source"; exit 1; }
echo "$out"
echo "$out" | grep -q "^fio-engine: no configured fio source in $work/none: run 'make deps' first$" ||
	{ echo "FAIL: no 'make deps' line"; exit 1; }
mkdir -p "$work/old/fio" && cp "$top/build/fio-src/fio/config-host.h" "$work/old/fio/" && echo 3.32-1 > "$work/old/.version"
out=$(make -s -C "$top/fio-engine" FIO_SRCDIR="$work/old" all 2>&1) && { echo "FAIL: built against another version"; exit 1; }
echo "$out"
echo "$out" | grep -q "^fio-engine: fio source in $work/old is 3.32-1 but the installed fio is $(dpkg-query -W -f='${Version}' fio)" ||
	{ echo "FAIL: no version line"; exit 1; }
echo "PASS: missing source and version mismatch each stop the build with one line"
