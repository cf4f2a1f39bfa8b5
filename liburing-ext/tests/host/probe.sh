#!/bin/bash
# Description: on the host's kernel, io_uring_ext_bpf_chain_supported()
# does not mistake another opcode of the same number for IORING_OP_BPF_CHAIN
# (upstream 6.15+ numbers IORING_OP_RECV_ZC 58): the supported test must
# skip there, or pass on a bpfchain kernel, never fail.
set -u
out=$(cd "$(dirname "$0")/../../../build/liburing-ext/tests" 2>/dev/null && pwd) ||
	{ echo "FAIL: build/liburing-ext not built (make -C liburing-ext)"; exit 1; }
echo "host kernel $(uname -r)"
"$out/supported"
rc=$?
case $rc in
0) echo "the host runs a bpfchain kernel";;
77) echo "not a bpfchain kernel, and the probe says so";;
*) echo "FAIL: supported exited $rc"; exit 1;;
esac
exit 0
