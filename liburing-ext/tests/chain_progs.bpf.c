// SPDX-License-Identifier: MIT
/*
 * Programs of the liburing-ext tests.  walker follows a list of blocks
 * (t_list_file(): next offset, ~0 at the end, then a value) and returns
 * the number of blocks it read; with a 16-byte scratch {in, out} it leaves
 * value + in in out.  fail_euclean ends every chain with -EUCLEAN.
 * A negative errno is their chain's error.
 */
#include <linux/bpf.h>
#include <linux/errno.h>
#include <bpf/bpf_helpers.h>
#include "bpfchain_uapi.h"

SEC("io_chain")
long walker(struct bpf_io_chain *ctx)
{
	__u64 *blk = (void *)(long)ctx->data;
	__u64 *scratch = (void *)(long)ctx->scratch;

	if ((void *)(blk + 2) > (void *)(long)ctx->data_end)
		return -EBADMSG;
	if (blk[0] != ~0ULL) {
		ctx->next_offset = blk[0];
		return BPF_IO_CHAIN_NEXT;
	}
	if (ctx->scratch_len >= 16)
		scratch[1] = blk[1] + scratch[0];
	ctx->result = ctx->hop + 1;
	return BPF_IO_CHAIN_DONE;
}

SEC("io_chain")
long fail_euclean(struct bpf_io_chain *ctx)
{
	return -EUCLEAN;
}

char _license[] SEC("license") = "Dual MIT/GPL";
