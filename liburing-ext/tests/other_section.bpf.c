// SPDX-License-Identifier: MIT
/*
 * An object with a program of another type (a socket filter) next to an
 * io_chain one: the loader refuses the first and loads only the second.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfchain_uapi.h"

SEC("socket")
int sock_prog(struct __sk_buff *skb)
{
	return 0;
}

SEC("io_chain/done")
long done(struct bpf_io_chain *ctx)
{
	ctx->result = 42;
	return BPF_IO_CHAIN_DONE;
}

char _license[] SEC("license") = "Dual MIT/GPL";
