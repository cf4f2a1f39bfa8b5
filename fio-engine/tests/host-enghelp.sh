#!/bin/bash
# Host test: fio --enghelp=/abs/ENGINE.so lists every option of each engine,
# and bpf_chain's mode line names its modes.
#   host-enghelp.sh DIR     (DIR holds bpf_chain.so and bpf_chain_psync.so)
set -u
dir=$1
check() {	# engine, options...
	local so=$dir/$1.so out n
	shift
	out=$(fio --enghelp="$so" 2>&1) || { echo "$out"; echo "FAIL: fio --enghelp=$so exited $?"; exit 1; }
	echo "$out"
	for o in "$@"; do
		echo "$out" | grep -q "^$o  *: " || { echo "FAIL: --enghelp=$so lacks $o"; exit 1; }
	done
	n=$(echo "$out" | grep -c ' : ')
	[ "$n" = $# ] || { echo "FAIL: $so: $n options listed, want $#"; exit 1; }
	[ "$so" != "$dir/bpf_chain.so" ] && return
	for m in chain chain-generic user; do
		echo "$out" | grep -q "^mode  *: .*\b$m\b" || { echo "FAIL: --enghelp's mode line lacks $m"; exit 1; }
	done
}
check bpf_chain mode prog_obj prog_name registerfiles fixedbufs hipri verify_lookups
check bpf_chain_psync verify_lookups
echo "PASS: --enghelp lists bpf_chain's 7 options and 3 modes, bpf_chain_psync's 1 option"
