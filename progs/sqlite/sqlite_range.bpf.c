// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * SQLite rowid range scan of a table b-tree, one leaf per chain, with a
 * resume point (sqlite_format.h, struct bcsql_range_scratch).  Table leaves
 * are not linked to each other, so the path from the start page is kept in
 * the scratch: path[l] = the page at level l and the child taken.  DESCEND:
 * each interior page is searched for the cursor and the child recorded; at
 * the leaf the cells cursor..hi are counted.  A leaf holding no rowid >=
 * cursor (rows deleted below a stale divider) sends the chain back up to the
 * deepest ancestor with a child left (ADVANCE: its next child, then down
 * again).  The chain ends at the first leaf with rows in the range (result:
 * how many) or when none is left (0); more = 1 says where the next chain
 * resumes.
 */
#include "sqlite_common.bpf.h"

/* The deepest level above leaf_level whose page has a child left, or -1. */
static __always_inline int sq_resume_level(struct bcsql_range_scratch *s, __u32 leaf_level)
{
	__u32 i, l;

	for (i = 1; i <= BCSQL_MAX_DEPTH; i++) {
		if (i > leaf_level)
			break;
		l = leaf_level - i;
		if (l >= BCSQL_MAX_DEPTH)
			break;
		if (s->path[l].idx < s->path[l].n)
			return l;
	}
	return -1;
}

static __always_inline long sqlite_range_main(struct sq_hop *ctx, struct bcsql_range_scratch *s, __u32 scratch_len)
{
	__u32 lvl, pos, ub, child;
	struct sq_page pg;
	__s64 r, last;
	int err, up;

	if (scratch_len < sizeof(*s))
		return -BCSQL_E_ARG;
	if (ctx->hop == 0) {
		s->more = 0;
		s->count = 0;
		if (s->lo > s->hi || s->cursor < s->lo)
			return -BCSQL_E_ARG;
	}
	s->g.hops = ctx->hop + 1;
	err = sq_page_open(ctx, &s->g, &pg);
	if (err)
		return err;
	if (pg.type != BCSQL_INTERIOR_TABLE && pg.type != BCSQL_LEAF_TABLE)
		return -BCSQL_E_CORRUPT;
	lvl = s->level;
	if (lvl >= BCSQL_MAX_DEPTH)
		return -BCSQL_E_LOOP;

	if (pg.type == BCSQL_INTERIOR_TABLE) {
		if (s->mode == BCSQL_RANGE_ADVANCE) {
			/* back at an ancestor: its next child */
			if (s->path[lvl].pgno != pg.pgno)
				return ctx->hop ? -BCSQL_E_CORRUPT : -BCSQL_E_ARG;
			pos = s->path[lvl].idx + 1;
			if (pos > pg.n)
				return -BCSQL_E_CORRUPT;
		} else if (s->mode == BCSQL_RANGE_DESCEND) {
			if (sq_table_lower(&pg, s->cursor, &pos))
				return -BCSQL_E_CORRUPT;
		} else {
			return -BCSQL_E_ARG;
		}
		if (sq_child(&pg, pos, &child))
			return -BCSQL_E_CORRUPT;
		s->path[lvl].pgno = pg.pgno;
		s->path[lvl].idx = pos;
		s->path[lvl].n = pg.n;
		s->mode = BCSQL_RANGE_DESCEND;
		s->level = lvl + 1;
		return sq_next(ctx, &s->g, child);
	}

	/* a leaf */
	if (s->mode != BCSQL_RANGE_DESCEND)
		return -BCSQL_E_CORRUPT;
	s->depth = lvl + 1;
	s->leaf = pg.pgno;
	s->ncells = pg.n;
	ctx->result = 0;
	if (sq_table_lower(&pg, s->cursor, &pos))
		return -BCSQL_E_CORRUPT;
	if (pos == pg.n) {
		/* nothing >= cursor here: up to the next subtree, if any */
		up = sq_resume_level(s, lvl);
		if (up < 0)
			return BPF_IO_CHAIN_DONE;
		s->mode = BCSQL_RANGE_ADVANCE;
		s->level = up;
		return sq_next(ctx, &s->g, s->path[up & 0x1f].pgno);
	}
	if (sq_table_rowid(&pg, pos, &r))
		return -BCSQL_E_CORRUPT;
	if (r > s->hi)
		return BPF_IO_CHAIN_DONE;
	ub = pg.n;
	if (s->hi < 0x7fffffffffffffffLL && sq_table_lower(&pg, s->hi + 1, &ub))
		return -BCSQL_E_CORRUPT;
	if (ub <= pos || sq_table_rowid(&pg, ub - 1, &last))
		return -BCSQL_E_CORRUPT;
	s->first = pos;
	s->count = ub - pos;
	s->last = last;
	if (ub == pg.n && last < s->hi) {
		up = sq_resume_level(s, lvl);
		if (up >= 0) {
			s->more = 1;
			s->level = up;
		}
	}
	ctx->result = s->count;
	return BPF_IO_CHAIN_DONE;
}

SQ_PROGRAM(sqlite_range);
