// SPDX-License-Identifier: MIT
/* libbpfchain-db: B+-tree point lookup and range scan with pread(2). */
#include <string.h>
#include "bpfchain_db.h"

union node_buf {
	struct bc_btree_node n;
	char b[BC_BLOCK_MAX];
} __attribute__((aligned(BC_BLOCK_MAX)));

uint64_t bcdb_btree_start(const struct bcdb *db)
{
	return db->bt.root;
}

/* A node's header against the level expected (BC_LEVEL_ANY for the root). */
static int check_node(const struct bcdb *db, const struct bc_btree_node *n, uint32_t expect)
{
	if (n->magic != BC_BTREE_NODE_MAGIC)
		return -BC_E_MAGIC;
	if (n->level >= BC_MAX_DEPTH)
		return -BC_E_CORRUPT;
	if (expect != BC_LEVEL_ANY && n->level != expect)
		return -BC_E_CORRUPT;
	if (n->nkeys > BC_BTREE_CAP(db->block_size))
		return -BC_E_CORRUPT;
	if (n->level > 0 && n->nkeys == 0)
		return -BC_E_CORRUPT;
	return 0;
}

/* Read the node at off and check its header against the expected level. */
static int get_node(struct bcdb *db, uint64_t off, uint32_t expect, union node_buf *nb,
		    unsigned int *blocks)
{
	int err;

	err = bcdb_read_block(db, off, nb->b);
	if (err)
		return err;
	(*blocks)++;
	return check_node(db, &nb->n, expect);
}

/* Last entry with key <= key, 0 if none. */
static unsigned int child_index(const struct bc_btree_node *n, uint64_t key)
{
	unsigned int lo = 0, hi = n->nkeys, mid;

	while (lo + 1 < hi) {
		mid = (lo + hi) / 2;
		if (n->e[mid].key <= key)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* First entry with key >= key, nkeys if none. */
static unsigned int lower_bound(const struct bc_btree_node *n, uint64_t key)
{
	unsigned int lo = 0, hi = n->nkeys, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (n->e[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bcdb_btree_step(const struct bcdb *db, const void *node, uint64_t key,
		    uint32_t *expect_level, uint64_t *next, struct bcdb_result *r)
{
	const struct bc_btree_node *n = node;
	uint64_t child;
	unsigned int i;
	int err;

	if (db->kind != BCDB_BTREE)
		return -BC_E_ARG;
	r->blocks++;
	err = check_node(db, n, *expect_level);
	if (err)
		return err;
	if (n->level == 0) {
		i = lower_bound(n, key);
		if (i < n->nkeys && n->e[i].key == key) {
			r->found = 1;
			r->value = n->e[i].val;
		}
		return 0;
	}
	child = n->e[child_index(n, key)].val;
	err = bcdb_next_ok(db, child, r->blocks);
	if (err)
		return err;
	*expect_level = n->level - 1;
	*next = child;
	return 1;
}

/* From the root to the leaf for key with bcdb_btree_step; nb holds the leaf. */
static int descend(struct bcdb *db, uint64_t key, union node_buf *nb, struct bcdb_result *r)
{
	uint64_t off = bcdb_btree_start(db);
	uint32_t expect = BC_LEVEL_ANY;
	int err;

	do {
		err = bcdb_read_block(db, off, nb->b);
		if (err)
			return err;
		err = bcdb_btree_step(db, nb->b, key, &expect, &off, r);
	} while (err > 0);
	return err;
}

int bcdb_btree_lookup(struct bcdb *db, uint64_t key, struct bcdb_result *r)
{
	union node_buf nb;

	memset(r, 0, sizeof(*r));
	if (db->kind != BCDB_BTREE)
		return -BC_E_ARG;
	return descend(db, key, &nb, r);
}

int bcdb_btree_range(struct bcdb *db, uint64_t lo, uint64_t hi, uint64_t *values,
		     uint32_t max, struct bcdb_range *r)
{
	struct bcdb_result res = { 0 };
	union node_buf nb;
	uint64_t last = lo - 1, k, next;
	unsigned int i, start;
	int seen = lo != 0, chained = 0, err;

	memset(r, 0, sizeof(*r));
	if (db->kind != BCDB_BTREE)
		return -BC_E_ARG;
	if (max == 0 || max > BC_RANGE_MAX)
		max = BC_RANGE_MAX;
	err = descend(db, lo, &nb, &res);
	r->blocks = res.blocks;
	if (err)
		return err;
	/*
	 * Keys below lo count as passed: a leaf chain that comes back under lo
	 * is a loop, not values to return (their resume would go backwards
	 * and a caller resuming would never finish).
	 */
	for (;;) {
		start = chained ? 0 : lower_bound(&nb.n, lo);
		for (i = start; i < nb.n.nkeys; i++) {
			k = nb.n.e[i].key;
			if (seen && k <= last)
				return i == 0 && chained ? -BC_E_LOOP : -BC_E_CORRUPT;
			if (k > hi)
				return 0;
			if (r->count >= max) {
				r->more = 1;
				r->resume = k;
				return 0;
			}
			values[r->count++] = nb.n.e[i].val;
			last = k;
			seen = 1;
		}
		next = nb.n.next;
		if (next == 0)
			return 0;
		err = bcdb_next_ok(db, next, r->blocks);
		if (err)
			return err;
		err = get_node(db, next, 0, &nb, &r->blocks);
		if (err)
			return err;
		chained = 1;
	}
}
