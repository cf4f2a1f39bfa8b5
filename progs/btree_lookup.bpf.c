// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * B+-tree point lookup (format.h).  Scratch: struct bc_lookup_scratch.
 * First block: the superblock (offset 0) or the root node; block length =
 * the tree's node size.  Each hop checks the node and descends one level;
 * at the leaf it fills value/found, sets result = found and returns DONE.
 * A corrupt block ends the chain with the BC_E_* errno, negated.
 */
#include "chain_common.bpf.h"

SEC("io_chain")
long bpfchain_btree_lookup(struct bpf_io_chain *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bc_lookup_scratch *s = (void *)(long)ctx->scratch;
	__u32 hop = ctx->hop;
	__u32 nkeys, pos;
	__u64 key;
	struct bc_entry *e;
	int err;

	if (ctx->scratch_len < sizeof(*s))
		return -BC_E_ARG;
	if (hop == 0) {
		s->found = 0;
		s->value = 0;
		s->level = BC_LEVEL_ANY;
	}
	s->hops = hop + 1;
	key = s->key;
	err = bc_btree_hop(ctx, data, data_end, &s->level, &s->file_size, key, &nkeys);
	if (err != BC_AT_LEAF)
		return err;

	err = bc_btree_lower_bound(data, data_end, nkeys, key, &pos);
	if (err)
		return err;
	if (pos < nkeys) {
		e = bc_entry_at(data, data_end, BC_NODE_HDR, pos);
		if (!e)
			return -BC_E_CORRUPT;
		if (e->key == key) {
			s->value = e->val;
			s->found = 1;
		}
	}
	ctx->result = s->found;
	return BPF_IO_CHAIN_DONE;
}

char _license[] SEC("license") = "Dual MIT/GPL";
