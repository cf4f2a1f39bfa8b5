/* SPDX-License-Identifier: MIT */
/* Builders of the bpfchain formats (format.h), used by bpfchain-mkdb and the tests. */
#ifndef BPFCHAIN_BUILD_H
#define BPFCHAIN_BUILD_H

#include <stdint.h>

struct bc_build_opts {
	uint64_t nkeys;
	uint32_t block_size;	/* node size / hash block size, 0 = 4096 */
	uint32_t fanout;	/* max keys per node / chain block, 0 = what fits */
	uint64_t seed;
	uint64_t nbuckets;	/* hash: 0 = ceil(nkeys / fanout) */
	int scatter;		/* place blocks in a seed-shuffled order */
};

struct bc_build_info {
	uint32_t block_size;
	uint32_t fanout;
	uint32_t depth;		/* B+-tree levels */
	uint64_t nodes;		/* B+-tree nodes, or hash bucket + chain blocks */
	uint64_t bucket_blocks;	/* hash */
	uint64_t chain_blocks;	/* hash */
	uint64_t nbuckets;	/* hash */
	uint32_t max_chain;	/* hash: longest chain in blocks */
	uint64_t file_size;
};

/*
 * Write a file of opts->nkeys keys bc_key_of(seed, i), values
 * bc_value_of(key).  The same options give the same bytes.  0 or a
 * negative errno; a message on stderr says what was wrong.
 */
int bc_build_btree(const char *path, const struct bc_build_opts *o, struct bc_build_info *info);
int bc_build_hash(const char *path, const struct bc_build_opts *o, struct bc_build_info *info);

#endif /* BPFCHAIN_BUILD_H */
