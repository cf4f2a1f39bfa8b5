// SPDX-License-Identifier: MIT
/* libbpfchain-db: hash lookup along a bucket's overflow chain with pread(2). */
#include <string.h>
#include "bpfchain_db.h"

union hash_buf {
	struct bc_hash_bucket_block bb;
	struct bc_hash_chain_block cb;
	char b[BC_BLOCK_MAX];
} __attribute__((aligned(BC_BLOCK_MAX)));

uint64_t bcdb_hash_start(const struct bcdb *db, uint64_t key)
{
	uint64_t b = bc_hash64(key) % db->h.nbuckets;

	return db->h.bucket_off + (b / db->h.per_block) * db->h.block_size;
}

int bcdb_hash_lookup(struct bcdb *db, uint64_t key, struct bcdb_result *r)
{
	union hash_buf hb;
	uint64_t b, off, next;
	unsigned int i;
	int err;

	memset(r, 0, sizeof(*r));
	if (db->kind != BCDB_HASH)
		return -BC_E_ARG;

	/* bucket block, as the chain's first block */
	off = bcdb_hash_start(db, key);
	err = bcdb_read_block(db, off, hb.b);
	if (err)
		return err;
	r->blocks++;
	if (hb.bb.magic != BC_HASH_BUCKET_MAGIC)
		return -BC_E_MAGIC;
	if (hb.bb.nbuckets == 0 || hb.bb.count > BC_HASH_HEADS(db->block_size))
		return -BC_E_CORRUPT;
	b = bc_hash64(key) % hb.bb.nbuckets;
	if (b < hb.bb.first || b - hb.bb.first >= hb.bb.count)
		return -BC_E_ARG;
	next = hb.bb.head[b - hb.bb.first];

	while (next) {
		err = bcdb_next_ok(db, next, r->blocks);
		if (err)
			return err;
		err = bcdb_read_block(db, next, hb.b);
		if (err)
			return err;
		r->blocks++;
		if (hb.cb.magic != BC_HASH_CHAIN_MAGIC)
			return -BC_E_MAGIC;
		if (hb.cb.nentries > BC_HASH_CAP(db->block_size) || hb.cb.bucket != b)
			return -BC_E_CORRUPT;
		for (i = 0; i < hb.cb.nentries; i++) {
			if (hb.cb.e[i].key == key) {
				r->found = 1;
				r->value = hb.cb.e[i].val;
				return 0;
			}
		}
		next = hb.cb.next;
	}
	return 0;
}
