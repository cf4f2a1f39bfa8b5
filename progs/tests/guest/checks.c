// SPDX-License-Identifier: MIT
/*
 * The checks against the pread(2) reader (libbpfchain-db): point lookups,
 * range scans and hash lookups, every answer (result, found, value,
 * scratch, hop count, errno) compared, on the test's trees and tables.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

/*
 * Point lookups of keys[] through btree_lookup, batch at a time, every
 * answer compared with the reader: CQE res, found, value, the program's hop
 * count and the blocks the chain really read.  Every fifth lookup starts at
 * the superblock with file_size 0 (one more block), every fifth starts at
 * the root with file_size 0 (the kernel checks EOF alone).
 */
static void check_lookups(struct bcdb *db, const uint64_t *keys, size_t count, int batch,
			  struct stats *st, const char *what)
{
	struct bcdb_result rr[BATCH];
	int err[BATCH], sup[BATCH];

	for (size_t base = 0; base < count; base += batch) {
		int n = count - base < (size_t)batch ? (int)(count - base) : batch;
		long want_hops = 0, hops;
		struct req *r = NULL;

		for (int i = 0; i < n; i++) {
			uint64_t key = keys[base + i];
			struct bc_lookup_scratch *s;
			int mode = (base + i) % 5;

			err[i] = bcdb_btree_lookup(db, key, &rr[i]);
			sup[i] = mode == 0;
			want_hops += rr[i].blocks + sup[i];
			r = batch_req(i, P_LOOKUP, sup[i] ? 0 : bcdb_btree_start(db), sizeof(*s));
			s = r[i].scratch;
			s->key = key;
			s->file_size = mode <= 1 ? 0 : db->file_size;
			s->__pad = 0x7e57;	/* untouched by the program */
		}
		hops = run_batch(r, n);
		CHECK(hops == want_hops, "%s: the kernel read %ld blocks for %d lookups, the reader %ld",
		      what, hops, n, want_hops);
		for (int i = 0; i < n; i++) {
			struct bc_lookup_scratch *s = r[i].scratch;
			const struct bc_btree_node *leaf = r[i].buf;
			uint64_t key = keys[base + i];
			unsigned int want = rr[i].blocks + sup[i];

			if (err[i]) {
				CHECK(r[i].res == err[i], "%s: key %#llx res %d, reader %d", what,
				      (unsigned long long)key, r[i].res, err[i]);
				st->errors++;
				continue;
			}
			st->present += rr[i].found;
			st->absent += !rr[i].found;
			CHECK(r[i].res == rr[i].found && s->found == (__u32)rr[i].found &&
			      (!rr[i].found || s->value == rr[i].value) && s->key == key &&
			      s->__pad == 0x7e57,
			      "%s: key %#llx res %d found %u value %#llx, reader found %d value %#llx",
			      what, (unsigned long long)key, r[i].res, s->found,
			      (unsigned long long)s->value, rr[i].found, (unsigned long long)rr[i].value);
			CHECK(!rr[i].found || rr[i].value == bc_value_of(key), "%s: reader value", what);
			CHECK(s->hops == want && (r[i].hops < 0 || r[i].hops == (int)want),
			      "%s: key %#llx hops %u (counted %d), reader %u", what,
			      (unsigned long long)key, s->hops, r[i].hops, want);
			/* the buffer holds the leaf that answered */
			CHECK(leaf->magic == BC_BTREE_NODE_MAGIC && leaf->level == 0,
			      "%s: last block is not a leaf", what);
		}
		if (failures > 40)
			return;
	}
}

/* The same for the hash: from the key's bucket block, or from the superblock. */
static void check_hash(struct bcdb *db, const uint64_t *keys, size_t count, int batch,
		       struct stats *st, const char *what)
{
	struct bcdb_result rr[BATCH];
	int err[BATCH], sup[BATCH];

	for (size_t base = 0; base < count; base += batch) {
		int n = count - base < (size_t)batch ? (int)(count - base) : batch;
		long want_hops = 0, hops;
		struct req *r = NULL;

		for (int i = 0; i < n; i++) {
			uint64_t key = keys[base + i];
			struct bc_hash_scratch *s;
			int mode = (base + i) % 4;

			err[i] = bcdb_hash_lookup(db, key, &rr[i]);
			sup[i] = mode == 0;
			want_hops += rr[i].blocks + sup[i];
			r = batch_req(i, P_HASH, sup[i] ? 0 : bcdb_hash_start(db, key), sizeof(*s));
			s = r[i].scratch;
			s->key = key;
			s->file_size = mode <= 1 ? 0 : db->file_size;
		}
		hops = run_batch(r, n);
		CHECK(hops == want_hops, "%s: the kernel read %ld blocks for %d lookups, the reader %ld",
		      what, hops, n, want_hops);
		for (int i = 0; i < n; i++) {
			struct bc_hash_scratch *s = r[i].scratch;
			uint64_t key = keys[base + i];
			unsigned int want = rr[i].blocks + sup[i];

			if (err[i]) {
				CHECK(r[i].res == err[i], "%s: key %#llx res %d, reader %d", what,
				      (unsigned long long)key, r[i].res, err[i]);
				st->errors++;
				continue;
			}
			st->present += rr[i].found;
			st->absent += !rr[i].found;
			CHECK(r[i].res == rr[i].found && s->found == (__u32)rr[i].found &&
			      (!rr[i].found || s->value == rr[i].value) && s->key == key,
			      "%s: key %#llx res %d found %u, reader found %d", what,
			      (unsigned long long)key, r[i].res, s->found, rr[i].found);
			CHECK(!rr[i].found || rr[i].value == bc_value_of(key), "%s: reader value", what);
			CHECK(s->hops == want && (r[i].hops < 0 || r[i].hops == (int)want),
			      "%s: key %#llx hops %u (counted %d), reader %u", what,
			      (unsigned long long)key, s->hops, r[i].hops, want);
		}
		if (failures > 40)
			return;
	}
}

/*
 * Range scans of [lo, hi] through btree_range, one chain per call, resuming
 * while BC_RANGE_F_MORE says so.  Each call is compared with the reader's
 * call (count, values, more, resume, blocks), and all values of the range
 * with the sorted keys[] (the model).
 */
static void check_range(struct bcdb *db, const uint64_t *keys, uint64_t n, uint64_t lo,
			uint64_t hi, uint32_t max, struct range_stats *st, const char *what)
{
	uint64_t values[BC_RANGE_MAX], want_lo, want_hi, got = 0;
	struct bcdb_range rr;
	int calls = 0;

	for (want_lo = 0; want_lo < n && keys[want_lo] < lo; want_lo++)
		;
	for (want_hi = want_lo; want_hi < n && keys[want_hi] <= hi; want_hi++)
		;
	st->ranges++;
	for (;;) {
		struct bc_range_scratch *s;
		int err, sup = calls == 0 && st->ranges % 3 == 0;
		struct req *r;
		long hops;

		err = bcdb_btree_range(db, lo, hi, values, max, &rr);
		CHECK(err == 0, "%s: reader range: %s", what, bcdb_errname(err));
		if (err)
			return;
		r = batch_req(0, P_RANGE, sup ? 0 : bcdb_btree_start(db), sizeof(*s));
		s = r[0].scratch;
		s->lo = lo;
		s->hi = hi;
		s->max = max;
		s->file_size = sup ? 0 : db->file_size;
		hops = run_batch(r, 1);
		calls++;
		st->calls++;
		CHECK(r[0].res == (int)rr.count && s->count == rr.count &&
		      !!(s->flags & BC_RANGE_F_MORE) == rr.more && (!rr.more || s->resume == rr.resume) &&
		      !memcmp(s->values, values, rr.count * sizeof(values[0])),
		      "%s: [%#llx, %#llx] max %u: res %d count %u more %u, reader count %u more %d",
		      what, (unsigned long long)lo, (unsigned long long)hi, max, r[0].res, s->count,
		      s->flags & BC_RANGE_F_MORE, rr.count, rr.more);
		CHECK(hops == rr.blocks + sup && s->hops == hops,
		      "%s: range read %ld blocks (program says %u), reader %u", what, hops, s->hops,
		      rr.blocks + sup);
		for (uint32_t i = 0; i < rr.count; i++) {
			CHECK(want_lo + got + i < want_hi &&
			      values[i] == bc_value_of(keys[want_lo + got + i]),
			      "%s: value %llu of the range is wrong", what, (unsigned long long)(got + i));
			if (failures > 40)
				return;
		}
		got += rr.count;
		if (!(s->flags & BC_RANGE_F_MORE) || r[0].res < 0)
			break;
		st->resumed++;
		lo = s->resume;
		if (failures > 40)
			return;
	}
	st->values += got;
	CHECK(got == want_hi - want_lo, "%s: range gave %llu values, want %llu", what,
	      (unsigned long long)got, (unsigned long long)(want_hi - want_lo));
}

static void check_ranges(struct bcdb *db, uint64_t seed, uint64_t n, int nranges,
			 struct range_stats *st, const char *what)
{
	static const uint32_t maxes[] = { 0, 1, 3, 8, 55, 56, 100 };
	uint64_t *keys = malloc((n + 1) * sizeof(*keys));

	for (uint64_t i = 0; i < n; i++)
		keys[i] = bc_key_of(seed, i);
	qsort(keys, n, sizeof(*keys), cmp_u64);
	for (int q = 0; q < nranges && failures <= 40; q++) {
		uint32_t max = maxes[q % ARRAY_LEN(maxes)];
		uint64_t lo, hi, a, b;

		if (q == 0 && n <= 5000) {
			lo = 0, hi = UINT64_MAX;		/* everything */
		} else if (q == 1) {
			lo = 10, hi = 9;			/* empty */
		} else if (!n || q % 5 == 4) {
			lo = rnd();				/* anywhere, short */
			hi = lo + (rnd() >> 44);
			if (hi < lo)
				hi = UINT64_MAX;
		} else {
			/* up to 400 keys, bounds on, just below or just above a key */
			a = rnd() % n;
			b = a + rnd() % 400;
			if (b >= n)
				b = n - 1;
			lo = keys[a] - (q % 3 == 1) + (q % 3 == 2);
			hi = keys[b] + (q % 4 == 1) - (q % 4 == 2 && b > a);
		}
		if (max == 1 && q == 0)
			max = 56;
		check_range(db, keys, n, lo, hi, max, st, what);
	}
	free(keys);
}

const struct tree trees[6] = {
	{ 200, 4096, 255, 1, 0 }, { 60000, 4096, 255, 2, 1 }, { 100000, 4096, 64, 3, 0 },
	{ 100000, 512, 24, 4, 1 }, { 100000, 512, 12, 5, 0 }, { 100000, 512, 8, 6, 1 },
};
/* the test-run test adds these */
const struct tree small_trees[4] = {
	{ 1, 512, 0, 1, 0 }, { 31, 512, 0, 1, 0 }, { 5000, 512, 2, 13, 1 }, { 30000, 4096, 0, 2, 0 },
};

void lookups_on(const struct tree *t, uint64_t seed, size_t nkeys, int nranges,
		       struct stats *st, struct range_stats *rs)
{
	struct bc_build_info info;
	uint64_t *keys;
	struct bcdb db;
	char what[96];
	int err;

	snprintf(what, sizeof(what), "%s n=%llu node=%u fanout=%u", env.name,
		 (unsigned long long)t->n, t->ns, t->f);
	btree_file("t", t->n, t->ns, t->f, seed, t->scatter, &info);
	CHECK(info.depth == t->depth, "%s: depth %u, want %u", what, info.depth, t->depth);
	err = bcdb_open(&db, wpath("t"));
	if (err)
		die("bcdb_open", err);
	env_file(wpath("t"), t->ns);
	keys = make_keys(seed, t->n, nkeys);
	/* the first 200 one at a time (the counter checks each), the rest in flight together */
	check_lookups(&db, keys, nkeys < 200 ? nkeys : 200, 1, st, what);
	if (nkeys > 200)
		check_lookups(&db, keys + 200, nkeys - 200, BATCH, st, what);
	if (nranges)
		check_ranges(&db, seed, t->n, nranges, rs, what);
	free(keys);
	bcdb_close(&db);
}

const struct htab htabs[5] = {
	{ 10000, 512, 0, 0, 0 }, { 10000, 512, 4, 300, 1 }, { 100000, 4096, 0, 0, 0 },
	{ 20000, 4096, 20, 100, 1 }, { 3000, 512, 0, 1, 0 },
};

void hash_on(const struct htab *h, uint64_t seed, size_t nkeys, struct stats *st,
		    uint32_t *max_chain)
{
	struct bc_build_info info;
	uint64_t *keys;
	struct bcdb db;
	char what[96];
	int err;

	snprintf(what, sizeof(what), "%s hash n=%llu block=%u fanout=%u buckets=%llu", env.name,
		 (unsigned long long)h->n, h->bs, h->f, (unsigned long long)h->nb);
	hash_file("h", h->n, h->bs, h->f, h->nb, seed, h->scatter, &info);
	if (info.max_chain > *max_chain)
		*max_chain = info.max_chain;
	err = bcdb_open(&db, wpath("h"));
	if (err)
		die("bcdb_open", err);
	env_file(wpath("h"), h->bs);
	if (h->nb == 1)
		nkeys /= 5;	/* chains of up to 100 blocks: fewer lookups */
	keys = make_keys(seed, h->n, nkeys);
	check_hash(&db, keys, nkeys < 100 ? nkeys : 100, 1, st, what);
	if (nkeys > 100)
		check_hash(&db, keys + 100, nkeys - 100, BATCH, st, what);
	free(keys);
	bcdb_close(&db);
}
