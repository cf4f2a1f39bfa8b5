#!/bin/bash
# Description: the SQE bytes the prep helpers write, built with the
# distribution's headers and with the patched kernel's (tests/prep.c).
set -u
out=$(cd "$(dirname "$0")/../../../build/liburing-ext/tests" 2>/dev/null && pwd) ||
	{ echo "FAIL: build/liburing-ext not built (make -C liburing-ext)"; exit 1; }
"$out/prep" || exit 1
"$out/prep-khdr"
