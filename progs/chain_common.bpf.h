/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Pieces shared by the bpfchain BPF programs: block length and pointer
 * checks, the B+-tree superblock hop, node header checks and the two
 * bounded binary searches.  Every access to the block is checked against
 * data_end; every loop has a constant bound.
 */
#ifndef BPFCHAIN_CHAIN_COMMON_BPF_H
#define BPFCHAIN_CHAIN_COMMON_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfchain_uapi.h"
#include "format.h"

#define BC_NODE_HDR	sizeof(struct bc_btree_node)
/* Masks an index below BC_BTREE_MAX_KEYS, so the verifier sees the bound. */
#define BC_IDX_MASK	0xff

/* The block length the program was given: a power of two in 512..4096. */
static __always_inline int bc_check_len(__u32 len)
{
	if (len < BC_BLOCK_MIN || len > BC_BLOCK_MAX || (len & (len - 1)))
		return -BC_E_ARG;
	return 0;
}

/* A pointer to the next block: not the superblock, aligned, inside the file. */
static __always_inline int bc_check_ptr(__u64 off, __u32 len, __u64 file_size)
{
	if (off == 0 || (off & (len - 1)))
		return -BC_E_PTR;
	if (file_size && (off > file_size || file_size - off < len))
		return -BC_E_EOF;
	return 0;
}

/*
 * Go on to the block at off: check the pointer, then that the chain stays
 * within BC_MAX_HOPS blocks.
 */
static __always_inline int bc_next(struct bpf_io_chain *ctx, __u64 off, __u64 file_size)
{
	int err = bc_check_ptr(off, ctx->len, file_size);

	if (err)
		return err;
	if (ctx->hop + 1 >= BC_MAX_HOPS)
		return -BC_E_LOOP;
	ctx->next_offset = off;
	return BPF_IO_CHAIN_NEXT;
}

/* Entry idx of a node (B+-tree) whose entries start at hdr; NULL if past data_end. */
static __always_inline struct bc_entry *bc_entry_at(void *data, void *data_end,
						    __u32 hdr, __u32 idx)
{
	struct bc_entry *e = data + hdr + (idx & BC_IDX_MASK) * sizeof(struct bc_entry);

	if ((void *)(e + 1) > data_end)
		return NULL;
	return e;
}

/*
 * Hop 0 read the B+-tree superblock: check it, remember the root's level and
 * the file size, and go to the root.
 */
static __always_inline int bc_btree_super_hop(struct bpf_io_chain *ctx, void *data,
					      void *data_end, __u32 *level,
					      __u64 *file_size)
{
	struct bc_btree_super *sb = data;
	__u32 len = ctx->len;

	if ((void *)(sb + 1) > data_end)
		return -BC_E_ARG;
	if (sb->version != BC_VERSION)
		return -BC_E_VERSION;
	if (sb->node_size != len)
		return -BC_E_ARG;
	if (sb->depth < 1 || sb->depth > BC_MAX_DEPTH)
		return -BC_E_CORRUPT;
	if (!*file_size)
		*file_size = sb->file_size;
	*level = sb->depth - 1;
	return bc_next(ctx, sb->root, *file_size);
}

/*
 * Check a B+-tree node header against the level expected (BC_LEVEL_ANY at
 * the root) and the node size; return its level and nkeys.
 */
static __always_inline int bc_btree_node_check(void *data, void *data_end, __u32 len,
					       __u32 expect, __u32 *level,
					       __u32 *nkeys)
{
	struct bc_btree_node *n = data;

	if ((void *)(n + 1) > data_end)
		return -BC_E_ARG;
	if (n->magic != BC_BTREE_NODE_MAGIC)
		return -BC_E_MAGIC;
	*level = n->level;
	*nkeys = n->nkeys;
	if (*level >= BC_MAX_DEPTH)
		return -BC_E_CORRUPT;
	if (expect != BC_LEVEL_ANY && *level != expect)
		return -BC_E_CORRUPT;
	if (*nkeys > BC_BTREE_CAP(len))
		return -BC_E_CORRUPT;
	if (*level > 0 && *nkeys == 0)
		return -BC_E_CORRUPT;
	return 0;
}

/*
 * Internal node: the child to descend into for key, the last entry whose
 * key is <= key (entry 0 when key is below them all).  nkeys >= 1.
 */
static __always_inline int bc_btree_child(void *data, void *data_end, __u32 nkeys,
					  __u64 key, __u64 *child)
{
	__u32 lo = 0, hi = nkeys, mid;
	struct bc_entry *e;
	int it;

	for (it = 0; it < BC_SEARCH_ITERS && lo + 1 < hi; it++) {
		mid = (lo + hi) >> 1;
		e = bc_entry_at(data, data_end, BC_NODE_HDR, mid);
		if (!e)
			return -BC_E_CORRUPT;
		if (e->key <= key)
			lo = mid;
		else
			hi = mid;
	}
	e = bc_entry_at(data, data_end, BC_NODE_HDR, lo);
	if (!e)
		return -BC_E_CORRUPT;
	*child = e->val;
	return 0;
}

/* Leaf: index of the first entry whose key is >= key (nkeys if none). */
static __always_inline int bc_btree_lower_bound(void *data, void *data_end, __u32 nkeys,
						__u64 key, __u32 *pos)
{
	__u32 lo = 0, hi = nkeys, mid;
	struct bc_entry *e;
	int it;

	for (it = 0; it < BC_SEARCH_ITERS && lo < hi; it++) {
		mid = (lo + hi) >> 1;
		e = bc_entry_at(data, data_end, BC_NODE_HDR, mid);
		if (!e)
			return -BC_E_CORRUPT;
		if (e->key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

/* bc_btree_hop(): the block is a leaf, the caller's part. */
#define BC_AT_LEAF	2

/*
 * The start of every B+-tree hop, shared by lookup and range: the block
 * length, the superblock at offset 0, the node checks and, in an internal node,
 * the descent toward key.  level and file_size point into the scratch.
 * Returns BPF_IO_CHAIN_NEXT or a negative errno, to be returned as they are,
 * or BC_AT_LEAF with *nkeys set.
 */
static __always_inline int bc_btree_hop(struct bpf_io_chain *ctx, void *data, void *data_end,
					__u32 *level, __u64 *file_size, __u64 key,
					__u32 *nkeys)
{
	__u32 len = ctx->len, lvl;
	__u64 child;
	int err;

	err = bc_check_len(len);
	if (err)
		return err;
	/*
	 * The superblock is block 0 and nothing else: a root holding a copy
	 * of one is a bad node (-EBADMSG, as the reader says), not a second
	 * superblock to follow.
	 */
	if (ctx->offset == 0 && data + sizeof(__u64) <= data_end &&
	    *(__u64 *)data == BC_BTREE_MAGIC)
		return bc_btree_super_hop(ctx, data, data_end, level, file_size);
	err = bc_btree_node_check(data, data_end, len, *level, &lvl, nkeys);
	if (err)
		return err;
	if (lvl == 0)
		return BC_AT_LEAF;
	err = bc_btree_child(data, data_end, *nkeys, key, &child);
	if (err)
		return err;
	*level = lvl - 1;
	return bc_next(ctx, child, *file_size);
}

#endif /* BPFCHAIN_CHAIN_COMMON_BPF_H */
