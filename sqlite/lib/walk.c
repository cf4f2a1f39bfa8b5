// SPDX-License-Identifier: MIT
/*
 * Lookups: filling the programs' scratch areas, the SQE, and what a CQE
 * means: the row's payload from the leaf in the buffer and its overflow
 * pages (read here with pread), decoded and handed to the caller; the next
 * chain of an index key or a range.  The top levels of a table's b-tree can
 * be kept in memory (bcsql_cache): a rowid lookup then starts at the first
 * page below them.
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

static void geom(const struct bcsql_db *db, struct bcsql_geom *g)
{
	memset(g, 0, sizeof(*g));
	g->page_size = db->page_size;
	g->usable = db->usable;
	g->npages = db->npages;
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

/* ------------------------------------------------------------ the cache */

static unsigned char *cached(const struct bcsql_tree_cache *c, uint32_t pgno)
{
	unsigned int lo = 0, hi = c->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (c->pages[mid].pgno == pgno)
			return c->pages[mid].page;
		if (c->pages[mid].pgno < pgno)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int cmp_page(const void *a, const void *b)
{
	const struct bcsql_cache_page *x = a, *y = b;

	return x->pgno < y->pgno ? -1 : x->pgno > y->pgno;
}

/* Cell i's offset and the page's cells, of an interior table page. */
static int interior(const struct bcsql_db *db, const unsigned char *pg, uint32_t pgno, uint32_t *n,
		    uint32_t *hdr)
{
	*hdr = pgno == 1 ? BCSQL_HEADER_SIZE : 0;
	if (pg[*hdr] != BCSQL_INTERIOR_TABLE)
		return 0;
	*n = be16(pg + *hdr + BCSQL_PH_NCELLS);
	if (*hdr + BCSQL_PH_INTERIOR_SIZE + 2 * *n > db->usable)
		return -EUCLEAN;
	return 1;
}

static int child_of(const struct bcsql_db *db, const unsigned char *pg, uint32_t hdr, uint32_t i,
		    uint32_t n, uint32_t *child, int64_t *key)
{
	uint32_t off;
	uint64_t v;

	if (i == n) {
		*child = be32(pg + hdr + BCSQL_PH_RIGHT);
		return 0;
	}
	off = be16(pg + hdr + BCSQL_PH_INTERIOR_SIZE + 2 * i);
	if (off + 4 >= db->usable || !bcsql_varint(pg + off + 4, db->usable - off - 4, &v))
		return -EUCLEAN;
	*child = be32(pg + off);
	*key = (int64_t)v;
	return 0;
}

/*
 * Keep the interior pages of the top `levels` levels of t's b-tree in
 * memory (0: none, the default).  ix is for later use and must be NULL.
 * Returns 0, -EINVAL, -ENOMEM, or a read error.
 */
int bcsql_cache(struct bcsql_table *t, struct bcsql_index *ix, unsigned int levels)
{
	struct bcsql_db *db = t->db;
	struct bcsql_tree_cache *c = &t->cache;
	uint32_t *cur = NULL, *next = NULL, ncur = 0, nnext = 0;
	int ret = 0;

	if (ix || levels > BCSQL_MAX_DEPTH)
		return -EINVAL;
	for (unsigned int i = 0; i < c->n; i++)
		free(c->pages[i].page);
	free(c->pages);
	memset(c, 0, sizeof(*c));
	if (!levels)
		return 0;
	cur = malloc(sizeof(*cur));
	if (!cur)
		return -ENOMEM;
	cur[ncur++] = t->root;
	for (unsigned int l = 0; l < levels && ncur; l++) {
		free(next);
		next = NULL;
		nnext = 0;
		for (uint32_t k = 0; k < ncur; k++) {
			struct bcsql_cache_page *p;
			unsigned char *pg;
			uint32_t n = 0, hdr = 0, child;
			int64_t key;

			if (posix_memalign((void **)&pg, 4096, db->page_size)) {
				ret = -ENOMEM;
				goto out;
			}
			ret = bcsql_read_page(db, cur[k], pg);
			if (!ret)
				ret = interior(db, pg, cur[k], &n, &hdr);
			if (ret <= 0) {		/* a leaf is never cached */
				free(pg);
				if (ret < 0)
					goto out;
				continue;
			}
			p = realloc(c->pages, (c->n + 1) * sizeof(*p));
			if (!p) {
				free(pg);
				ret = -ENOMEM;
				goto out;
			}
			c->pages = p;
			c->pages[c->n].pgno = cur[k];
			c->pages[c->n++].page = pg;
			if (l + 1 == levels)
				continue;
			next = realloc(next, (nnext + n + 1) * sizeof(*next));
			if (!next) {
				ret = -ENOMEM;
				goto out;
			}
			for (uint32_t i = 0; i <= n; i++) {
				ret = child_of(db, pg, hdr, i, n, &child, &key);
				if (ret)
					goto out;
				next[nnext++] = child;
			}
		}
		free(cur);
		cur = next;
		ncur = nnext;
		next = NULL;
	}
	ret = 0;
	c->levels = levels;
	qsort(c->pages, c->n, sizeof(*c->pages), cmp_page);
out:
	free(cur);
	free(next);
	return ret;
}

/* The first page of a rowid lookup: the root, or below the cached levels. */
static int start_page(struct bcsql_table *t, int64_t rowid, uint32_t *start)
{
	struct bcsql_db *db = t->db;
	uint32_t pgno = t->root;
	unsigned char *pg;

	for (unsigned int d = 0; d < BCSQL_MAX_DEPTH && (pg = cached(&t->cache, pgno)); d++) {
		uint32_t n, hdr, lo = 0, hi, child;
		int64_t key;
		int ret = interior(db, pg, pgno, &n, &hdr);

		if (ret <= 0)
			return ret ? ret : -EUCLEAN;
		hi = n;
		while (lo < hi) {	/* the first cell whose rowid is >= rowid */
			uint32_t mid = (lo + hi) / 2;

			ret = child_of(db, pg, hdr, mid, n, &child, &key);
			if (ret)
				return ret;
			if (key < rowid)
				lo = mid + 1;
			else
				hi = mid;
		}
		ret = child_of(db, pg, hdr, lo, n, &child, &key);
		if (ret)
			return ret;
		if (child == 0 || child > db->npages)
			return -EUCLEAN;
		pgno = child;
	}
	*start = pgno;
	return 0;
}

/* ------------------------------------------------------------ requests */

int bcsql_req_rowid(struct bcsql_table *t, struct bcsql_req *r, int64_t rowid)
{
	struct bcsql_rowid_scratch *s = &r->scratch.rowid;
	uint32_t start;
	int ret = start_page(t, rowid, &start);

	if (ret)
		return ret;
	memset(&r->scratch, 0, sizeof(r->scratch));
	geom(t->db, &s->g);
	s->rowid = rowid;
	r->t = t;
	r->ix = NULL;
	r->prog = BCSQL_PROG_ROWID;
	r->scratch_len = sizeof(*s);
	r->offset = page_off(t->db, start);
	r->chains = r->pages = 0;
	return 0;
}

int bcsql_req_index(struct bcsql_index *ix, struct bcsql_req *r, const struct bcsql_value *key)
{
	struct bcsql_index_scratch *s = &r->scratch.index;

	if (key->type != (ix->key_type == BCSQL_KEY_INT ? BCSQL_INTEGER : BCSQL_TEXT))
		return -EINVAL;
	if (key->type == BCSQL_TEXT && key->n > BCSQL_KEY_MAX)
		return -BCSQL_E_UNSUPPORTED;
	memset(&r->scratch, 0, sizeof(r->scratch));
	geom(ix->t->db, &s->row.g);
	s->table_root = ix->t->root;
	s->key_type = ix->key_type;
	if (key->type == BCSQL_INTEGER) {
		s->ikey = key->i;
	} else {
		s->key_len = key->n;
		memcpy(s->key, key->p, key->n);
	}
	r->t = ix->t;
	r->ix = ix;
	r->prog = ix->key_type == BCSQL_KEY_INT ? BCSQL_PROG_INDEX_INT : BCSQL_PROG_INDEX_TEXT;
	r->scratch_len = sizeof(*s);
	r->offset = page_off(ix->t->db, ix->root);
	r->chains = r->pages = 0;
	return 0;
}

int bcsql_req_range(struct bcsql_table *t, struct bcsql_req *r, int64_t lo, int64_t hi)
{
	struct bcsql_range_scratch *s = &r->scratch.range;

	if (lo > hi)
		return -EINVAL;
	memset(&r->scratch, 0, sizeof(r->scratch));
	geom(t->db, &s->g);
	s->lo = lo;
	s->hi = hi;
	s->cursor = lo;
	s->mode = BCSQL_RANGE_DESCEND;
	r->t = t;
	r->ix = NULL;
	r->prog = BCSQL_PROG_RANGE;
	r->scratch_len = sizeof(*s);
	r->offset = page_off(t->db, t->root);
	r->chains = r->pages = 0;
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
 * The payload of the leaf cell whose payload starts at off: local bytes
 * from the page, the rest from the overflow chain.  Then decode and hand
 * the row to fn.
 */
static int deliver(struct bcsql_req *r, uint32_t off, uint32_t local, uint64_t payload,
		   uint32_t overflow, int64_t rowid, bcsql_row_fn fn, void *arg)
{
	struct bcsql_table *t = r->t;
	struct bcsql_db *db = t->db;
	struct bcsql_value *cols = NULL;
	unsigned char *buf = NULL, *pg = NULL;
	uint64_t have = local;
	uint32_t hops = 0;
	int ret;

	if (payload > 0x7fffffff || local > payload || off + (uint64_t)local > db->usable ||
	    (local < payload && !overflow))
		return -EUCLEAN;
	buf = malloc(payload ? payload : 1);
	cols = calloc(t->ncols, sizeof(*cols));
	if (!buf || !cols) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(buf, (unsigned char *)r->page + off, local);
	if (have < payload && posix_memalign((void **)&pg, 4096, db->page_size)) {
		ret = -ENOMEM;
		goto out;
	}
	while (have < payload) {
		uint64_t n = db->usable - 4;

		if (++hops > db->npages) {
			ret = -ELOOP;
			goto out;
		}
		ret = bcsql_read_page(db, overflow, pg);
		if (ret)
			goto out;
		if (n > payload - have)
			n = payload - have;
		memcpy(buf + have, pg + 4, n);
		have += n;
		overflow = be32(pg);
		if (have < payload && !overflow) {
			ret = -EUCLEAN;
			goto out;
		}
	}
	ret = bcsql_decode_record(buf, payload, t, rowid, cols);
	if (!ret) {
		struct bcsql_row row = { .rowid = rowid, .ncols = t->ncols, .cols = cols };

		ret = fn ? fn(arg, &row) : 0;
	}
out:
	free(pg);
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
	int ret;

	r->chains++;
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
		r->offset = page_off(db, r->ix->root);
		return 1;
	}
	case BCSQL_PROG_RANGE: {
		struct bcsql_range_scratch *s = &r->scratch.range;
		int64_t rowid, prev = 0;
		int any = 0;

		r->pages += s->g.hops;
		if (res == 0)
			return 0;
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
		if (!s->more || s->last == INT64_MAX || s->last >= s->hi)
			return 0;
		if (s->level >= BCSQL_MAX_DEPTH)
			return -EUCLEAN;
		s->cursor = s->last + 1;
		s->mode = BCSQL_RANGE_ADVANCE;
		r->offset = page_off(db, s->path[s->level].pgno);
		return 1;
	}
	}
	return -EINVAL;
}
