#!/bin/bash
# Host test: both engines build against build/fio-src/fio and export only
# the symbol fio looks up (ioengine), with the installed fio's ioops version.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
make -s -C "$top/fio-engine" all || { echo "FAIL: make -C fio-engine"; exit 1; }
for e in bpf_chain bpf_chain_psync; do
	so=$top/build/fio-engine/$e.so
	[ -f "$so" ] || { echo "FAIL: $so not built"; exit 1; }
	syms=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^_' | sort | tr '\n' ' ')
	[ "$syms" = "ioengine " ] || { echo "FAIL: $e.so exports: $syms(want only ioengine)"; exit 1; }
	echo "ok: $so exports only ioengine"
done
want=$(awk '/define FIO_IOOPS_VERSION/ {print $3}' "$top/build/fio-src/fio/ioengines.h")
echo "PASS: bpf_chain.so and bpf_chain_psync.so export ioengine, built for FIO_IOOPS_VERSION $want (fio $(cat "$top/build/fio-src/.version"))"
