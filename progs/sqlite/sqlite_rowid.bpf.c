// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * SQLite rowid lookup in a table b-tree (sqlite_format.h).  Scratch: struct
 * bcsql_rowid_scratch.  First page: the table's root page (or any table page
 * on the way down); block length = the page size.  Each interior page is
 * searched for the first cell whose rowid is >= the key, and the chain goes
 * to that cell's child (the right-most child past the last cell).  At the
 * leaf: result 1 and the cell described in the scratch, or 0; the leaf stays
 * in the buffer.  A corrupt page ends the chain with a BCSQL_E_* errno,
 * negated.
 */
#include "sqlite_common.bpf.h"

static __always_inline long sqlite_rowid_main(struct sq_hop *ctx, struct bcsql_rowid_scratch *s, __u32 scratch_len)
{
	struct sq_page pg;
	int err;

	if (scratch_len < sizeof(*s))
		return -BCSQL_E_ARG;
	s->g.hops = ctx->hop + 1;
	err = sq_page_open(ctx, &s->g, &pg);
	if (err)
		return err;
	return sq_rowid_hop(ctx, &pg, s);
}

SQ_PROGRAM(sqlite_rowid);
