// SPDX-License-Identifier: MIT
/*
 * unit-test DIR: each SQLite program run one page at a time, on pages of a
 * database the real SQLite library writes in DIR, through
 * BPF_PROG_TEST_RUN (built with -DBCSQL_EMU: the programs' C source on the
 * host instead).  Checks what each hop answers (the next page, or done and
 * the scratch's description of the leaf cell, against the row SQLite
 * reads) and every argument check of the programs: a scratch area too
 * short, a block that is not one page, a page of the wrong kind, a key of
 * the wrong type or length, a range that is empty, a resume point that
 * names another page, a hop past the programs' limit, a child past the
 * file's end.  Prints one line a check and "unit-test: N checks, N failed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "internal.h"

#ifdef BCSQL_EMU
#include <sys/mman.h>
long bpfchain_sqlite_rowid(struct bpf_io_chain *ctx);
long bpfchain_sqlite_index_int(struct bpf_io_chain *ctx);
long bpfchain_sqlite_index_text(struct bpf_io_chain *ctx);
long bpfchain_sqlite_range(struct bpf_io_chain *ctx);
#else
#include <bpf/bpf.h>
#endif

static int checks, fails;

#define CHECK(cond, ...) do {							\
	checks++;								\
	printf((cond) ? "ok: " : "FAIL: ");					\
	fails += !(cond);							\
	printf(__VA_ARGS__);							\
	putchar('\n');								\
} while (0)

static struct bcsql_db *db;
static unsigned char *page;	/* the block of the hop */
static unsigned char *scratch;	/* BPF_IO_CHAIN_SCRATCH_SIZE bytes */

struct hop {
	long ret;		/* the program's return value */
	uint64_t next;		/* next_offset */
	uint32_t result;
};

/*
 * Program prog on the block at off of len bytes (hop number hop), with
 * slen bytes of scratch: the block is read from the database file, the
 * scratch is updated in place.
 */
static struct hop run(int prog, uint64_t off, uint32_t len, uint32_t hop, uint32_t slen)
{
	struct hop h = { .ret = -100000 };

	if (pread(bcsql_fd(db), page, len, off) != (ssize_t)len) {
		printf("pread at %llu failed\n", (unsigned long long)off);
		return h;
	}
#ifdef BCSQL_EMU
	static long (*const progs[BCSQL_NR_PROGS])(struct bpf_io_chain *) = {
		bpfchain_sqlite_rowid, bpfchain_sqlite_index_int, bpfchain_sqlite_index_text,
		bpfchain_sqlite_range,
	};
	struct bpf_io_chain ctx = {
		.data = (uint32_t)(uintptr_t)page, .data_end = (uint32_t)(uintptr_t)page + len,
		.scratch = (uint32_t)(uintptr_t)scratch, .len = len, .offset = off, .hop = hop,
		.scratch_len = slen,
	};

	h.ret = progs[prog](&ctx);
	h.next = ctx.next_offset;
	h.result = ctx.result;
#else
	static unsigned char in[BCSQL_PAGE_MAX + BPF_IO_CHAIN_SCRATCH_SIZE];
	static unsigned char out[BCSQL_PAGE_MAX + BPF_IO_CHAIN_SCRATCH_SIZE];
	struct bpf_io_chain cin = { .offset = off, .hop = hop, .scratch_len = slen }, cout;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in, .data_size_in = len + slen,
		.data_out = out, .data_size_out = sizeof(out),
		.ctx_in = &cin, .ctx_size_in = sizeof(cin),
		.ctx_out = &cout, .ctx_size_out = sizeof(cout));
	int fds[BCSQL_NR_PROGS], err;

	err = bcsql_prog_fds(db, fds);
	if (err) {
		printf("loading the programs: %s\n", bcsql_strerror(err));
		return h;
	}
	memcpy(in, page, len);
	memcpy(in + len, scratch, slen);
	err = bpf_prog_test_run_opts(fds[prog], &o);
	if (err) {
		printf("BPF_PROG_TEST_RUN: %s\n", strerror(-err));
		return h;
	}
	memcpy(scratch, out + len, slen);
	h.ret = (int)o.retval;
	h.next = cout.next_offset;
	h.result = cout.result;
#endif
	return h;
}

static void geom(struct bcsql_geom *g)
{
	g->page_size = db->page_size;
	g->usable = db->usable;
	g->npages = db->npages;
}

static uint64_t off_of(uint32_t pgno)
{
	return (uint64_t)(pgno - 1) * db->page_size;
}

/* One integer from the database through SQLite. */
static int64_t sql_int(sqlite3 *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* the page the last walk_rowid() ended on */
static uint32_t last;

/*
 * A rowid lookup of key, hop by hop from the table's root; returns the
 * last hop's answer, *hops the pages read, *ok whether every NEXT named a
 * page of the file.
 */
static struct hop walk_rowid(uint32_t root, int64_t key, unsigned int *hops, int *ok)
{
	struct bcsql_rowid_scratch *s = (void *)scratch;
	uint64_t off = off_of(root);
	struct hop h;

	memset(scratch, 0, BPF_IO_CHAIN_SCRATCH_SIZE);
	geom(&s->g);
	s->rowid = key;
	*ok = 1;
	for (*hops = 0; *hops < 32; ) {
		last = off / db->page_size + 1;
		h = run(BCSQL_PROG_ROWID, off, db->page_size, (*hops)++, sizeof(*s));
		if (h.ret != BPF_IO_CHAIN_NEXT)
			return h;
		if (h.next % db->page_size || h.next >= (uint64_t)db->npages * db->page_size)
			*ok = 0;
		off = h.next;
	}
	return h;
}

int main(int argc, char **argv)
{
	char path[4096], err[512], *sql;
	struct bcsql_rowid_scratch *rs;
	uint32_t root, iroot, sroot;
	sqlite3 *s;
	unsigned int hops;
	struct hop h;
	int ok;

	if (argc != 2) {
		fprintf(stderr, "usage: unit-test DIR\n");
		return 2;
	}
#ifdef BCSQL_EMU
	page = mmap(NULL, BCSQL_PAGE_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		    -1, 0);
	scratch = mmap(NULL, BPF_IO_CHAIN_SCRATCH_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (page == MAP_FAILED || scratch == MAP_FAILED)
		return 77;
#else
	page = aligned_alloc(4096, BCSQL_PAGE_MAX);
	scratch = calloc(1, BPF_IO_CHAIN_SCRATCH_SIZE);
#endif
	if (!page || !scratch)
		return 1;
	rs = (void *)scratch;
	snprintf(path, sizeof(path), "%s/unit-test.db", argv[1]);
	unlink(path);
	/* a three-level table of 1024-byte pages, with overflowing rows, and two indexes */
	if (sqlite3_open(path, &s) != SQLITE_OK ||
	    sqlite3_exec(s, "PRAGMA page_size = 1024;"
			 "CREATE TABLE t(id INTEGER PRIMARY KEY, n INT, s TEXT);"
			 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)"
			 " INSERT INTO t SELECT i * 2, i % 500, 'v' || i ||"
			 " CASE WHEN i % 50 = 0 THEN printf('%.*c', 2000, 'x') ELSE '' END FROM c;"
			 "CREATE INDEX t_n ON t(n); CREATE INDEX t_s ON t(s);", NULL, NULL, NULL) != SQLITE_OK) {
		printf("FAIL: sqlite3: %s\n", sqlite3_errmsg(s));
		return 1;
	}
	root = sql_int(s, "SELECT rootpage FROM sqlite_schema WHERE name = 't'");
	iroot = sql_int(s, "SELECT rootpage FROM sqlite_schema WHERE name = 't_n'");
	sroot = sql_int(s, "SELECT rootpage FROM sqlite_schema WHERE name = 't_s'");
	if (bcsql_open(path, 0, &db, err, sizeof(err))) {
		printf("FAIL: bcsql_open: %s\n", err);
		return 1;
	}

	/* found: the leaf, and the cell of rowid 2002 (i = 1001) */
	h = walk_rowid(root, 2002, &hops, &ok);
	CHECK(h.ret == BPF_IO_CHAIN_DONE && h.result == 1 && rs->found == 1 && ok && hops == 3,
	      "rowid 2002 from the root: done after %u pages, every one in the file, result %u",
	      hops, h.result);
	{
		uint64_t p, v;
		int l1 = bcsql_varint(page + rs->cell, db->usable - rs->cell, &p);
		int l2 = l1 ? bcsql_varint(page + rs->cell + l1, db->usable - rs->cell - l1, &v) : 0;

		CHECK(l2 && v == 2002 && p == rs->payload && rs->payload_off == rs->cell + l1 + l2 &&
		      rs->leaf == last,
		      "its cell on leaf %u: rowid %llu, payload %llu bytes at %u (%u local, overflow page %u)",
		      rs->leaf, (unsigned long long)v, (unsigned long long)rs->payload, rs->payload_off,
		      rs->local, rs->overflow);
		sql = sqlite3_mprintf("SELECT length(CAST(s AS BLOB)) FROM t WHERE id = 2002");
		CHECK(rs->local == rs->payload && rs->overflow == 0 && sql_int(s, sql) < 100,
		      "a short row: all on the leaf");
		sqlite3_free(sql);
	}
	/* a row that overflows: i a multiple of 50 */
	h = walk_rowid(root, 5000, &hops, &ok);
	CHECK(h.ret == BPF_IO_CHAIN_DONE && h.result == 1 && rs->local < rs->payload &&
	      rs->overflow > 0 && rs->overflow <= db->npages &&
	      rs->local == bcsql_local_size(rs->payload, db->usable, 0),
	      "rowid 5000 (2000 bytes of text): %u of %llu bytes local, first overflow page %u",
	      rs->local, (unsigned long long)rs->payload, rs->overflow);
	/* absent: below, between and above the rowids (the even 2..40000) */
	for (int64_t k = -1; k <= 40003; k += 20002) {
		h = walk_rowid(root, k, &hops, &ok);
		CHECK(h.ret == BPF_IO_CHAIN_DONE && h.result == 0 && rs->found == 0 && ok,
		      "rowid %lld: not found, after %u pages", (long long)k, hops);
	}

	/* the argument checks, on the root page: -EINVAL */
	memset(scratch, 0, BPF_IO_CHAIN_SCRATCH_SIZE);
	geom(&rs->g);
	rs->rowid = 2;
	h = run(BCSQL_PROG_ROWID, off_of(root), db->page_size, 0, sizeof(*rs) - 1);
	CHECK(h.ret == -EINVAL, "rowid: scratch one byte short: %ld", h.ret);
	h = run(BCSQL_PROG_ROWID, off_of(root), 512, 0, sizeof(*rs));
	CHECK(h.ret == -EINVAL, "rowid: a 512-byte block of a 1024-byte page: %ld", h.ret);
	rs->g.usable = 100;
	h = run(BCSQL_PROG_ROWID, off_of(root), db->page_size, 0, sizeof(*rs));
	CHECK(h.ret == -EINVAL, "rowid: a usable size below 480: %ld", h.ret);
	geom(&rs->g);
	h = run(BCSQL_PROG_ROWID, off_of(iroot), db->page_size, 0, sizeof(*rs));
	CHECK(h.ret == -EUCLEAN, "rowid: an index page: %ld", h.ret);
	h = run(BCSQL_PROG_ROWID, off_of(root), db->page_size, BCSQL_MAX_HOPS - 1, sizeof(*rs));
	CHECK(h.ret == -ELOOP, "rowid: an interior page at hop %d: %ld", BCSQL_MAX_HOPS - 1, h.ret);
	rs->g.npages = 2;
	h = run(BCSQL_PROG_ROWID, off_of(root), db->page_size, 0, sizeof(*rs));
	CHECK(h.ret == -ENXIO, "rowid: a child past a 2-page file: %ld", h.ret);

	/* index programs */
	{
		struct bcsql_index_scratch *is = (void *)scratch;

		memset(scratch, 0, BPF_IO_CHAIN_SCRATCH_SIZE);
		geom(&is->row.g);
		is->table_root = root;
		is->key_type = BCSQL_KEY_INT;
		is->ikey = 7;
		h = run(BCSQL_PROG_INDEX_INT, off_of(iroot), db->page_size, 0, sizeof(*is));
		CHECK(h.ret == BPF_IO_CHAIN_NEXT && h.next % db->page_size == 0 && is->index_pages == 1,
		      "index_int, key 7, the index root: next page %llu",
		      (unsigned long long)(h.next / db->page_size + 1));
		h = run(BCSQL_PROG_INDEX_INT, off_of(iroot), db->page_size, 0, sizeof(*is) - 1);
		CHECK(h.ret == -EINVAL, "index_int: scratch one byte short: %ld", h.ret);
		is->key_type = BCSQL_KEY_TEXT;
		h = run(BCSQL_PROG_INDEX_INT, off_of(iroot), db->page_size, 0, sizeof(*is));
		CHECK(h.ret == -EINVAL, "index_int: a TEXT key: %ld", h.ret);
		memset(scratch, 0, BPF_IO_CHAIN_SCRATCH_SIZE);
		geom(&is->row.g);
		is->table_root = root;
		is->key_type = BCSQL_KEY_TEXT;
		is->key_len = BCSQL_KEY_MAX + 1;
		h = run(BCSQL_PROG_INDEX_TEXT, off_of(sroot), db->page_size, 0, sizeof(*is));
		CHECK(h.ret == -EINVAL, "index_text: a key of %d bytes: %ld", BCSQL_KEY_MAX + 1, h.ret);
		is->key_len = 2;
		memcpy(is->key, "v7", 2);
		h = run(BCSQL_PROG_INDEX_TEXT, off_of(root), db->page_size, 0, sizeof(*is));
		CHECK(h.ret == -EUCLEAN, "index_text: a table page: %ld", h.ret);
		h = run(BCSQL_PROG_INDEX_TEXT, off_of(sroot), db->page_size, 0, sizeof(*is));
		CHECK(h.ret == BPF_IO_CHAIN_NEXT, "index_text, key 'v7', the index root: next page %llu",
		      (unsigned long long)(h.next / db->page_size + 1));
	}

	/* range */
	{
		struct bcsql_range_scratch *r = (void *)scratch;

		memset(scratch, 0, BPF_IO_CHAIN_SCRATCH_SIZE);
		geom(&r->g);
		r->lo = 10;
		r->hi = 9;
		r->cursor = 10;
		h = run(BCSQL_PROG_RANGE, off_of(root), db->page_size, 0, sizeof(*r));
		CHECK(h.ret == -EINVAL, "range: lo above hi: %ld", h.ret);
		r->hi = 100;
		r->cursor = 5;
		h = run(BCSQL_PROG_RANGE, off_of(root), db->page_size, 0, sizeof(*r));
		CHECK(h.ret == -EINVAL, "range: a cursor below lo: %ld", h.ret);
		r->cursor = 10;
		r->mode = 7;
		h = run(BCSQL_PROG_RANGE, off_of(root), db->page_size, 0, sizeof(*r));
		CHECK(h.ret == -EINVAL, "range: an unknown mode: %ld", h.ret);
		r->mode = BCSQL_RANGE_ADVANCE;
		r->path[0].pgno = root + 1;
		h = run(BCSQL_PROG_RANGE, off_of(root), db->page_size, 0, sizeof(*r));
		CHECK(h.ret == -EINVAL, "range: a resume point that names another page: %ld", h.ret);
		r->mode = BCSQL_RANGE_DESCEND;
		r->level = BCSQL_MAX_DEPTH;
		h = run(BCSQL_PROG_RANGE, off_of(root), db->page_size, 0, sizeof(*r));
		CHECK(h.ret == -ELOOP, "range: a path deeper than %d levels: %ld", BCSQL_MAX_DEPTH, h.ret);
		r->level = 0;
		h = run(BCSQL_PROG_RANGE, off_of(root), db->page_size, 0, sizeof(*r));
		CHECK(h.ret == BPF_IO_CHAIN_NEXT && r->path[0].pgno == root && r->level == 1,
		      "range 10..100 from the root: path[0] = page %u, child %u of %u, next page %llu",
		      r->path[0].pgno, r->path[0].idx, r->path[0].n,
		      (unsigned long long)(h.next / db->page_size + 1));
	}

	bcsql_close(db);
	sqlite3_close(s);
	unlink(path);
	printf("unit-test: %d checks, %d failed\n", checks, fails);
	return fails ? 1 : 0;
}
