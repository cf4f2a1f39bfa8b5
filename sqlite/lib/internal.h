/* SPDX-License-Identifier: MIT */
/* What the files of libbpfchain-sqlite share: the database, table and index. */
#ifndef BPFCHAIN_SQLITE_INTERNAL_H
#define BPFCHAIN_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include "bpfchain-sqlite.h"

struct bcsql_cache_page {
	uint32_t pgno;
	unsigned char *page;
};

/* the top levels of a b-tree in memory (bcsql_cache) */
struct bcsql_tree_cache {
	unsigned int levels, n;
	struct bcsql_cache_page *pages;	/* sorted by pgno */
};

/* column affinities (SQLite's "Datatypes" document, section 3) */
enum bcsql_affinity { BCSQL_AFF_BLOB, BCSQL_AFF_TEXT, BCSQL_AFF_NUMERIC, BCSQL_AFF_INTEGER, BCSQL_AFF_REAL };

struct bcsql_col {
	char *name;
	enum bcsql_affinity affinity;	/* REAL: integers stored for whole REALs */
	int has_default;
	struct bcsql_value dflt;	/* for records shorter than the table */
	unsigned char *dflt_bytes;
};

struct bcsql_table {
	struct bcsql_db *db;
	char *name;
	uint32_t root;
	int ncols, alias;		/* alias: the INTEGER PRIMARY KEY column, or -1 */
	struct bcsql_col *cols;
	struct bcsql_tree_cache cache;
	struct bcsql_table *next;
};

struct bcsql_index {
	struct bcsql_table *t;
	char *name;
	uint32_t root;
	int key_type;			/* BCSQL_KEY_INT / BCSQL_KEY_TEXT */
	struct bcsql_tree_cache cache;
	struct bcsql_index *next;
};

struct bcsql_db {
	sqlite3 *sql;			/* holds the read transaction (shared lock) */
	int fd;
	uint32_t page_size, usable, npages;
	unsigned int file_slot, prog_base;
	int prog_fds[BCSQL_NR_PROGS];
	void *skels[BCSQL_NR_PROGS];
	struct bcsql_table *tables;
	struct bcsql_index *indexes;
};

/* record.c */
int bcsql_decode_record(const unsigned char *p, size_t n, struct bcsql_table *t, int64_t rowid,
			struct bcsql_value *cols);
int bcsql_varint(const unsigned char *p, size_t n, uint64_t *v);
int bcsql_serial_size(uint64_t st, uint64_t *size);
int64_t bcsql_int_value(const unsigned char *p, uint64_t st);

/* cache.c */
void bcsql_cache_free(struct bcsql_tree_cache *c);
int bcsql_cache_table_start(struct bcsql_table *t, int64_t rowid, uint32_t *start, int64_t *bound);
int bcsql_cache_index_start(struct bcsql_index *ix, struct bcsql_index_scratch *s, uint32_t *start);
int bcsql_index_walk(struct bcsql_index *ix, struct bcsql_index_scratch *s);

/* progs.c: the programs' skeletons */
void bcsql_progs_free(struct bcsql_db *db);

/* walk.c: a page of the file, a cell's payload */
int bcsql_read_page(struct bcsql_db *db, uint32_t pgno, void *buf);
int bcsql_payload(struct bcsql_db *db, const unsigned char *at, uint32_t local, uint64_t p,
		  uint32_t ovfl, unsigned char **bufp);

#endif
