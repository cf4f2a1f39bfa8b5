#!/bin/bash
# Host test: fio --enghelp=/abs/bpf_chain.so lists every engine option,
# and the mode line names every mode.
set -u
so=$1
out=$(fio --enghelp="$so" 2>&1) || { echo "$out"; echo "FAIL: fio --enghelp exited $?"; exit 1; }
echo "$out"
for o in prog_obj prog_name mode registerfiles fixedbufs hipri verify_lookups; do
	echo "$out" | grep -q "^$o  *: " || { echo "FAIL: --enghelp lacks $o"; exit 1; }
done
for m in chain chain-generic user pread; do
	echo "$out" | grep -q "^mode  *: .*\b$m\b" || { echo "FAIL: --enghelp's mode line lacks $m"; exit 1; }
done
n=$(echo "$out" | grep -c ' : ')
[ "$n" = 7 ] || { echo "FAIL: $n options listed, want 7"; exit 1; }
echo "PASS: --enghelp lists the 7 options and the 4 modes"
