/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * bpfchain on-disk formats and scratch layouts.
 *
 * Shared, as plain C, by the BPF programs (*.bpf.c), the builder
 * (bpfchain-mkdb), the user-space reader (btree.c, hash.c) and every
 * application that fills a scratch area.  All integers are little-endian
 * on disk; the code reads them natively and refuses to build on a
 * big-endian target.  Block offsets are file offsets in bytes.
 *
 * B+-tree file
 *   offset 0            struct bc_btree_super, zero-padded to node_size
 *   k * node_size       nodes (k >= 1), each a struct bc_btree_node header
 *                       followed by nkeys struct bc_entry, zero-padded
 *   Leaves (level 0) hold {key, value}, sorted by key, and link to the next
 *   leaf in key order (next = 0 for the last).  Internal nodes hold
 *   {key, child offset}: key i is the smallest key under child i, and a
 *   search for k descends into the last child whose key is <= k (child 0
 *   when k is below every key).  Every node but a lone root leaf has
 *   nkeys >= 1.
 *
 * Hash file
 *   offset 0            struct bc_hash_super, zero-padded to block_size
 *   bucket_off + ...    bucket-array blocks: struct bc_hash_bucket_block,
 *                       heads of BC_HASH_HEADS(block_size) buckets each
 *   after them          chain blocks: struct bc_hash_chain_block with up to
 *                       fanout {key, value} entries and the offset of the
 *                       bucket's next chain block (0 = end of chain)
 *   bucket(k) = bc_hash64(k) % nbuckets; its head lives in the bucket block
 *   at bucket_off + (bucket / per_block) * block_size, slot
 *   bucket % per_block; head 0 = empty bucket.
 *
 * Keys and values written by bpfchain-mkdb
 *   key i  = bc_key_of(seed, i), i = 0 .. nkeys-1 (a bijection of i, so the
 *            keys are distinct and bc_key_of(seed, j) for j >= nkeys is
 *            absent from the file)
 *   value  = bc_value_of(key)
 */
#ifndef BPFCHAIN_FORMAT_H
#define BPFCHAIN_FORMAT_H

#include <linux/types.h>
#include <linux/errno.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "bpfchain formats are little-endian and read natively"
#endif

#define BC_VERSION		1
#define BC_BLOCK_MIN		512	/* smallest node / block */
#define BC_BLOCK_MAX		4096	/* largest node / block */
#define BC_MAX_DEPTH		24	/* levels of a B+-tree */
#define BC_MAX_HOPS		128	/* blocks one chain may read */
#define BC_LEVEL_ANY		0xffff	/* scratch level: not known yet */

/*
 * Errors.  The reader returns them negated, the BPF programs return them
 * negated (so they become the CQE res), for the same corruption.
 */
#define BC_E_MAGIC	EBADMSG	/* bad magic: not a block of the expected kind */
#define BC_E_VERSION	EPROTO	/* superblock of an unsupported version */
#define BC_E_CORRUPT	EUCLEAN	/* header out of range: nkeys/count > capacity,
				 * empty internal node, level not the expected
				 * one, depth/fanout/node size invalid, chain
				 * block of another bucket, keys out of order
				 * inside a leaf during a scan */
#define BC_E_PTR	EFAULT	/* child/next/root/head offset 0 (the
				 * superblock) or not a multiple of the block
				 * size */
#define BC_E_EOF	ENXIO	/* offset + block size past the end of file */
#define BC_E_LOOP	ELOOP	/* more than BC_MAX_HOPS blocks, or a leaf chain
				 * that goes back to a key already passed */
#define BC_E_ARG	EINVAL	/* caller error: scratch too short, block
				 * length not a power of two in 512..4096 or not
				 * the file's, start block that does not hold
				 * the key's bucket */

/* ---------------------------------------------------------------- mixing */

/* MurmurHash3's 64-bit finalizer: a bijection on 64-bit values. */
static inline __u64 bc_mix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* The i-th key of a file built with seed. */
static inline __u64 bc_key_of(__u64 seed, __u64 i)
{
	return bc_mix64(i * 0x9e3779b97f4a7c15ULL + bc_mix64(seed ^ 0x6a09e667f3bcc909ULL));
}

/* The value stored with key. */
static inline __u64 bc_value_of(__u64 key)
{
	return bc_mix64(key ^ 0x5851f42d4c957f2dULL);
}

/* Hash of a key for the hash format. */
static inline __u64 bc_hash64(__u64 key)
{
	return bc_mix64(key ^ 0xbb67ae8584caa73bULL);
}

/* ---------------------------------------------------------------- shared */

struct bc_entry {
	__u64 key;
	__u64 val;		/* value (leaf, chain) or child offset (internal) */
};
_Static_assert(sizeof(struct bc_entry) == 16, "bc_entry");

/* ---------------------------------------------------------------- B+-tree */

#define BC_BTREE_MAGIC		0x3145455254424342ULL	/* "BCBTREE1" */
#define BC_BTREE_NODE_MAGIC	0x444e4342U		/* "BCND" */

#define BC_BTREE_F_SCATTERED	(1U << 0)	/* nodes placed in a shuffled order */

struct bc_btree_super {
	__u64 magic;		/* BC_BTREE_MAGIC */
	__u32 version;		/* BC_VERSION */
	__u32 node_size;	/* 512, 1024, 2048 or 4096 */
	__u32 depth;		/* levels, 1 = the root is a leaf */
	__u32 fanout;		/* max keys per node, 2 .. BC_BTREE_CAP(node_size) */
	__u64 nkeys;
	__u64 root;		/* offset of the root node */
	__u32 value_size;	/* 8 */
	__u32 flags;		/* BC_BTREE_F_* */
	__u64 nnodes;		/* nodes, the superblock not counted */
	__u64 file_size;
	__u64 seed;		/* bc_key_of() seed the keys came from */
	__u64 first_leaf;	/* offset of the leftmost leaf */
	__u64 reserved[6];
};
_Static_assert(sizeof(struct bc_btree_super) == 128, "bc_btree_super");

struct bc_btree_node {
	__u32 magic;		/* BC_BTREE_NODE_MAGIC */
	__u16 level;		/* 0 = leaf */
	__u16 nkeys;
	__u64 next;		/* leaf: next leaf's offset, 0 = last; internal: 0 */
	struct bc_entry e[];
};
_Static_assert(sizeof(struct bc_btree_node) == 16, "bc_btree_node");

/* Entries that fit in a node: 31 for 512 bytes, 255 for 4096. */
#define BC_BTREE_CAP(node_size)	(((node_size) - sizeof(struct bc_btree_node)) / sizeof(struct bc_entry))
#define BC_BTREE_MAX_KEYS	BC_BTREE_CAP(BC_BLOCK_MAX)	/* 255 */
/* Iterations that always finish a binary search over BC_BTREE_MAX_KEYS. */
#define BC_SEARCH_ITERS		9
_Static_assert(BC_BTREE_MAX_KEYS == 255, "search bounds assume 255 keys per 4 KiB node");

/* ---------------------------------------------------------------- hash */

#define BC_HASH_MAGIC		0x3130485341484342ULL	/* "BCHASH01" */
#define BC_HASH_BUCKET_MAGIC	0x42484342U		/* "BCHB" */
#define BC_HASH_CHAIN_MAGIC	0x43484342U		/* "BCHC" */

struct bc_hash_super {
	__u64 magic;		/* BC_HASH_MAGIC */
	__u32 version;		/* BC_VERSION */
	__u32 block_size;	/* 512, 1024, 2048 or 4096 */
	__u64 nkeys;
	__u64 nbuckets;		/* >= 1 */
	__u64 bucket_off;	/* offset of the first bucket-array block */
	__u32 per_block;	/* bucket heads per bucket block = BC_HASH_HEADS(block_size) */
	__u32 fanout;		/* max entries per chain block, 1 .. BC_HASH_CAP(block_size) */
	__u64 nblocks;		/* blocks, the superblock not counted */
	__u64 file_size;
	__u64 seed;		/* bc_key_of() seed the keys came from */
	__u32 max_chain;	/* longest chain, in blocks */
	__u32 flags;
	__u64 reserved[6];
};
_Static_assert(sizeof(struct bc_hash_super) == 128, "bc_hash_super");

struct bc_hash_bucket_block {
	__u32 magic;		/* BC_HASH_BUCKET_MAGIC */
	__u32 count;		/* heads used in this block */
	__u64 first;		/* bucket number of head[0] */
	__u64 nbuckets;		/* of the whole table (== super.nbuckets) */
	__u64 head[];		/* offset of the bucket's first chain block, 0 = empty */
};
_Static_assert(sizeof(struct bc_hash_bucket_block) == 24, "bc_hash_bucket_block");

struct bc_hash_chain_block {
	__u32 magic;		/* BC_HASH_CHAIN_MAGIC */
	__u32 nentries;
	__u64 bucket;		/* the bucket this chain belongs to */
	__u64 next;		/* next chain block of the bucket, 0 = last */
	struct bc_entry e[];
};
_Static_assert(sizeof(struct bc_hash_chain_block) == 24, "bc_hash_chain_block");

/* Heads per bucket block: 61 for 512 bytes, 509 for 4096. */
#define BC_HASH_HEADS(bs)	(((bs) - sizeof(struct bc_hash_bucket_block)) / sizeof(__u64))
/* Entries per chain block: 30 for 512 bytes, 254 for 4096. */
#define BC_HASH_CAP(bs)		(((bs) - sizeof(struct bc_hash_chain_block)) / sizeof(struct bc_entry))
#define BC_HASH_MAX_HEADS	BC_HASH_HEADS(BC_BLOCK_MAX)	/* 509 */
#define BC_HASH_MAX_ENTRIES	BC_HASH_CAP(BC_BLOCK_MAX)	/* 254 */

/* ---------------------------------------------------------------- scratch */

/*
 * Every program accepts as first block either the superblock (offset 0,
 * costs one more hop) or the block the application computed from its own
 * copy of the superblock: the root node for the B+-tree, the key's bucket
 * block for the hash.  file_size, when not 0, lets the program reject a
 * pointer past EOF itself (BC_E_EOF) before the kernel would; starting at
 * the superblock fills it in.  Fields marked "private" are the program's
 * own state between hops: the application need not set them.
 */

/* btree_lookup.bpf.c; CQE res = found (1) or 0. */
struct bc_lookup_scratch {
	__u64 key;		/* in */
	__u64 file_size;	/* in: 0 = not checked by the program */
	__u64 value;		/* out: valid when found */
	__u32 found;		/* out: 1 = found */
	__u32 hops;		/* out: blocks read */
	__u32 level;		/* private: expected level of the next node */
	__u32 __pad;
};
_Static_assert(sizeof(struct bc_lookup_scratch) == 40, "bc_lookup_scratch");

#define BC_RANGE_F_MORE		(1U << 0)	/* out: keys <= hi remain from resume on */
#define BC_RANGE_F_SEEN		(1U << 8)	/* private: last_key is valid */
#define BC_RANGE_F_CHAINED	(1U << 9)	/* private: at a leaf reached by next */

#define BC_RANGE_HDR		64
#define BC_RANGE_MAX		((512 - BC_RANGE_HDR) / 8)	/* 56 values per chain */

/* btree_range.bpf.c; CQE res = count. */
struct bc_range_scratch {
	__u64 lo;		/* in: first key wanted (inclusive) */
	__u64 hi;		/* in: last key wanted (inclusive) */
	__u64 file_size;	/* in: 0 = not checked by the program */
	__u64 resume;		/* out: with BC_RANGE_F_MORE, the lo of the next call */
	__u64 last_key;		/* private: last key passed (order check) */
	__u32 count;		/* out: values[] filled, in key order */
	__u32 max;		/* in: values wanted per call, 0 or > BC_RANGE_MAX = BC_RANGE_MAX */
	__u32 hops;		/* out: blocks read */
	__u32 flags;		/* out: BC_RANGE_F_MORE; the rest private */
	__u32 level;		/* private: expected level of the next node */
	__u32 __pad;
	__u64 values[BC_RANGE_MAX];	/* out */
};
_Static_assert(sizeof(struct bc_range_scratch) == 512, "bc_range_scratch");
_Static_assert(__builtin_offsetof(struct bc_range_scratch, values) == BC_RANGE_HDR, "range header");

/* hash_lookup.bpf.c; CQE res = found (1) or 0. */
struct bc_hash_scratch {
	__u64 key;		/* in */
	__u64 file_size;	/* in: 0 = not checked by the program */
	__u64 value;		/* out: valid when found */
	__u32 found;		/* out: 1 = found */
	__u32 hops;		/* out: blocks read */
	__u64 bucket;		/* private: bucket of key */
	__u32 stage;		/* private: BC_HASH_STAGE_* expected next */
	__u32 __pad;
};
_Static_assert(sizeof(struct bc_hash_scratch) == 48, "bc_hash_scratch");

#define BC_HASH_STAGE_START	0	/* superblock or bucket block */
#define BC_HASH_STAGE_BUCKET	1	/* bucket block (after the superblock) */
#define BC_HASH_STAGE_CHAIN	2	/* chain block */

#endif /* BPFCHAIN_FORMAT_H */
