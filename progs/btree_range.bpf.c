// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * B+-tree range scan (format.h).  Scratch: struct bc_range_scratch.
 * First block: the superblock (offset 0) or the root node.  Descends to the
 * leaf that holds lo, then copies the values of the keys in [lo, hi], in
 * key order, following the leaves' next links, until a key > hi, the last
 * leaf, or max values.  When full and a key <= hi remains, sets
 * BC_RANGE_F_MORE and resume = that key: the next call starts with
 * lo = resume.  DONE with result = count.
 */
#include "chain_common.bpf.h"

static __always_inline int range_done(struct bpf_io_chain *ctx,
				      struct bc_range_scratch *s, __u32 count)
{
	s->count = count;
	ctx->result = count;
	return BPF_IO_CHAIN_DONE;
}

SEC("io_chain")
long bpfchain_btree_range(struct bpf_io_chain *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bc_range_scratch *s = (void *)(long)ctx->scratch;
	__u32 hop = ctx->hop;
	__u32 nkeys, pos, count, max, flags, j, i;
	__u64 idx;
	__u64 lo, hi, next, k;
	struct bc_btree_node *n = data;
	struct bc_entry *e;
	int err;

	if (ctx->scratch_len < BC_RANGE_HDR)
		return -BC_E_ARG;
	if (hop == 0) {
		/* keys below lo count as passed, as in the reader's range scan */
		s->count = 0;
		s->flags = s->lo ? BC_RANGE_F_SEEN : 0;
		s->resume = 0;
		s->last_key = s->lo - 1;
		s->level = BC_LEVEL_ANY;
	}
	s->hops = hop + 1;
	max = s->max;
	if (max == 0 || max > BC_RANGE_MAX)
		max = BC_RANGE_MAX;
	/* values[max - 1] must lie inside what the application passed */
	if (ctx->scratch_len < BC_RANGE_HDR + max * sizeof(__u64))
		return -BC_E_ARG;
	lo = s->lo;
	hi = s->hi;
	err = bc_btree_hop(ctx, data, data_end, &s->level, &s->file_size, lo, &nkeys);
	if (err != BC_AT_LEAF)
		return err;

	flags = s->flags;
	count = s->count;
	if (flags & BC_RANGE_F_CHAINED) {
		pos = 0;
	} else {
		err = bc_btree_lower_bound(data, data_end, nkeys, lo, &pos);
		if (err)
			return err;
	}

	for (j = 0; j < BC_BTREE_MAX_KEYS; j++) {
		i = pos + j;
		if (i >= nkeys)
			break;
		e = bc_entry_at(data, data_end, BC_NODE_HDR, i);
		if (!e)
			return -BC_E_CORRUPT;
		k = e->key;
		if ((flags & BC_RANGE_F_SEEN) && k <= s->last_key) {
			/* first key of a chained leaf: the chain went back */
			if (j == 0 && (flags & BC_RANGE_F_CHAINED))
				return -BC_E_LOOP;
			return -BC_E_CORRUPT;
		}
		if (k > hi)
			return range_done(ctx, s, count);
		if (count >= max || count >= BC_RANGE_MAX) {
			s->resume = k;
			s->flags = flags | BC_RANGE_F_MORE;
			return range_done(ctx, s, count);
		}
		/*
		 * Index values[] by a 64-bit copy of count, checked right
		 * here: otherwise clang stores through a pointer it advances
		 * across iterations, or compares a zero-extended copy of
		 * count and indexes with another, and the verifier can bound
		 * neither.
		 */
		idx = count;
		barrier_var(idx);
		if (idx >= BC_RANGE_MAX)
			return -BC_E_ARG;
		s->values[idx] = e->val;
		count++;
		s->last_key = k;
		flags |= BC_RANGE_F_SEEN;
	}

	if ((void *)(n + 1) > data_end)
		return -BC_E_ARG;
	next = n->next;
	if (next == 0)
		return range_done(ctx, s, count);
	s->count = count;
	s->flags = flags | BC_RANGE_F_CHAINED;
	s->level = 0;
	return bc_next(ctx, next, s->file_size);
}

char _license[] SEC("license") = "Dual MIT/GPL";
