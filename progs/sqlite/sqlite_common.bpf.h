/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Pieces shared by the SQLite programs (sqlite_format.h describes the
 * format): reading big-endian integers and varints off a page, the page
 * header, the cell pointer array, table and index cells, the bounded
 * binary searches, and the hop to a child page.  Every byte is read through
 * sq_u8(), which checks it against the page's usable size and data_end;
 * every loop has a constant bound.
 */
#ifndef BPFCHAIN_SQLITE_COMMON_BPF_H
#define BPFCHAIN_SQLITE_COMMON_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "bpfchain_uapi.h"
#include "sqlite_format.h"

#define SQ_MASK		(BCSQL_PAGE_MAX - 1)
/*
 * binary search steps: a cell takes at least 4 bytes of a 4096-byte page
 * (its 2-byte pointer and 2 bytes of content at the least), so a page holds
 * at most 1022 cells, and 10 steps find one of 1023 positions; more cells
 * (a corrupt page) leave the search unfinished: -EUCLEAN
 */
#define SQ_SEARCH_ITERS	10

/*
 * The hop's view of the context, so that the walks below do not depend on
 * how the block and the scratch got to them (tests/verify_xdp.bpf.c runs
 * them under the host's verifier as XDP programs).
 */
struct sq_hop {
	void *data, *end;	/* the block */
	__u64 offset;		/* its file offset */
	__u64 next_offset;	/* out, with BPF_IO_CHAIN_NEXT */
	__u32 len;		/* block length */
	__u32 hop;		/* 0 for the first block */
	__u32 result;		/* out, with BPF_IO_CHAIN_DONE */
};

#define SQ_HOP_IN(ctx) {						\
	.data = (void *)(long)(ctx)->data,				\
	.end = (void *)(long)(ctx)->data_end,				\
	.offset = (ctx)->offset, .len = (ctx)->len, .hop = (ctx)->hop,	\
}

/* The program's answer, into the context. */
static __always_inline long sq_hop_out(struct bpf_io_chain *ctx, const struct sq_hop *h, long ret)
{
	if (ret == BPF_IO_CHAIN_NEXT)
		ctx->next_offset = h->next_offset;
	else if (ret == BPF_IO_CHAIN_DONE)
		ctx->result = h->result;
	return ret;
}

/*
 * The program NAME: bpfchain_NAME in section io_chain, which runs
 * NAME_main(hop, scratch, scratch_len) on the hop's view of the context.
 * With SQ_NO_ENTRY defined, nothing: tests/verify_xdp.bpf.c wraps NAME_main
 * in XDP programs instead.
 */
#ifndef SQ_NO_ENTRY
#define SQ_PROGRAM(name)							\
SEC("io_chain")									\
long bpfchain_##name(struct bpf_io_chain *ctx)					\
{										\
	struct sq_hop h = SQ_HOP_IN(ctx);					\
										\
	return sq_hop_out(ctx, &h, name##_main(&h, (void *)(long)ctx->scratch,	\
					       ctx->scratch_len));		\
}										\
char _license[] SEC("license") = "Dual MIT/GPL"
#else
#define SQ_PROGRAM(name) struct sq_hop	/* a declaration, for the semicolon */
#endif

/* The page being walked. */
struct sq_page {
	void *data, *end;
	volatile __u64 *work;	/* the scratch's bcsql_geom.work */
	__u32 pgno;		/* 1-based */
	__u32 usable;		/* U */
	__u32 hdr;		/* offset of the b-tree page header: 100 on page 1 */
	__u32 cpa;		/* offset of the cell pointer array */
	__u32 n;		/* cells */
	__u32 type;		/* BCSQL_{LEAF,INTERIOR}_{TABLE,INDEX} */
};

static __always_inline int sq_u8(const struct sq_page *pg, __u32 off, __u32 *v)
{
	unsigned char *p;

	if (off >= pg->usable)
		return -BCSQL_E_CORRUPT;
	p = pg->data + (off & SQ_MASK);
	if ((void *)(p + 1) > pg->end)
		return -BCSQL_E_CORRUPT;
	*v = *p;
	return 0;
}

static __always_inline int sq_u16(const struct sq_page *pg, __u32 off, __u32 *v)
{
	__u32 a, b;

	if (sq_u8(pg, off, &a) || sq_u8(pg, off + 1, &b))
		return -BCSQL_E_CORRUPT;
	*v = a << 8 | b;
	return 0;
}

static __always_inline int sq_u32(const struct sq_page *pg, __u32 off, __u32 *v)
{
	__u32 a, b;

	if (sq_u16(pg, off, &a) || sq_u16(pg, off + 2, &b))
		return -BCSQL_E_CORRUPT;
	*v = a << 16 | b;
	return 0;
}

/*
 * Verifier state: the nine ways out of a varint, taken inside a binary
 * search of up to SQ_SEARCH_ITERS steps, would multiply into more states
 * than the verifier explores (1M instructions).  Values whose history does
 * not matter go through the scratch (work words): a value read back from
 * memory is just an unknown scalar, so the paths that computed it meet in
 * one state again, and every use checks its bounds anyway.
 */
#define SQ_W_VALUE	0	/* sq_varint: value */
#define SQ_W_LEN	1	/* sq_varint: length */
#define SQ_W_LO		2	/* binary searches */
#define SQ_W_HI		3

/* v, its history forgotten (not while a sq_varint() result is still in work). */
static __always_inline __u64 sq_forget(const struct sq_page *pg, __u64 v)
{
	pg->work[SQ_W_VALUE] = v;
	return pg->work[SQ_W_VALUE];
}

/* The varint at off: its value and its length (1..9). */
static __always_inline int sq_varint(const struct sq_page *pg, __u32 off, __u64 *v, __u32 *len)
{
	__u64 x = 0;
	__u32 b, i;

	for (i = 0; i < 9; i++) {
		if (sq_u8(pg, off + i, &b))
			return -BCSQL_E_CORRUPT;
		if (i == 8) {
			x = x << 8 | b;
			break;
		}
		x = x << 7 | (b & 0x7f);
		if (!(b & 0x80))
			break;
	}
	pg->work[SQ_W_VALUE] = x;
	pg->work[SQ_W_LEN] = i + 1;
	*v = pg->work[SQ_W_VALUE];
	*len = pg->work[SQ_W_LEN] & 0xf;
	return 0;
}

/*
 * The page the chain just read: check the block length against the
 * geometry, find the b-tree page header and the cell pointer array.
 */
static __always_inline int sq_page_open(struct sq_hop *ctx, struct bcsql_geom *g,
					struct sq_page *pg)
{
	__u32 ps = g->page_size, type, n;

	if (ps < BCSQL_PAGE_MIN || ps > BCSQL_PAGE_MAX || (ps & (ps - 1)) || ctx->len != ps)
		return -BCSQL_E_ARG;
	if (g->usable < BCSQL_USABLE_MIN || g->usable > ps || ctx->offset % ps)
		return -BCSQL_E_ARG;
	pg->work = g->work;
	pg->data = ctx->data;
	pg->end = ctx->end;
	pg->usable = g->usable;
	pg->pgno = ctx->offset / ps + 1;
	pg->hdr = pg->pgno == 1 ? BCSQL_HEADER_SIZE : 0;
	if (sq_u8(pg, pg->hdr + BCSQL_PH_TYPE, &type) || sq_u16(pg, pg->hdr + BCSQL_PH_NCELLS, &n))
		return -BCSQL_E_CORRUPT;
	switch (type) {
	case BCSQL_LEAF_TABLE:
	case BCSQL_LEAF_INDEX:
		pg->cpa = pg->hdr + BCSQL_PH_LEAF_SIZE;
		break;
	case BCSQL_INTERIOR_TABLE:
	case BCSQL_INTERIOR_INDEX:
		pg->cpa = pg->hdr + BCSQL_PH_INTERIOR_SIZE;
		break;
	default:
		return -BCSQL_E_CORRUPT;
	}
	if (pg->cpa + 2 * n > pg->usable)
		return -BCSQL_E_CORRUPT;
	/* one state for page 1 and the others, leaves and interior pages */
	pg->cpa = sq_forget(pg, pg->cpa) & SQ_MASK;
	pg->hdr = sq_forget(pg, pg->hdr) & 0x7f;
	pg->type = type;
	pg->n = sq_forget(pg, n) & 0xffff;
	return 0;
}

static __always_inline int sq_interior(const struct sq_page *pg)
{
	return pg->type == BCSQL_INTERIOR_TABLE || pg->type == BCSQL_INTERIOR_INDEX;
}

/* Offset of cell i: inside the cell content area, below the usable size. */
static __always_inline int sq_cell(const struct sq_page *pg, __u32 i, __u32 *off)
{
	if (i >= pg->n || sq_u16(pg, pg->cpa + 2 * (i & 0x7ff), off))
		return -BCSQL_E_CORRUPT;
	if (*off < pg->cpa + 2 * pg->n || *off >= pg->usable)
		return -BCSQL_E_CORRUPT;
	return 0;
}

/* The rowid of table cell i (interior or leaf). */
static __always_inline int sq_table_rowid(const struct sq_page *pg, __u32 i, __s64 *rowid)
{
	__u32 off, len;
	__u64 v;

	if (sq_cell(pg, i, &off))
		return -BCSQL_E_CORRUPT;
	if (pg->type == BCSQL_INTERIOR_TABLE) {
		off += 4;
	} else {
		if (sq_varint(pg, off, &v, &len))
			return -BCSQL_E_CORRUPT;
		off += len;
	}
	if (sq_varint(pg, off, &v, &len))
		return -BCSQL_E_CORRUPT;
	*rowid = (__s64)v;
	return 0;
}

/* Table page: the first cell whose rowid is >= key (n if none). */
static __always_inline int sq_table_lower(const struct sq_page *pg, __s64 key, __u32 *pos)
{
	__u32 lo, hi, mid, it;
	__s64 r;

	pg->work[SQ_W_LO] = 0;
	pg->work[SQ_W_HI] = pg->n;
	for (it = 0; it < SQ_SEARCH_ITERS; it++) {
		lo = pg->work[SQ_W_LO];
		hi = pg->work[SQ_W_HI];
		if (lo >= hi)
			break;
		mid = (lo + hi) >> 1;
		if (sq_table_rowid(pg, mid, &r))
			return -BCSQL_E_CORRUPT;
		if (r < key)
			pg->work[SQ_W_LO] = mid + 1;
		else
			pg->work[SQ_W_HI] = mid;
	}
	lo = pg->work[SQ_W_LO];
	hi = pg->work[SQ_W_HI];
	if (lo < hi)
		return -BCSQL_E_CORRUPT;
	*pos = lo;
	return 0;
}

/* Interior page: the child of cell i (the right-most child when i == n). */
static __always_inline int sq_child(const struct sq_page *pg, __u32 i, __u32 *child)
{
	__u32 off;

	if (i == pg->n)
		return sq_u32(pg, pg->hdr + BCSQL_PH_RIGHT, child) ? -BCSQL_E_CORRUPT : 0;
	if (sq_cell(pg, i, &off) || sq_u32(pg, off, child))
		return -BCSQL_E_CORRUPT;
	return 0;
}

/* Go on to page pgno: a page of the file, within the chain's hop budget. */
static __always_inline int sq_next(struct sq_hop *ctx, const struct bcsql_geom *g,
				   __u32 pgno)
{
	if (pgno == 0)
		return -BCSQL_E_PTR;
	if (pgno > g->npages)
		return -BCSQL_E_EOF;
	if (ctx->hop + 1 >= BCSQL_MAX_HOPS)
		return -BCSQL_E_LOOP;
	ctx->next_offset = (__u64)(pgno - 1) * g->page_size;
	return BPF_IO_CHAIN_NEXT;
}

/*
 * One hop of a rowid lookup in a table b-tree (sqlite_rowid, and phase 1
 * of sqlite_index): descend, or at the leaf fill s and return
 * BPF_IO_CHAIN_DONE with ctx->result = found.  The page must be a table page.
 */
static __always_inline int sq_rowid_hop(struct sq_hop *ctx, const struct sq_page *pg,
					struct bcsql_rowid_scratch *s)
{
	__u32 pos, child, off, len, len2, local, ovfl = 0;
	__u64 p, v;
	__s64 r;

	if (pg->type != BCSQL_INTERIOR_TABLE && pg->type != BCSQL_LEAF_TABLE)
		return -BCSQL_E_CORRUPT;
	if (sq_table_lower(pg, s->rowid, &pos))
		return -BCSQL_E_CORRUPT;
	if (pg->type == BCSQL_INTERIOR_TABLE) {
		if (sq_child(pg, pos, &child))
			return -BCSQL_E_CORRUPT;
		return sq_next(ctx, &s->g, child);
	}
	s->leaf = pg->pgno;
	s->found = 0;
	ctx->result = 0;
	if (pos == pg->n)
		return BPF_IO_CHAIN_DONE;
	if (sq_table_rowid(pg, pos, &r))
		return -BCSQL_E_CORRUPT;
	if (r != s->rowid)
		return BPF_IO_CHAIN_DONE;
	if (sq_cell(pg, pos, &off) || sq_varint(pg, off, &p, &len) ||
	    sq_varint(pg, off + len, &v, &len2))
		return -BCSQL_E_CORRUPT;
	if (p > 0x7fffffff)
		return -BCSQL_E_CORRUPT;
	local = bcsql_local_size(p, pg->usable, 0);
	s->cell = off;
	off += len + len2;
	if (off + local > pg->usable)
		return -BCSQL_E_CORRUPT;
	if (local < p && sq_u32(pg, off + local, &ovfl))
		return -BCSQL_E_CORRUPT;
	if (local < p && (ovfl == 0 || ovfl > s->g.npages))
		return -BCSQL_E_CORRUPT;
	s->payload_off = off;
	s->local = local;
	s->payload = p;
	s->overflow = ovfl;
	s->found = 1;
	ctx->result = 1;
	return BPF_IO_CHAIN_DONE;
}

#endif /* BPFCHAIN_SQLITE_COMMON_BPF_H */
