#!/bin/bash
# Description: io_uring_ext_bpf_chain_test_run() on the host's kernel,
# which has no IO_CHAIN program to run: the refusals made before the first
# block runs (the call's, and the kernel's in res), and a closed program fd
# once the first block was read (tests/test-run.c --host; in the guest the
# same program checks the rest against a ring's chains).
set -u
out=$(cd "$(dirname "$0")/../../../build/liburing-ext/tests" 2>/dev/null && pwd) ||
	{ echo "FAIL: build/liburing-ext not built (make -C liburing-ext)"; exit 1; }
exec "$out/test-run" --host
