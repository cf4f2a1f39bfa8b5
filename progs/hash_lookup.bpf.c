// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * Hash lookup with overflow chains (format.h).  Scratch: struct
 * bc_hash_scratch.  First block: the superblock (offset 0) or the bucket
 * block that holds bucket(key) (block length = the table's block size).
 * The bucket block names the chain's first block; each chain block is
 * scanned, then its next block read, until the key or the end of the
 * chain.  DONE with result = found.
 */
#include "chain_common.bpf.h"

#define HEAD_MASK	0x1ff	/* below BC_HASH_MAX_HEADS (509) */

SEC("io_chain")
long bpfchain_hash_lookup(struct bpf_io_chain *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bc_hash_scratch *s = (void *)(long)ctx->scratch;
	__u32 len = ctx->len, hop = ctx->hop;
	struct bc_hash_super *sb = data;
	struct bc_hash_bucket_block *bb = data;
	struct bc_hash_chain_block *cb = data;
	__u64 key, b, off, next, file_size, nbuckets;
	__u32 stage, nent, i, slot;
	struct bc_entry *e;
	__u64 *head;
	int err;

	if (ctx->scratch_len < sizeof(*s))
		return -BC_E_ARG;
	if (hop == 0) {
		s->found = 0;
		s->value = 0;
		s->bucket = 0;
		s->stage = BC_HASH_STAGE_START;
	}
	s->hops = hop + 1;
	err = bc_check_len(len);
	if (err)
		return err;
	key = s->key;
	stage = s->stage;

	/* only block 0 is the superblock (a copy elsewhere is a bad block) */
	if (stage == BC_HASH_STAGE_START && ctx->offset == 0 &&
	    data + sizeof(__u64) <= data_end && *(__u64 *)data == BC_HASH_MAGIC) {
		if ((void *)(sb + 1) > data_end)
			return -BC_E_ARG;
		if (sb->version != BC_VERSION)
			return -BC_E_VERSION;
		if (sb->block_size != len)
			return -BC_E_ARG;
		nbuckets = sb->nbuckets;
		if (nbuckets == 0 || sb->per_block != BC_HASH_HEADS(len))
			return -BC_E_CORRUPT;
		file_size = s->file_size;
		if (!file_size)
			file_size = sb->file_size;
		s->file_size = file_size;
		b = bc_hash64(key) % nbuckets;
		off = sb->bucket_off + (b / sb->per_block) * len;
		s->stage = BC_HASH_STAGE_BUCKET;
		return bc_next(ctx, off, file_size);
	}

	if (stage != BC_HASH_STAGE_CHAIN) {
		if ((void *)(bb + 1) > data_end)
			return -BC_E_ARG;
		if (bb->magic != BC_HASH_BUCKET_MAGIC)
			return -BC_E_MAGIC;
		nbuckets = bb->nbuckets;
		if (nbuckets == 0 || bb->count > BC_HASH_HEADS(len))
			return -BC_E_CORRUPT;
		b = bc_hash64(key) % nbuckets;
		if (b < bb->first || b - bb->first >= bb->count) {
			/* the application started at the wrong block */
			if (stage == BC_HASH_STAGE_START)
				return -BC_E_ARG;
			return -BC_E_CORRUPT;
		}
		slot = (__u32)(b - bb->first) & HEAD_MASK;
		head = data + sizeof(*bb) + slot * sizeof(__u64);
		if ((void *)(head + 1) > data_end)
			return -BC_E_CORRUPT;
		next = *head;
		s->bucket = b;
		s->stage = BC_HASH_STAGE_CHAIN;
	} else {
		if ((void *)(cb + 1) > data_end)
			return -BC_E_ARG;
		if (cb->magic != BC_HASH_CHAIN_MAGIC)
			return -BC_E_MAGIC;
		nent = cb->nentries;
		if (nent > BC_HASH_CAP(len) || cb->bucket != s->bucket)
			return -BC_E_CORRUPT;
		for (i = 0; i < BC_HASH_MAX_ENTRIES; i++) {
			if (i >= nent)
				break;
			e = bc_entry_at(data, data_end, sizeof(*cb), i);
			if (!e)
				return -BC_E_CORRUPT;
			if (e->key == key) {
				s->value = e->val;
				s->found = 1;
				ctx->result = 1;
				return BPF_IO_CHAIN_DONE;
			}
		}
		next = cb->next;
	}

	if (next == 0) {
		ctx->result = 0;
		return BPF_IO_CHAIN_DONE;
	}
	return bc_next(ctx, next, s->file_size);
}

char _license[] SEC("license") = "Dual MIT/GPL";
