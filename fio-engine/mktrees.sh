#!/bin/bash
# Build the B+-tree files the job files read, with progs' bpfchain-mkdb:
# depth 1..6, the shapes of the benchmark (progs/README.md), fanout-limited
# so that 100k keys reach depth 6:
#   bc-depth1.db    200 keys, 4096-byte nodes, fanout 255
#   bc-depth2.db    60k keys, 4096-byte nodes, fanout 255
#   bc-depth3.db   100k keys, 4096-byte nodes, fanout 64
#   bc-depth4.db   100k keys,  512-byte nodes, fanout 24
#   bc-depth5.db   100k keys,  512-byte nodes, fanout 12
#   bc-depth6.db   100k keys,  512-byte nodes, fanout 8
# and the benchmark's trees (bench/run-bench), one node size at every depth
# so that each hop reads the same kind of block:
#   bc-hopD.db     512-byte nodes, fanout 8, and 8, 60, 500, 4000, 30k,
#                  100k keys for depth D = 1..6 (bc-hop6 is bc-depth6)
#
#   mktrees.sh [-f] [DIR]     DIR defaults to /mnt/nvme (the guest's NVMe ext4)
#
# Existing files are kept unless -f is given (the builder is deterministic:
# the same options give the same bytes).  Exit 0, or 1 with one line.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mkdb=${BPFCHAIN_MKDB:-$here/../build/progs/bpfchain-mkdb}
force=0
if [ "${1:-}" = "-f" ]; then force=1; shift; fi
dir=${1:-/mnt/nvme}

[ -x "$mkdb" ] || { echo "mktrees: $mkdb missing: run 'make -C progs'" >&2; exit 1; }
[ -d "$dir" ] || { echo "mktrees: $dir is not a directory" >&2; exit 1; }

shapes=(
	"1 -n 200 -s 4096 -f 255"
	"2 -n 60k -s 4096 -f 255"
	"3 -n 100k -s 4096 -f 64"
	"4 -n 100k -s 512 -f 24"
	"5 -n 100k -s 512 -f 12"
	"6 -n 100k -s 512 -f 8"
	"1 -n 8 -s 512 -f 8 hop"
	"2 -n 60 -s 512 -f 8 hop"
	"3 -n 500 -s 512 -f 8 hop"
	"4 -n 4000 -s 512 -f 8 hop"
	"5 -n 30k -s 512 -f 8 hop"
	"6 -n 100k -s 512 -f 8 hop"
)
for s in "${shapes[@]}"; do
	set -- $s
	d=$1 name=bc-depth$1.db; shift
	if [ "${7:-}" = hop ]; then
		name=bc-hop$d.db
		set -- "${@:1:6}"
	fi
	out=$dir/$name
	if [ $force = 0 ] && [ -s "$out" ]; then
		continue
	fi
	line=$("$mkdb" btree "$@" "$out.tmp") || { echo "mktrees: building $out failed" >&2; exit 1; }
	case "$line" in
	*" depth=$d "*) ;;
	*) echo "mktrees: $out: expected depth $d, got: $line" >&2; rm -f "$out.tmp"; exit 1;;
	esac
	mv "$out.tmp" "$out"
	echo "$out: $line"
done
sync
