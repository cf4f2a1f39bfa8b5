// SPDX-License-Identifier: MIT
/*
 * The upper levels of a b-tree in user memory (bcsql_cache()), as an
 * application that caches its hot pages would keep them: a lookup descends
 * the cached interior pages here and its chain starts at the first page
 * below them.  A table's descent also yields the largest rowid the chosen
 * subtree can hold (a range scan goes on in the next subtree past it); an
 * index's yields the candidate entry a chain would have found on the cached
 * pages (sqlite_index.bpf.h), passed on in the scratch area.
 *
 * Written from the file format document like the programs; every page is
 * checked as it is read, and a descent that finds a page it cannot use
 * (corrupt, or an index entry it cannot compare) starts the chain there,
 * so that the chain's program reports it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint32_t be16(const unsigned char *p) { return p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/* An interior page of the wanted type: its header offset and cells. */
struct ipage {
	const unsigned char *p;
	uint32_t pgno, hdr, n;
};

static int ipage_open(const struct bcsql_db *db, const unsigned char *p, uint32_t pgno, int type,
		      struct ipage *ip)
{
	ip->p = p;
	ip->pgno = pgno;
	ip->hdr = pgno == 1 ? BCSQL_HEADER_SIZE : 0;
	if (p[ip->hdr] != type)
		return -EUCLEAN;
	ip->n = be16(p + ip->hdr + BCSQL_PH_NCELLS);
	if (ip->hdr + BCSQL_PH_INTERIOR_SIZE + 2 * ip->n > db->usable)
		return -EUCLEAN;
	return 0;
}

/* The offset of cell i (< n), inside the usable size with room for a child. */
static int ipage_cell(const struct bcsql_db *db, const struct ipage *ip, uint32_t i, uint32_t *off)
{
	*off = be16(ip->p + ip->hdr + BCSQL_PH_INTERIOR_SIZE + 2 * i);
	if (*off < ip->hdr + BCSQL_PH_INTERIOR_SIZE + 2 * ip->n || *off + 5 > db->usable)
		return -EUCLEAN;
	return 0;
}

/* Child i of the page, the right-most one when i == n: a page of the file. */
static int ipage_child(const struct bcsql_db *db, const struct ipage *ip, uint32_t i, uint32_t *child)
{
	uint32_t off;

	if (i == ip->n) {
		*child = be32(ip->p + ip->hdr + BCSQL_PH_RIGHT);
	} else {
		if (ipage_cell(db, ip, i, &off))
			return -EUCLEAN;
		*child = be32(ip->p + off);
	}
	return *child == 0 || *child > db->npages ? -EUCLEAN : 0;
}

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

void bcsql_cache_free(struct bcsql_tree_cache *c)
{
	for (unsigned int i = 0; i < c->n; i++)
		free(c->pages[i].page);
	free(c->pages);
	memset(c, 0, sizeof(*c));
}

/*
 * Read the interior pages (of type `type`) of the top `levels` levels of
 * the b-tree at root into c, level by level.  A leaf ends its branch (it is
 * never cached); a page of another type or a corrupt one fails the call.
 */
static int cache_tree(struct bcsql_db *db, struct bcsql_tree_cache *c, uint32_t root, int type,
		      unsigned int levels)
{
	uint32_t *cur = NULL, *next = NULL, ncur = 0, nnext = 0;
	int leaf = type == BCSQL_INTERIOR_TABLE ? BCSQL_LEAF_TABLE : BCSQL_LEAF_INDEX;
	int ret = 0;

	bcsql_cache_free(c);
	if (!levels)
		return 0;
	cur = malloc(sizeof(*cur));
	if (!cur)
		return -ENOMEM;
	cur[ncur++] = root;
	for (unsigned int l = 0; l < levels && ncur; l++) {
		for (uint32_t k = 0; k < ncur; k++) {
			struct bcsql_cache_page *cp;
			struct ipage ip;
			unsigned char *pg;
			uint32_t *grown;

			if (c->n >= db->npages) {	/* a cycle */
				ret = -EUCLEAN;
				goto out;
			}
			if (posix_memalign((void **)&pg, 4096, db->page_size)) {
				ret = -ENOMEM;
				goto out;
			}
			ret = bcsql_read_page(db, cur[k], pg);
			if (!ret && pg[cur[k] == 1 ? BCSQL_HEADER_SIZE : 0] == leaf) {
				free(pg);
				continue;
			}
			if (!ret)
				ret = ipage_open(db, pg, cur[k], type, &ip);
			if (!ret) {
				cp = realloc(c->pages, (c->n + 1) * sizeof(*cp));
				ret = cp ? 0 : -ENOMEM;
			}
			if (ret) {
				free(pg);
				goto out;
			}
			c->pages = cp;
			c->pages[c->n].pgno = cur[k];
			c->pages[c->n++].page = pg;
			if (l + 1 == levels)
				continue;
			grown = realloc(next, (nnext + ip.n + 1) * sizeof(*next));
			if (!grown) {
				ret = -ENOMEM;
				goto out;
			}
			next = grown;
			for (uint32_t i = 0; i <= ip.n; i++) {
				ret = ipage_child(db, &ip, i, &next[nnext]);
				if (ret)
					goto out;
				nnext++;
			}
		}
		free(cur);
		cur = next;
		ncur = nnext;
		next = NULL;
		nnext = 0;
	}
	c->levels = levels;
	qsort(c->pages, c->n, sizeof(*c->pages), cmp_page);
out:
	free(cur);
	free(next);
	if (ret)
		bcsql_cache_free(c);
	return ret;
}

int bcsql_cache(struct bcsql_table *t, struct bcsql_index *ix, unsigned int levels)
{
	int ret;

	if (levels > BCSQL_MAX_DEPTH || (ix && ix->t != t))
		return -EINVAL;
	ret = cache_tree(t->db, &t->cache, t->root, BCSQL_INTERIOR_TABLE, levels);
	if (!ret && ix)
		ret = cache_tree(t->db, &ix->cache, ix->root, BCSQL_INTERIOR_INDEX, levels);
	return ret;
}

/* ------------------------------------------------------------ tables */

/* The rowid of interior table cell i. */
static int table_key(const struct bcsql_db *db, const struct ipage *ip, uint32_t i, int64_t *key)
{
	uint32_t off;
	uint64_t v;

	if (ipage_cell(db, ip, i, &off) ||
	    !bcsql_varint(ip->p + off + 4, db->usable - off - 4, &v))
		return -EUCLEAN;
	*key = (int64_t)v;
	return 0;
}

/*
 * The first page of a walk to rowid: the table's root, or the first page
 * below the cached levels on the way down.  *bound: the largest rowid that
 * page's subtree can hold (INT64_MAX below right-most children only).
 */
int bcsql_cache_table_start(struct bcsql_table *t, int64_t rowid, uint32_t *start, int64_t *bound)
{
	struct bcsql_db *db = t->db;
	uint32_t pgno = t->root;
	unsigned char *pg;

	*bound = INT64_MAX;
	for (unsigned int d = 0; d < BCSQL_MAX_DEPTH && (pg = cached(&t->cache, pgno)); d++) {
		uint32_t lo = 0, hi, child;
		struct ipage ip;
		int64_t key;

		if (ipage_open(db, pg, pgno, BCSQL_INTERIOR_TABLE, &ip))
			break;
		hi = ip.n;
		while (lo < hi) {	/* the first cell whose rowid is >= rowid */
			uint32_t mid = (lo + hi) / 2;

			if (table_key(db, &ip, mid, &key))
				goto out;
			if (key < rowid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < ip.n && table_key(db, &ip, lo, &key))
			break;
		if (ipage_child(db, &ip, lo, &child))
			break;
		if (lo < ip.n && key < *bound)
			*bound = key;
		pgno = child;
	}
out:
	*start = pgno;
	return 0;
}

/* ------------------------------------------------------------ indexes */

/* An index page: interior or leaf (ipage_open() takes interior ones only). */
static int index_page_open(const struct bcsql_db *db, const unsigned char *p, uint32_t pgno,
			   struct ipage *ip, int *leaf)
{
	uint32_t hdr = pgno == 1 ? BCSQL_HEADER_SIZE : 0;

	*leaf = p[hdr] == BCSQL_LEAF_INDEX;
	if (!*leaf)
		return ipage_open(db, p, pgno, BCSQL_INTERIOR_INDEX, ip);
	ip->p = p;
	ip->pgno = pgno;
	ip->hdr = hdr;
	ip->n = be16(p + hdr + BCSQL_PH_NCELLS);
	return hdr + BCSQL_PH_LEAF_SIZE + 2 * ip->n > db->usable ? -EUCLEAN : 0;
}

/* An INTEGER key against a REAL, as numbers: < 0, 0, > 0 as r is below, equal, above. */
static int cmp_real_int(double r, int64_t i)
{
	int64_t t;

	if (r < -0x1p63)
		return -1;
	if (r >= 0x1p63)
		return 1;
	t = (int64_t)r;		/* toward zero: r and t lie on the same side of i unless t == i */
	if (t != i)
		return t < i ? -1 : 1;
	return r < (double)t ? -1 : r > (double)t;
}

/*
 * Compare index entry i of an index page (leaf: leaf != 0) with the target
 * of s (sqlite_index.bpf.h's rules): *c < 0, 0, > 0 as the entry's column
 * is below, equal to or above the key, and the entry's rowid.  The payload
 * is read whole, overflow pages included; a REAL is compared with an
 * INTEGER key as a number, as SQLite does (the programs stop with -EDOM
 * there).  -EUCLEAN for a malformed entry.
 */
static int index_cmp(struct bcsql_db *db, const struct ipage *ip, int leaf, uint32_t i,
		     const struct bcsql_index_scratch *s, int *c, int64_t *rowid)
{
	uint64_t p, h, st1, st2, size1, size2;
	uint32_t off, local, ovfl = 0, first;
	unsigned char *buf = NULL;
	int l, hl, l1, l2, ret;
	size_t body;

	first = ip->hdr + (leaf ? BCSQL_PH_LEAF_SIZE : BCSQL_PH_INTERIOR_SIZE);
	off = be16(ip->p + first + 2 * i);
	if (off < first + 2 * ip->n || off + 5 > db->usable)
		return -EUCLEAN;
	if (!leaf)
		off += 4;
	l = bcsql_varint(ip->p + off, db->usable - off, &p);
	if (!l || p > 0x7fffffff)
		return -EUCLEAN;
	off += l;
	local = bcsql_local_size(p, db->usable, 1);
	if (off + (uint64_t)local + (local < p ? 4 : 0) > db->usable)
		return -EUCLEAN;
	if (local < p)
		ovfl = be32(ip->p + off + local);
	ret = bcsql_payload(db, ip->p + off, local, p, ovfl, &buf);
	if (ret)
		return ret;
	ret = -EUCLEAN;
	hl = bcsql_varint(buf, p, &h);
	if (!hl || h > p)
		goto out;
	l1 = bcsql_varint(buf + hl, h - hl, &st1);
	l2 = l1 ? bcsql_varint(buf + hl + l1, h - hl - l1, &st2) : 0;
	if (!l2 || bcsql_serial_size(st1, &size1) || bcsql_serial_size(st2, &size2) ||
	    h + size1 + size2 > p || st2 == 0 || st2 == 7 || st2 >= 10)
		goto out;
	body = h;
	*rowid = bcsql_int_value(buf + body + size1, st2);
	*c = (st1 == 0 ? 0 : st1 < 12 ? 1 : st1 & 1 ? 2 : 3) - (s->key_type == BCSQL_KEY_INT ? 1 : 2);
	if (*c == 0 && s->key_type == BCSQL_KEY_INT) {
		if (st1 == 7) {
			uint64_t bits = 0;
			double r;

			for (int k = 0; k < 8; k++)
				bits = bits << 8 | buf[body + k];
			memcpy(&r, &bits, sizeof(r));
			*c = cmp_real_int(r, s->ikey);
		} else {
			int64_t v = bcsql_int_value(buf + body, st1);

			*c = v < s->ikey ? -1 : v > s->ikey;
		}
	} else if (*c == 0) {
		uint64_t n = size1 < s->key_len ? size1 : s->key_len;

		*c = memcmp(buf + body, s->key, n);
		if (*c == 0)
			*c = size1 < s->key_len ? -1 : size1 > s->key_len;
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

/*
 * The index walk of s (phase 0, sqlite_index.bpf.h) in user space, from
 * the index's root: through the cached pages only (whole == 0: *start is
 * then the first page below them, where the chain starts), or all the way
 * to the leaf, reading the pages that are not cached (whole != 0: *start
 * is the leaf).  Either way the candidate entry found so far is in s (cand,
 * cand_eq, cand_rowid), as the program keeps it.  A page that cannot be
 * walked ends a cached descent there (the chain's program reports it) and
 * fails a whole walk with its error.
 */
static int index_walk(struct bcsql_index *ix, struct bcsql_index_scratch *s, int whole,
		      uint32_t *start)
{
	struct bcsql_db *db = ix->t->db;
	uint32_t pgno = ix->root;
	unsigned char *pg, *own = NULL;
	int ret = 0;

	s->cand = s->cand_eq = 0;
	s->cand_rowid = 0;
	if (whole && posix_memalign((void **)&own, 4096, db->page_size))
		return -ENOMEM;
	for (unsigned int d = 0;; d++) {
		uint32_t lo = 0, hi, child;
		struct ipage ip;
		int64_t rowid = 0;
		int c = 0, leaf;

		pg = cached(&ix->cache, pgno);
		if (!pg && !whole)
			break;
		if (!pg) {
			ret = bcsql_read_page(db, pgno, own);
			pg = own;
		}
		if (!ret && d >= BCSQL_MAX_DEPTH)
			ret = -ELOOP;
		if (!ret)
			ret = index_page_open(db, pg, pgno, &ip, &leaf);
		hi = ret ? 0 : ip.n;
		while (!ret && lo < hi) {	/* the first entry above the target */
			uint32_t mid = (lo + hi) / 2;

			ret = index_cmp(db, &ip, leaf, mid, s, &c, &rowid);
			if (c > 0 || (c == 0 && (!s->has_after || rowid > s->after)))
				hi = mid;
			else
				lo = mid + 1;
		}
		if (!ret && lo < ip.n)
			ret = index_cmp(db, &ip, leaf, lo, s, &c, &rowid);
		if (!ret && !leaf)
			ret = ipage_child(db, &ip, lo, &child);
		if (ret && !whole) {
			ret = 0;
			break;
		}
		if (ret)
			break;
		if (lo < ip.n) {
			s->cand = 1;
			s->cand_eq = c == 0;
			s->cand_rowid = rowid;
		}
		if (leaf)
			break;
		pgno = child;
	}
	free(own);
	*start = pgno;
	return ret;
}

int bcsql_cache_index_start(struct bcsql_index *ix, struct bcsql_index_scratch *s, uint32_t *start)
{
	return index_walk(ix, s, 0, start);
}

int bcsql_index_walk(struct bcsql_index *ix, struct bcsql_index_scratch *s)
{
	uint32_t leaf;

	return index_walk(ix, s, 1, &leaf);
}
