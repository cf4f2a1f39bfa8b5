#!/bin/bash
# Host test: the engine builds against build/fio-src/fio and exports only
# the symbol fio looks up (ioengine), with the installed fio's ioops version.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
so=$top/build/fio-engine/bpf_chain.so
make -s -C "$top/fio-engine" all || { echo "FAIL: make -C fio-engine"; exit 1; }
[ -f "$so" ] || { echo "FAIL: $so not built"; exit 1; }
syms=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^_' | sort | tr '\n' ' ')
[ "$syms" = "ioengine " ] || { echo "FAIL: exported symbols: $syms(want only ioengine)"; exit 1; }
want=$(awk '/define FIO_IOOPS_VERSION/ {print $3}' "$top/build/fio-src/fio/ioengines.h")
echo "PASS: $so exports ioengine, built for FIO_IOOPS_VERSION $want (fio $(cat "$top/build/fio-src/.version"))"
