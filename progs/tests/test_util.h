/* SPDX-License-Identifier: MIT */
/*
 * What progs-test (host) and progs-guest-test share: the check counter,
 * a u64 comparison for qsort, the B+-tree path to a key and the hash key
 * with a long chain (to corrupt blocks on them), and the poke helpers.
 * Each test defines poke(name, off, p, len) for its own files.  Define
 * CHECK_MAX_SHOWN (failures printed) first to change it.
 */
#ifndef BPFCHAIN_PROGS_TEST_UTIL_H
#define BPFCHAIN_PROGS_TEST_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include "bpfchain_db.h"

#ifndef CHECK_MAX_SHOWN
#define CHECK_MAX_SHOWN	30
#endif

/*
 * A test built from several files (progs-guest-test) defines TEST_UTIL_EXTERN
 * and, in one of them, failures, checks and poke(); else each is this file's.
 */
#ifdef TEST_UTIL_EXTERN
#define TEST_UTIL_LINKAGE extern
#else
#define TEST_UTIL_LINKAGE static
#endif

TEST_UTIL_LINKAGE int failures, checks;

#define CHECK(cond, ...) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		if (failures <= CHECK_MAX_SHOWN) {			\
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	}								\
} while (0)

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Offsets of the nodes on the path to key, root first; returns the depth. */
static inline int path_of(struct bcdb *db, uint64_t key, uint64_t path[BC_MAX_DEPTH])
{
	union { struct bc_btree_node n; char b[BC_BLOCK_MAX]; } nb;
	uint64_t off = db->bt.root;
	int d = 0;

	while (d < BC_MAX_DEPTH) {
		unsigned int lo = 0;

		path[d++] = off;
		if (bcdb_read_block(db, off, nb.b) || nb.n.level == 0)
			break;
		while (lo + 1 < nb.n.nkeys && nb.n.e[lo + 1].key <= key)
			lo++;
		off = nb.n.e[lo].val;
	}
	return d;
}

/* A key of a hash file at the end of a chain of 2 blocks at least. */
struct chain_key {
	uint64_t key;
	uint64_t bucket;
	uint64_t bucket_block;	/* offset of the block holding the bucket's head */
	uint64_t slot;		/* offset of the head in it */
	uint64_t head;		/* the head: first chain block */
};

/* The first of keys 0..n-1 of seed whose lookup reads 3 blocks at least. */
static inline int chain_key_of(struct bcdb *db, uint64_t seed, uint64_t n, struct chain_key *ck)
{
	for (uint64_t i = 0; i < n; i++) {
		struct bcdb_result r;

		ck->key = bc_key_of(seed, i);
		if (!bcdb_hash_lookup(db, ck->key, &r) && r.blocks >= 3)
			break;
	}
	ck->bucket = bc_hash64(ck->key) % db->h.nbuckets;
	ck->bucket_block = bcdb_hash_start(db, ck->key);
	ck->slot = ck->bucket_block + 24 + 8 * (ck->bucket % db->h.per_block);
	return pread(db->fd, &ck->head, 8, ck->slot) == 8 ? 0 : -EIO;
}

/* Overwrite len bytes at off of the test's file name (its own helper). */
TEST_UTIL_LINKAGE void poke(const char *name, uint64_t off, const void *p, size_t len);

static inline void poke64(const char *name, uint64_t off, uint64_t v) { poke(name, off, &v, 8); }
static inline void poke32(const char *name, uint64_t off, uint32_t v) { poke(name, off, &v, 4); }
static inline void poke16(const char *name, uint64_t off, uint16_t v) { poke(name, off, &v, 2); }

#endif /* BPFCHAIN_PROGS_TEST_UTIL_H */
