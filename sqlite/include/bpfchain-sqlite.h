/* SPDX-License-Identifier: MIT */
/*
 * libbpfchain-sqlite: SQL point queries on a database file written by the
 * real SQLite, answered by IORING_OP_BPF_CHAIN chains (one SQE walks a
 * b-tree from its root to the leaf) on the application's own ring.
 * man -l sqlite/man/bpfchain_sqlite.3 has the whole story; in short:
 *
 *	bcsql_open(path, flags, &db, err, sizeof(err));   schema, shared lock
 *	bcsql_table(db, "t", &t);  bcsql_index(db, t, "t_col", &ix);
 *	bcsql_register(db, &ring);  files slot 0, programs slots 0..3
 *	bcsql_req_init(db, &req);  bcsql_req_rowid(t, &req, 42);  or _index / _range
 *	bcsql_prep(&req, io_uring_get_sqe(&ring), 0);  submit; on its CQE:
 *	bcsql_complete(&req, cqe->res, print_row, NULL);  1: prep + submit again
 *	bcsql_req_free(&req);  bcsql_close(db);
 *
 * Every function returns 0 (or what it documents) or a negative number: a
 * negated errno, or one of the BCSQL_E_* refusals below (<= -1000).  Rows are
 * given to the caller's callback in rowid order (a range, the rows of one
 * index key) with every column decoded; pointers into the row are valid
 * during the callback only.  Integers are host order; the file's are
 * big-endian and decoded here.
 */
#ifndef BPFCHAIN_SQLITE_H
#define BPFCHAIN_SQLITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <liburing-ext.h>
#include "sqlite_format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Refusals (returned negated). */
#define BCSQL_E_NOTDB		1001	/* not an SQLite database file */
#define BCSQL_E_WAL		1002	/* WAL mode and the -wal file holds frames */
#define BCSQL_E_PAGESIZE	1003	/* page size above 4096 */
#define BCSQL_E_NOROWID		1004	/* a WITHOUT ROWID table */
#define BCSQL_E_COLLATION	1005	/* an index column collated other than BINARY */
#define BCSQL_E_NOTFOUND	1006	/* no such table, or no such index on the table */
#define BCSQL_E_UNSUPPORTED	1007	/* UTF-16 text, a virtual table, generated
					 * columns, an index that is not on one
					 * plain column in ascending order, or
					 * partial, or on a column whose affinity
					 * is not INTEGER or TEXT; a TEXT key
					 * longer than BCSQL_KEY_MAX */
#define BCSQL_E_SQLITE		1008	/* the SQLite library failed (message in err) */
#define BCSQL_E_TEST_RUN	1009	/* bcsql_test_run(): BPF_PROG_TEST_RUN failed (errno) */

/* bcsql_test_run(): the hop limit, a ring's default */
#define BCSQL_TEST_RUN_HOPS	256

/* bcsql_open() flags */
#define BCSQL_O_DIRECT		(1U << 0)	/* chains and reads with O_DIRECT */

/* bcsql_prep() flags */
#define BCSQL_GENERIC		(1U << 0)	/* IORING_BPF_CHAIN_GENERIC */

/* the programs, in the program slots prog_base + BCSQL_PROG_* */
enum { BCSQL_PROG_ROWID, BCSQL_PROG_INDEX_INT, BCSQL_PROG_INDEX_TEXT, BCSQL_PROG_RANGE,
       BCSQL_NR_PROGS };
#define BCSQL_ALL_PROGS		((1U << BCSQL_NR_PROGS) - 1)

struct bcsql_db;
struct bcsql_table;
struct bcsql_index;

/* One column value, as SQLite's record holds it. */
enum bcsql_type { BCSQL_NULL, BCSQL_INTEGER, BCSQL_REAL, BCSQL_TEXT, BCSQL_BLOB };

struct bcsql_value {
	enum bcsql_type type;
	int64_t i;		/* BCSQL_INTEGER */
	double r;		/* BCSQL_REAL */
	const unsigned char *p;	/* BCSQL_TEXT (UTF-8, not terminated), BCSQL_BLOB */
	size_t n;		/* their length in bytes */
};

struct bcsql_row {
	int64_t rowid;
	int ncols;		/* the table's columns */
	const struct bcsql_value *cols;
};

/* Called for each row; a non-zero return ends bcsql_complete() with it. */
typedef int (*bcsql_row_fn)(void *arg, const struct bcsql_row *row);

/*
 * One lookup in flight: the caller owns it (one per SQE in flight), fills it
 * with bcsql_req_*, and must not touch it until its CQE is completed.
 * offset, scratch and prog are what bcsql_prep() puts in the SQE (an
 * application that builds its SQEs itself, or a test, may read them).
 */
struct bcsql_req {
	/* the next chain */
	uint64_t offset;	/* file offset of its first page */
	int prog;		/* BCSQL_PROG_* */
	uint32_t scratch_len;
	union {
		struct bcsql_rowid_scratch rowid;
		struct bcsql_index_scratch index;
		struct bcsql_range_scratch range;
		unsigned char bytes[BPF_IO_CHAIN_SCRATCH_SIZE];
	} scratch __attribute__((aligned(8)));
	void *page;		/* page_size bytes, 4096-aligned: the last page read */
	/* private */
	struct bcsql_table *t;
	struct bcsql_index *ix;
	int64_t bound;			/* range: the last rowid of the chain's subtree */
	/* totals of this lookup, for the caller to read: chains, pages they
	 * read, index walks finished in user space (-EOVERFLOW, -EDOM) */
	unsigned int chains, pages, user_walks;
};

int bcsql_open(const char *path, unsigned int flags, struct bcsql_db **dbp, char *err, size_t errlen);
void bcsql_close(struct bcsql_db *db);
int bcsql_fd(const struct bcsql_db *db);
uint32_t bcsql_page_size(const struct bcsql_db *db);
int bcsql_table(struct bcsql_db *db, const char *name, struct bcsql_table **tp);
int bcsql_index(struct bcsql_db *db, struct bcsql_table *t, const char *name, struct bcsql_index **ixp);
/* The index column's key type, BCSQL_KEY_INT or BCSQL_KEY_TEXT. */
int bcsql_index_key_type(const struct bcsql_index *ix);
int bcsql_cache(struct bcsql_table *t, struct bcsql_index *ix, unsigned int levels);
const char *bcsql_strerror(int err);

int bcsql_prog_fds(struct bcsql_db *db, int fds[BCSQL_NR_PROGS]);
int bcsql_register(struct bcsql_db *db, struct io_uring *ring);
/* progs: a mask of 1 << BCSQL_PROG_*; the other slots stay empty */
int bcsql_register_progs(struct bcsql_db *db, struct io_uring *ring, unsigned int progs);
void bcsql_set_slots(struct bcsql_db *db, unsigned int file_slot, unsigned int prog_base);

int bcsql_req_init(struct bcsql_db *db, struct bcsql_req *r);
struct bcsql_db *bcsql_req_db(const struct bcsql_req *r);
void bcsql_req_free(struct bcsql_req *r);
int bcsql_req_rowid(struct bcsql_table *t, struct bcsql_req *r, int64_t rowid);
int bcsql_req_index(struct bcsql_index *ix, struct bcsql_req *r, const struct bcsql_value *key);
int bcsql_req_range(struct bcsql_table *t, struct bcsql_req *r, int64_t lo, int64_t hi);
void bcsql_prep(struct bcsql_req *r, struct io_uring_sqe *sqe, unsigned int flags);
int bcsql_complete(struct bcsql_req *r, int res, bcsql_row_fn fn, void *arg);
/* r's next chain through BPF_PROG_TEST_RUN, without a ring: its CQE res. */
int bcsql_test_run(struct bcsql_req *r);

/* Print a row as sqlite3 -list prints it. */
int bcsql_print_list(FILE *f, const struct bcsql_row *row);

#ifdef __cplusplus
}
#endif

#endif /* BPFCHAIN_SQLITE_H */
