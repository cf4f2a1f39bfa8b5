// SPDX-License-Identifier: MIT
/*
 * Lookups: filling the programs' scratch areas, the SQE, and what a CQE
 * means: the row's payload from the leaf in the buffer and its overflow
 * pages (read here with pread), decoded and handed to the caller; the next
 * chain of an index key or a range.  With the top levels of the b-trees in
 * memory (bcsql_cache(), cache.c) every chain starts below them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static uint32_t be16(const unsigned char *p) { return p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static uint64_t page_off(const struct bcsql_db *db, uint32_t pgno)
{
	return (uint64_t)(pgno - 1) * db->page_size;
}

int bcsql_read_page(struct bcsql_db *db, uint32_t pgno, void *buf)
{
	ssize_t n;

	if (pgno == 0 || pgno > db->npages)
		return -BCSQL_E_EOF;
	n = pread(db->fd, buf, db->page_size, page_off(db, pgno));
	if (n < 0)
		return -errno;
	return n == (ssize_t)db->page_size ? 0 : -EIO;
}

/*
 * r's next lookup: prog on t (and ix) with a scratch area of len bytes,
 * zeroed but for the geometry every scratch area starts with.
 */
static void req_setup(struct bcsql_req *r, struct bcsql_table *t, struct bcsql_index *ix, int prog,
		      uint32_t len)
{
	struct bcsql_geom *g = &r->scratch.rowid.g;

	memset(&r->scratch, 0, sizeof(r->scratch));
	g->page_size = t->db->page_size;
	g->usable = t->db->usable;
	g->npages = t->db->npages;
	r->t = t;
	r->ix = ix;
	r->prog = prog;
	r->scratch_len = len;
	r->chains = r->pages = r->user_walks = 0;
}

int bcsql_req_init(struct bcsql_db *db, struct bcsql_req *r)
{
	memset(r, 0, sizeof(*r));
	if (posix_memalign(&r->page, 4096, BCSQL_PAGE_MAX))
		return -ENOMEM;
	(void)db;
	return 0;
}

struct bcsql_db *bcsql_req_db(const struct bcsql_req *r)
{
	return r->t ? r->t->db : NULL;
}

void bcsql_req_free(struct bcsql_req *r)
{
	free(r->page);
	r->page = NULL;
}

/* ------------------------------------------------------------ requests */

int bcsql_req_rowid(struct bcsql_table *t, struct bcsql_req *r, int64_t rowid)
{
	uint32_t start;
	int64_t bound;

	req_setup(r, t, NULL, BCSQL_PROG_ROWID, sizeof(struct bcsql_rowid_scratch));
	r->scratch.rowid.rowid = rowid;
	bcsql_cache_table_start(t, rowid, &start, &bound);
	r->offset = page_off(t->db, start);
	return 0;
}

int bcsql_req_index(struct bcsql_index *ix, struct bcsql_req *r, const struct bcsql_value *key)
{
	struct bcsql_index_scratch *s = &r->scratch.index;
	uint32_t start;

	if (key->type != (ix->key_type == BCSQL_KEY_INT ? BCSQL_INTEGER : BCSQL_TEXT))
		return -EINVAL;
	if (key->type == BCSQL_TEXT && key->n > BCSQL_KEY_MAX)
		return -BCSQL_E_UNSUPPORTED;
	req_setup(r, ix->t, ix, ix->key_type == BCSQL_KEY_INT ? BCSQL_PROG_INDEX_INT :
		  BCSQL_PROG_INDEX_TEXT, sizeof(*s));
	s->table_root = ix->t->root;
	s->key_type = ix->key_type;
	if (key->type == BCSQL_INTEGER) {
		s->ikey = key->i;
	} else {
		s->key_len = key->n;
		memcpy(s->key, key->p, key->n);
	}
	bcsql_cache_index_start(ix, s, &start);
	r->offset = page_off(ix->t->db, start);
	return 0;
}

/*
 * The range's next subtree: a walk down from the root (or below the cached
 * levels) to the first rowid >= cursor; r->bound is the largest rowid that
 * subtree holds.
 */
static void range_descend(struct bcsql_req *r, int64_t cursor)
{
	struct bcsql_range_scratch *s = &r->scratch.range;
	uint32_t start;

	bcsql_cache_table_start(r->t, cursor, &start, &r->bound);
	memset(s->path, 0, sizeof(s->path));
	s->cursor = cursor;
	s->mode = BCSQL_RANGE_DESCEND;
	s->level = 0;
	r->offset = page_off(r->t->db, start);
}

int bcsql_req_range(struct bcsql_table *t, struct bcsql_req *r, int64_t lo, int64_t hi)
{
	struct bcsql_range_scratch *s = &r->scratch.range;

	if (lo > hi)
		return -EINVAL;
	req_setup(r, t, NULL, BCSQL_PROG_RANGE, sizeof(*s));
	s->lo = lo;
	s->hi = hi;
	range_descend(r, lo);
	return 0;
}

void bcsql_prep(struct bcsql_req *r, struct io_uring_sqe *sqe, unsigned int flags)
{
	struct bcsql_db *db = r->t->db;

	io_uring_ext_prep_bpf_chain(sqe, db->file_slot, r->page, db->page_size, r->offset,
				    db->prog_base + r->prog);
	io_uring_ext_sqe_set_scratch(sqe, &r->scratch, r->scratch_len);
	io_uring_ext_sqe_set_chain_flags(sqe, flags & BCSQL_GENERIC ? IORING_BPF_CHAIN_GENERIC : 0);
}

/* ------------------------------------------------------------ rows */

/*
 * A cell's payload of p bytes, whole, in *bufp (malloc'ed, the caller frees
 * it): the `local` bytes at `at` (on the page), the rest from the chain of
 * overflow pages that starts at page ovfl, read with pread.  -EUCLEAN for a
 * chain that ends early, -ELOOP for one longer than the file.
 */
int bcsql_payload(struct bcsql_db *db, const unsigned char *at, uint32_t local, uint64_t p,
		  uint32_t ovfl, unsigned char **bufp)
{
	unsigned char *buf, *pg = NULL;
	uint64_t have = local;
	uint32_t hops = 0;
	int ret = 0;

	*bufp = NULL;
	if (p > 0x7fffffff || local > p || (local < p && !ovfl))
		return -EUCLEAN;
	buf = malloc(p ? p : 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, at, local);
	if (have < p && posix_memalign((void **)&pg, 4096, db->page_size)) {
		free(buf);
		return -ENOMEM;
	}
	while (have < p) {
		uint64_t n = db->usable - 4;

		if (++hops > db->npages) {
			ret = -ELOOP;
			break;
		}
		ret = bcsql_read_page(db, ovfl, pg);
		if (ret)
			break;
		if (n > p - have)
			n = p - have;
		memcpy(buf + have, pg + 4, n);
		have += n;
		ovfl = be32(pg);
		if (have < p && !ovfl) {
			ret = -EUCLEAN;
			break;
		}
	}
	free(pg);
	if (ret) {
		free(buf);
		return ret;
	}
	*bufp = buf;
	return 0;
}

/*
 * The row whose payload starts at off in the page in r->page: its payload
 * (bcsql_payload()), decoded and handed to fn.
 */
static int deliver(struct bcsql_req *r, uint32_t off, uint32_t local, uint64_t payload,
		   uint32_t overflow, int64_t rowid, bcsql_row_fn fn, void *arg)
{
	struct bcsql_table *t = r->t;
	struct bcsql_value *cols;
	unsigned char *buf;
	int ret;

	if (off + (uint64_t)local > t->db->usable)
		return -EUCLEAN;
	ret = bcsql_payload(t->db, (unsigned char *)r->page + off, local, payload, overflow, &buf);
	if (ret)
		return ret;
	cols = calloc(t->ncols, sizeof(*cols));
	if (!cols) {
		free(buf);
		return -ENOMEM;
	}
	ret = bcsql_decode_record(buf, payload, t, rowid, cols);
	if (!ret) {
		struct bcsql_row row = { .rowid = rowid, .ncols = t->ncols, .cols = cols };

		ret = fn ? fn(arg, &row) : 0;
	}
	free(buf);
	free(cols);
	return ret;
}

/* Leaf table cell i of the page in r->page: deliver its row. */
static int deliver_cell(struct bcsql_req *r, uint32_t pgno, uint32_t i, int64_t *rowid,
			bcsql_row_fn fn, void *arg)
{
	struct bcsql_db *db = r->t->db;
	const unsigned char *pg = r->page;
	uint32_t hdr = pgno == 1 ? BCSQL_HEADER_SIZE : 0, n, off, local, ovfl = 0;
	uint64_t p, v;
	int l1, l2;

	n = be16(pg + hdr + BCSQL_PH_NCELLS);
	if (pg[hdr] != BCSQL_LEAF_TABLE || i >= n || hdr + 8 + 2 * n > db->usable)
		return -EUCLEAN;
	off = be16(pg + hdr + 8 + 2 * i);
	if (off >= db->usable)
		return -EUCLEAN;
	l1 = bcsql_varint(pg + off, db->usable - off, &p);
	l2 = l1 ? bcsql_varint(pg + off + l1, db->usable - off - l1, &v) : 0;
	if (!l2)
		return -EUCLEAN;
	off += l1 + l2;
	local = bcsql_local_size(p, db->usable, 0);
	if (off + (uint64_t)local + (local < p ? 4 : 0) > db->usable)
		return -EUCLEAN;
	if (local < p)
		ovfl = be32(pg + off + local);
	*rowid = (int64_t)v;
	return deliver(r, off, local, p, ovfl, (int64_t)v, fn, arg);
}

/*
 * An index chain that ended with -EOVERFLOW (an entry whose bytes on the
 * page cannot decide) or -EDOM (a REAL met by an INTEGER key): the index
 * walk again in user space, which reads overflow pages and compares REALs,
 * then the row through the table's chain as usual (phase 1).
 */
static int index_in_user_space(struct bcsql_req *r)
{
	struct bcsql_index_scratch *s = &r->scratch.index;
	int ret;

	if (r->prog != BCSQL_PROG_INDEX_INT && r->prog != BCSQL_PROG_INDEX_TEXT)
		return -EINVAL;
	ret = bcsql_index_walk(r->ix, s);
	if (ret)
		return ret;
	r->user_walks++;
	if (!s->cand || !s->cand_eq)
		return 0;
	s->phase = 1;
	s->row.rowid = s->cand_rowid;
	r->offset = page_off(r->t->db, r->t->root);
	return 1;
}

/*
 * The CQE of r's chain (res = cqe->res): the rows it found go to fn.
 * Returns 0 when the lookup is done, 1 when it needs another chain (prep and
 * submit r again), or a negative errno: the chain's (a BCSQL_E_* errno of
 * the program for a corrupt page, or the kernel's), -EUCLEAN for a record or
 * overflow chain user space finds corrupt, -ELOOP for a range that does not
 * advance, or fn's non-zero return.
 */
int bcsql_complete(struct bcsql_req *r, int res, bcsql_row_fn fn, void *arg)
{
	struct bcsql_db *db = r->t->db;
	uint32_t start;
	int ret;

	r->chains++;
	if (res == -BCSQL_E_SPILL || res == -BCSQL_E_REAL)
		return index_in_user_space(r);
	if (res < 0)
		return res;
	switch (r->prog) {
	case BCSQL_PROG_ROWID: {
		struct bcsql_rowid_scratch *s = &r->scratch.rowid;

		r->pages += s->g.hops;
		if (res != 1)
			return 0;
		return deliver(r, s->payload_off, s->local, s->payload, s->overflow, s->rowid, fn, arg);
	}
	case BCSQL_PROG_INDEX_INT:
	case BCSQL_PROG_INDEX_TEXT: {
		struct bcsql_index_scratch *s = &r->scratch.index;

		r->pages += s->row.g.hops;
		if (res != 1)
			return 0;
		ret = deliver(r, s->row.payload_off, s->row.local, s->row.payload, s->row.overflow,
			      s->row.rowid, fn, arg);
		if (ret)
			return ret;
		/* the next entry of the same key */
		s->phase = 0;
		s->has_after = 1;
		s->after = s->row.rowid;
		bcsql_cache_index_start(r->ix, s, &start);
		r->offset = page_off(db, start);
		return 1;
	}
	case BCSQL_PROG_RANGE: {
		struct bcsql_range_scratch *s = &r->scratch.range;
		int64_t rowid, prev = 0;
		int any = 0;

		r->pages += s->g.hops;
		if (res == 0)
			goto subtree_done;
		if (res != s->count || s->first + s->count > s->ncells)
			return -EUCLEAN;
		for (uint32_t i = s->first; i < (uint32_t)s->first + s->count; i++) {
			ret = deliver_cell(r, s->leaf, i, &rowid, fn, arg);
			if (ret)
				return ret;
			if ((any && rowid <= prev) || rowid < s->cursor || rowid > s->hi)
				return -EUCLEAN;
			prev = rowid;
			any = 1;
		}
		if (prev != s->last)
			return -EUCLEAN;
		if (s->last == INT64_MAX || s->last >= s->hi)
			return 0;
		if (s->more) {
			if (s->level >= BCSQL_MAX_DEPTH)
				return -EUCLEAN;
			s->cursor = s->last + 1;
			s->mode = BCSQL_RANGE_ADVANCE;
			r->offset = page_off(db, s->path[s->level].pgno);
			return 1;
		}
subtree_done:
		/* the chain's subtree is done: the next one below the cache */
		if (r->bound >= s->hi)
			return 0;
		range_descend(r, r->bound + 1);
		return 1;
	}
	}
	return -EINVAL;
}
