// SPDX-License-Identifier: MIT
/* Reads the block without checking data_end: the verifier refuses it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfchain_uapi.h"

SEC("io_chain")
long unchecked(struct bpf_io_chain *ctx)
{
	ctx->result = *(__u32 *)(long)ctx->data;
	return BPF_IO_CHAIN_DONE;
}

char _license[] SEC("license") = "Dual MIT/GPL";
