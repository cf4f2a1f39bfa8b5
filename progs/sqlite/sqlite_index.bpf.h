/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * SQLite index lookup, then the row, in one chain (sqlite_format.h, struct
 * bcsql_index_scratch): SELECT * FROM t WHERE col = ? through a one-column
 * index on col.  Phase 0 walks the index b-tree for the first entry
 * (col, rowid) above the target, (key, after) or (key, -infinity); an entry
 * of an interior index page is a candidate (the smallest entry above the
 * target seen so far) before the chain descends to its left child.  At the
 * index leaf the answer is the leaf's first entry above the target, else
 * the last candidate.  If its column equals the key, phase 1 goes on from
 * the table's root to the row, as sqlite_rowid does.  Result: 1 a row, 0 no
 * further entry with this key.  The column is compared with SQLite's rules
 * and the BINARY collation; an entry that spills to overflow pages is
 * compared on its bytes on the page (-EOVERFLOW when they cannot decide),
 * and an INTEGER key is not compared with a REAL (-EDOM).
 *
 * Two programs share this walk, one per key type (kt, a constant in each):
 * sqlite_index_int and sqlite_index_text.  One program for both would make
 * the verifier explore the INTEGER and the TEXT comparison in every state
 * of the binary search: 865k instructions on the host's verifier, too
 * close to the 1M limit; apart they cost far less (tests/verify_xdp.sh).
 */
#ifndef BPFCHAIN_SQLITE_INDEX_BPF_H
#define BPFCHAIN_SQLITE_INDEX_BPF_H

#include "sqlite_common.bpf.h"

/* Bytes of a column of serial type st (10 and 11 are reserved: -1). */
static __always_inline int sq_serial_size(const struct sq_page *pg, __u64 st, __u32 *size)
{
	__u32 sz;

	if (st < 10) {
		/* 0 1 2 3 4 6 8 8 0 0 */
		sz = st == 5 ? 6 : st == 6 || st == 7 ? 8 : st > 7 ? 0 : st;
	} else {
		if (st < 12 || st > 0x7fffffff)
			return -BCSQL_E_CORRUPT;
		sz = (st - 12) / 2;
	}
	*size = sq_forget(pg, sz);
	return 0;
}

/* The big-endian two's complement integer of serial type st (1..6, 8, 9) at off. */
static __always_inline int sq_int_value(const struct sq_page *pg, __u64 st, __u32 off, __s64 *v)
{
	__u32 size, b, i;
	__u64 x = 0;

	if (st == 8 || st == 9) {
		*v = sq_forget(pg, st - 8);
		return 0;
	}
	if (st < 1 || st > 6 || sq_serial_size(pg, st, &size))
		return -BCSQL_E_CORRUPT;
	if (size < 1 || size > 8)
		return -BCSQL_E_CORRUPT;
	for (i = 0; i < 8 && i < size; i++) {
		if (sq_u8(pg, off + i, &b))
			return -BCSQL_E_CORRUPT;
		x = x << 8 | b;
	}
	x = x << (64 - 8 * size);
	*v = sq_forget(pg, (__s64)x >> (64 - 8 * size));
	return 0;
}

/* Sort class of a serial type: NULL 0, numbers 1, TEXT 2, BLOB 3. */
static __always_inline int sq_class(__u64 st)
{
	if (st == 0)
		return 0;
	if (st < 12)
		return 1;
	return st & 1 ? 2 : 3;
}

/*
 * Index entry i of the page: whether it is above the target (*gt), whether
 * its column equals the key (*eq), and its rowid.  An entry that spills to
 * overflow pages is compared on the bytes it keeps on the page: enough
 * whenever they differ from the key, or the key ends inside them (an entry
 * equal to a key of at most BCSQL_KEY_MAX bytes is too short to spill, so
 * its rowid is never needed); otherwise -EOVERFLOW.
 */
static __always_inline int sq_index_entry(const struct sq_page *pg, __u32 i,
					  const struct bcsql_index_scratch *s, const int kt,
					  int *gt, int *eq, __s64 *rowid)
{
	__u32 off, len, hl, l1, l2, body, size1, size2, end, b, k, klen, local;
	__u64 p, h, st1, st2;
	__s64 v;
	int c = 0;

	if (sq_cell(pg, i, &off))
		return -BCSQL_E_CORRUPT;
	if (pg->type == BCSQL_INTERIOR_INDEX)
		off += 4;
	if (sq_varint(pg, off, &p, &len))
		return -BCSQL_E_CORRUPT;
	off += len;
	if (p > 0x7fffffff)
		return -BCSQL_E_CORRUPT;
	/* the bytes on the page: all p, or local ones and the overflow page number */
	local = bcsql_local_size(p, pg->usable, 1);
	end = off + local;
	if (end + (local < p ? 4 : 0) > pg->usable)
		return -BCSQL_E_CORRUPT;
	if (sq_varint(pg, off, &h, &hl) || sq_varint(pg, off + hl, &st1, &l1) ||
	    sq_varint(pg, off + hl + l1, &st2, &l2))
		return -BCSQL_E_CORRUPT;
	if (hl + l1 + l2 > h || h > p)
		return -BCSQL_E_CORRUPT;
	if (h > local)
		return -BCSQL_E_SPILL;
	body = off + h;
	if (sq_serial_size(pg, st1, &size1) || sq_serial_size(pg, st2, &size2))
		return -BCSQL_E_CORRUPT;
	if (h + size1 + size2 > p)
		return -BCSQL_E_CORRUPT;
	*rowid = 0;
	if (local == p && sq_int_value(pg, st2, body + size1, rowid))
		return -BCSQL_E_CORRUPT;
	/* forget how body, size1 and end were found (sq_varint) */
	pg->work[SQ_W_VALUE] = body;
	pg->work[SQ_W_LEN] = size1;
	body = pg->work[SQ_W_VALUE];
	size1 = pg->work[SQ_W_LEN];
	end = sq_forget(pg, end);

	c = sq_class(st1) - (kt == BCSQL_KEY_INT ? 1 : 2);
	if (c == 0 && kt == BCSQL_KEY_INT) {
		if (st1 == 7)
			return -BCSQL_E_REAL;
		if (body + size1 > end)
			return -BCSQL_E_SPILL;
		if (sq_int_value(pg, st1, body, &v))
			return -BCSQL_E_CORRUPT;
		c = v < s->ikey ? -1 : v > s->ikey;
	} else if (c == 0) {
		klen = s->key_len;
		if (klen > BCSQL_KEY_MAX)
			return -BCSQL_E_ARG;
		for (k = 0; k < BCSQL_KEY_MAX && k < size1 && k < klen; k++) {
			if (body + k >= end)
				return -BCSQL_E_SPILL;
			if (sq_u8(pg, body + k, &b))
				return -BCSQL_E_CORRUPT;
			if (b != s->key[k]) {
				c = b < s->key[k] ? -1 : 1;
				break;
			}
		}
		if (c == 0)
			c = size1 < klen ? -1 : size1 > klen;
	}
	/* an equal entry must be whole on the page: its rowid decides */
	if (c == 0 && local < p)
		return -BCSQL_E_SPILL;
	/* one state for every way c was found */
	c = (int)sq_forget(pg, c + 1) - 1;
	*eq = c == 0;
	*gt = c > 0 || (c == 0 && (!s->has_after || *rowid > s->after));
	return 0;
}

/* Index page: the first entry above the target (n if none). */
static __always_inline int sq_index_upper(const struct sq_page *pg,
					  const struct bcsql_index_scratch *s, const int kt,
					  __u32 *pos)
{
	__u32 lo, hi, mid, it;
	int gt, eq, err;
	__s64 r;

	pg->work[SQ_W_LO] = 0;
	pg->work[SQ_W_HI] = pg->n;
	for (it = 0; it < SQ_SEARCH_ITERS; it++) {
		lo = pg->work[SQ_W_LO];
		hi = pg->work[SQ_W_HI];
		if (lo >= hi)
			break;
		mid = (lo + hi) >> 1;
		err = sq_index_entry(pg, mid, s, kt, &gt, &eq, &r);
		if (err)
			return err;
		if (gt)
			pg->work[SQ_W_HI] = mid;
		else
			pg->work[SQ_W_LO] = mid + 1;
	}
	lo = pg->work[SQ_W_LO];
	hi = pg->work[SQ_W_HI];
	if (lo < hi)
		return -BCSQL_E_CORRUPT;
	*pos = lo;
	return 0;
}

static __always_inline long sqlite_index_main(struct sq_hop *ctx, struct bcsql_index_scratch *s,
					      __u32 scratch_len, const int kt)
{
	__u32 pos, child;
	struct sq_page pg;
	int err, gt, eq;
	__s64 r;

	if (scratch_len < sizeof(*s))
		return -BCSQL_E_ARG;
	if (ctx->hop == 0) {
		/* cand: the caller's, from the index pages it holds (0 if none) */
		s->index_pages = 0;
		s->row.found = 0;
	}
	s->row.g.hops = ctx->hop + 1;
	err = sq_page_open(ctx, &s->row.g, &pg);
	if (err)
		return err;
	if (s->phase) {
		err = sq_rowid_hop(ctx, &pg, &s->row);
		if (err == BPF_IO_CHAIN_DONE && !s->row.found)
			return -BCSQL_E_MISSING;
		return err;
	}

	s->index_pages++;
	if (pg.type != BCSQL_INTERIOR_INDEX && pg.type != BCSQL_LEAF_INDEX)
		return -BCSQL_E_CORRUPT;
	if (s->key_type != kt)
		return -BCSQL_E_ARG;
	err = sq_index_upper(&pg, s, kt, &pos);
	if (err)
		return err;
	if (pos < pg.n) {
		err = sq_index_entry(&pg, pos, s, kt, &gt, &eq, &r);
		if (err)
			return err;
		s->cand = 1;
		s->cand_eq = eq;
		s->cand_rowid = r;
	}
	if (pg.type == BCSQL_INTERIOR_INDEX) {
		if (sq_child(&pg, pos, &child))
			return -BCSQL_E_CORRUPT;
		return sq_next(ctx, &s->row.g, child);
	}
	/* the leaf: its first entry above the target, else the last candidate */
	ctx->result = 0;
	if (!s->cand || !s->cand_eq)
		return BPF_IO_CHAIN_DONE;
	s->phase = 1;
	s->row.rowid = s->cand_rowid;
	return sq_next(ctx, &s->row.g, s->table_root);
}

/* The program NAME for keys of type kt (BCSQL_KEY_*). */
#define SQ_INDEX_PROGRAM(name, kt)						\
static __always_inline long name##_main(struct sq_hop *ctx, struct bcsql_index_scratch *s, \
					__u32 scratch_len)			\
{										\
	return sqlite_index_main(ctx, s, scratch_len, kt);			\
}										\
SQ_PROGRAM(name)

#endif /* BPFCHAIN_SQLITE_INDEX_BPF_H */
