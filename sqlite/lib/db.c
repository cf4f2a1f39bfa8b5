// SPDX-License-Identifier: MIT
/*
 * Opening a database: the file header (our reading of it, from the format
 * document), the schema through the SQLite library, and the read
 * transaction that holds SQLite's shared lock until bcsql_close(), so that
 * no writer changes a page under a chain.  The refusals live here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "internal.h"

static int err_set(char *err, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static uint32_t be16(const unsigned char *p) { return p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/*
 * The file header: magic, page size, reserved bytes, text encoding.
 * Returns 0 or a negative BCSQL_E_* / errno.
 */
static int read_header(struct bcsql_db *db, const char *path, char *err, size_t errlen)
{
	static const char magic[16] = "SQLite format 3";
	unsigned char h[BCSQL_HEADER_SIZE];
	uint32_t ps;
	struct stat st;
	ssize_t n;

	if (fstat(db->fd, &st))
		return err_set(err, errlen, -errno, "%s: %s", path, strerror(errno));
	n = pread(db->fd, h, sizeof(h), 0);
	if (n < 0)
		return err_set(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (n < (ssize_t)sizeof(h) || memcmp(h, magic, sizeof(magic)))
		return err_set(err, errlen, -BCSQL_E_NOTDB, "%s: not an SQLite database", path);
	ps = be16(h + BCSQL_FH_PAGE_SIZE);
	if (ps == 1)
		ps = 65536;
	if (ps < 512 || (ps & (ps - 1)))
		return err_set(err, errlen, -BCSQL_E_NOTDB, "%s: not an SQLite database (page size %u)",
			       path, ps);
	if (ps > BCSQL_PAGE_MAX)
		return err_set(err, errlen, -BCSQL_E_PAGESIZE,
			       "%s: page size %u: chains read at most %u bytes per hop", path, ps,
			       BCSQL_PAGE_MAX);
	db->page_size = ps;
	db->usable = ps - h[BCSQL_FH_RESERVED];
	if (db->usable < BCSQL_USABLE_MIN)
		return err_set(err, errlen, -BCSQL_E_NOTDB, "%s: not an SQLite database (usable size %u)",
			       path, db->usable);
	if (be32(h + BCSQL_FH_ENCODING) > 1)
		return err_set(err, errlen, -BCSQL_E_UNSUPPORTED, "%s: UTF-16 text encoding", path);
	db->npages = st.st_size / ps;
	return 0;
}

/*
 * WAL mode with frames in the -wal file: the main file's pages may be
 * stale.  Checked with the read transaction open (a writer that appended
 * after that point cannot make a checkpoint overwrite a page we read).
 */
static int check_wal(struct bcsql_db *db, const char *path, const unsigned char *h,
		     char *err, size_t errlen)
{
	char wal[4096];
	struct stat st;

	if (h[BCSQL_FH_WRITE_VERSION] != 2 && h[BCSQL_FH_READ_VERSION] != 2)
		return 0;
	(void)db;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0 && st.st_size > 32)
		return err_set(err, errlen, -BCSQL_E_WAL,
			       "%s: WAL mode and %s holds frames (checkpoint it first)", path, wal);
	return 0;
}

static int exec(struct bcsql_db *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db->sql, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, errlen, -BCSQL_E_SQLITE, "sqlite3: %s: %s", sql,
			msg ? msg : sqlite3_errmsg(db->sql));
		sqlite3_free(msg);
		return -BCSQL_E_SQLITE;
	}
	return 0;
}

int bcsql_open(const char *path, unsigned int flags, struct bcsql_db **dbp, char *err, size_t errlen)
{
	unsigned char h[BCSQL_HEADER_SIZE];
	struct bcsql_db *db;
	int ret;

	*dbp = NULL;
	if (flags & ~BCSQL_O_DIRECT)
		return err_set(err, errlen, -EINVAL, "bcsql_open: flags 0x%x", flags);
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	for (int i = 0; i < BCSQL_NR_PROGS; i++)
		db->prog_fds[i] = -1;
	db->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (db->fd < 0) {
		ret = err_set(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	ret = read_header(db, path, err, errlen);
	if (ret)
		goto fail;
	/* the shared lock: a read transaction that has read the schema */
	if (sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		ret = err_set(err, errlen, -BCSQL_E_SQLITE, "sqlite3: %s", sqlite3_errmsg(db->sql));
		goto fail;
	}
	ret = exec(db, "BEGIN; SELECT count(*) FROM sqlite_schema", err, errlen);
	if (ret)
		goto fail;
	if (pread(db->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		ret = err_set(err, errlen, -EIO, "%s: short read", path);
		goto fail;
	}
	ret = check_wal(db, path, h, err, errlen);
	if (ret)
		goto fail;
	/* the header again, under the lock */
	ret = read_header(db, path, err, errlen);
	if (ret)
		goto fail;
	if (flags & BCSQL_O_DIRECT) {
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);

		if (fd < 0) {
			ret = err_set(err, errlen, -errno, "%s: O_DIRECT: %s", path, strerror(errno));
			goto fail;
		}
		close(db->fd);
		db->fd = fd;
	}
	*dbp = db;
	return 0;
fail:
	bcsql_close(db);
	return ret;
}

int bcsql_fd(const struct bcsql_db *db)
{
	return db->fd;
}

uint32_t bcsql_page_size(const struct bcsql_db *db)
{
	return db->page_size;
}

/*
 * A column's affinity from its declared type, by the rules of SQLite's
 * "Datatypes" document (section 3.1, in order): INT, then CHAR, CLOB or
 * TEXT, then BLOB or no type, then REAL, FLOA or DOUB, else NUMERIC.
 */
static enum bcsql_affinity affinity(const char *type)
{
	char up[256];
	size_t i;

	for (i = 0; type && type[i] && i < sizeof(up) - 1; i++)
		up[i] = type[i] >= 'a' && type[i] <= 'z' ? type[i] - 32 : type[i];
	up[i] = 0;
	if (strstr(up, "INT"))
		return BCSQL_AFF_INTEGER;
	if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
		return BCSQL_AFF_TEXT;
	if (strstr(up, "BLOB") || !up[0])
		return BCSQL_AFF_BLOB;
	if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
		return BCSQL_AFF_REAL;
	return BCSQL_AFF_NUMERIC;
}

/* The key type of an index on a column of this affinity: 0 if none. */
static int affinity_key(const char *type)
{
	switch (affinity(type)) {
	case BCSQL_AFF_INTEGER:
		return BCSQL_KEY_INT;
	case BCSQL_AFF_TEXT:
		return BCSQL_KEY_TEXT;
	default:
		return 0;
	}
}

static int prepare(struct bcsql_db *db, sqlite3_stmt **st, const char *sql, const char *arg)
{
	if (sqlite3_prepare_v2(db->sql, sql, -1, st, NULL) != SQLITE_OK)
		return -BCSQL_E_SQLITE;
	if (arg)
		sqlite3_bind_text(*st, 1, arg, -1, SQLITE_TRANSIENT);
	return 0;
}

/* A column's default value, evaluated once by SQLite. */
static int column_default(struct bcsql_db *db, struct bcsql_col *c, const char *expr)
{
	sqlite3_stmt *st;
	char *sql = sqlite3_mprintf("SELECT %s", expr);
	int ret = 0;

	if (!sql)
		return -ENOMEM;
	if (sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		return -BCSQL_E_UNSUPPORTED;
	}
	sqlite3_free(sql);
	if (sqlite3_step(st) == SQLITE_ROW) {
		c->has_default = 1;
		switch (sqlite3_column_type(st, 0)) {
		case SQLITE_INTEGER:
			c->dflt.type = BCSQL_INTEGER;
			c->dflt.i = sqlite3_column_int64(st, 0);
			break;
		case SQLITE_FLOAT:
			c->dflt.type = BCSQL_REAL;
			c->dflt.r = sqlite3_column_double(st, 0);
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB:
			c->dflt.type = sqlite3_column_type(st, 0) == SQLITE_TEXT ? BCSQL_TEXT : BCSQL_BLOB;
			c->dflt.n = sqlite3_column_bytes(st, 0);
			c->dflt_bytes = malloc(c->dflt.n + 1);
			if (!c->dflt_bytes) {
				ret = -ENOMEM;
				break;
			}
			memcpy(c->dflt_bytes, sqlite3_column_blob(st, 0), c->dflt.n);
			c->dflt.p = c->dflt_bytes;
			break;
		default:
			c->dflt.type = BCSQL_NULL;
		}
	}
	sqlite3_finalize(st);
	return ret;
}

int bcsql_table(struct bcsql_db *db, const char *name, struct bcsql_table **tp)
{
	sqlite3_stmt *st = NULL;
	struct bcsql_table *t;
	int ret, npk = 0, pk_col = -1, pk_int = 0;

	*tp = NULL;
	/* names are case-insensitive (ASCII), as in SQL */
	for (t = db->tables; t; t = t->next)
		if (!strcasecmp(t->name, name)) {
			*tp = t;
			return 0;
		}
	/* PRAGMA table_list: type (table, view, virtual), wr (WITHOUT ROWID), the name as declared */
	if (prepare(db, &st, "SELECT type, wr, name FROM pragma_table_list "
		    "WHERE name = ?1 COLLATE NOCASE AND schema = 'main'", name))
		return -BCSQL_E_SQLITE;
	ret = sqlite3_step(st);
	if (ret != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -BCSQL_E_NOTFOUND;
	}
	ret = strcmp((const char *)sqlite3_column_text(st, 0), "table") ? -BCSQL_E_UNSUPPORTED :
	      sqlite3_column_int(st, 1) ? -BCSQL_E_NOROWID : 0;
	t = ret ? NULL : calloc(1, sizeof(*t));
	if (t)
		t->name = strdup((const char *)sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	if (ret)
		return ret;
	if (!t || !t->name) {
		free(t);
		return -ENOMEM;
	}
	name = t->name;
	t->db = db;
	t->alias = -1;
	if (prepare(db, &st, "SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = ?1", name) ||
	    sqlite3_step(st) != SQLITE_ROW) {
		ret = -BCSQL_E_SQLITE;
		goto fail;
	}
	t->root = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	/* columns: hidden != 0 is a generated (or hidden) column, not in the record */
	if (prepare(db, &st, "SELECT name, type, dflt_value, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid", name)) {
		ret = -BCSQL_E_SQLITE;
		goto fail;
	}
	while ((ret = sqlite3_step(st)) == SQLITE_ROW) {
		struct bcsql_col *c;

		if (sqlite3_column_int(st, 4)) {
			ret = -BCSQL_E_UNSUPPORTED;
			goto fail;
		}
		c = realloc(t->cols, (t->ncols + 1) * sizeof(*c));
		if (!c) {
			ret = -ENOMEM;
			goto fail;
		}
		t->cols = c;
		c = &t->cols[t->ncols++];	/* counted now: fail frees it */
		memset(c, 0, sizeof(*c));
		c->name = strdup((const char *)sqlite3_column_text(st, 0));
		if (!c->name) {
			ret = -ENOMEM;
			goto fail;
		}
		c->affinity = affinity((const char *)sqlite3_column_text(st, 1));
		if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
			ret = column_default(db, c, (const char *)sqlite3_column_text(st, 2));
			if (ret)
				goto fail;
		}
		if (sqlite3_column_int(st, 3)) {
			npk++;
			pk_col = t->ncols - 1;
			pk_int = sqlite3_column_text(st, 1) &&
				 !strcasecmp((const char *)sqlite3_column_text(st, 1), "INTEGER");
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	/* INTEGER PRIMARY KEY: the rowid itself, stored as NULL in the record */
	if (npk == 1 && pk_int)
		t->alias = pk_col;
	if (!t->root || !t->ncols) {
		ret = -BCSQL_E_UNSUPPORTED;
		goto fail;
	}
	t->next = db->tables;
	db->tables = t;
	*tp = t;
	return 0;
fail:
	sqlite3_finalize(st);
	for (int i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].dflt_bytes);
	}
	free(t->cols);
	free(t->name);
	free(t);
	return ret;
}

int bcsql_index(struct bcsql_db *db, struct bcsql_table *t, const char *name, struct bcsql_index **ixp)
{
	sqlite3_stmt *st = NULL;
	struct bcsql_index *ix;
	int ret, nkey = 0, cid = -3, desc = 0, partial = 0, key_type = 0;
	char coll[64] = "";

	*ixp = NULL;
	for (ix = db->indexes; ix; ix = ix->next)
		if (!strcasecmp(ix->name, name) && ix->t == t) {
			*ixp = ix;
			return 0;
		}
	if (prepare(db, &st, "SELECT rootpage, tbl_name, name FROM sqlite_schema "
		    "WHERE type = 'index' AND name = ?1 COLLATE NOCASE", name))
		return -BCSQL_E_SQLITE;
	if (sqlite3_step(st) != SQLITE_ROW || strcasecmp((const char *)sqlite3_column_text(st, 1), t->name)) {
		sqlite3_finalize(st);
		return -BCSQL_E_NOTFOUND;
	}
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		sqlite3_finalize(st);
		return -ENOMEM;
	}
	ix->root = sqlite3_column_int(st, 0);
	ix->name = strdup((const char *)sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	if (!ix->name) {
		free(ix);
		return -ENOMEM;
	}
	name = ix->name;
	/* key columns: one plain column, ascending, BINARY */
	if (prepare(db, &st, "SELECT cid, desc, coll FROM pragma_index_xinfo(?1) WHERE key = 1", name))
		goto sqlfail;
	while (sqlite3_step(st) == SQLITE_ROW) {
		nkey++;
		cid = sqlite3_column_int(st, 0);
		desc = sqlite3_column_int(st, 1);
		snprintf(coll, sizeof(coll), "%s", sqlite3_column_text(st, 2) ?
			 (const char *)sqlite3_column_text(st, 2) : "");
	}
	sqlite3_finalize(st);
	if (prepare(db, &st, "SELECT partial FROM pragma_index_list(?1) WHERE name = ?2", t->name))
		goto sqlfail;
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		partial = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (nkey == 1 && cid >= 0 && strcasecmp(coll, "BINARY")) {
		ret = -BCSQL_E_COLLATION;
		goto fail;
	}
	if (nkey != 1 || cid < 0 || cid >= t->ncols || desc || partial || !ix->root) {
		ret = -BCSQL_E_UNSUPPORTED;
		goto fail;
	}
	if (prepare(db, &st, "SELECT type FROM pragma_table_xinfo(?1) WHERE cid = ?2", t->name))
		goto sqlfail;
	sqlite3_bind_int(st, 2, cid);
	if (sqlite3_step(st) == SQLITE_ROW)
		key_type = affinity_key((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!key_type) {
		ret = -BCSQL_E_UNSUPPORTED;
		goto fail;
	}
	ix->key_type = key_type;
	ix->t = t;
	ix->next = db->indexes;
	db->indexes = ix;
	*ixp = ix;
	return 0;
sqlfail:
	ret = -BCSQL_E_SQLITE;
fail:
	free(ix->name);
	free(ix);
	return ret;
}

int bcsql_index_key_type(const struct bcsql_index *ix)
{
	return ix->key_type;
}

const char *bcsql_strerror(int err)
{
	switch (-err) {
	case BCSQL_E_NOTDB: return "not an SQLite database";
	case BCSQL_E_WAL: return "WAL mode and the -wal file holds frames";
	case BCSQL_E_PAGESIZE: return "page size above 4096";
	case BCSQL_E_NOROWID: return "a WITHOUT ROWID table";
	case BCSQL_E_COLLATION: return "an index column collated other than BINARY";
	case BCSQL_E_NOTFOUND: return "no such table or index";
	case BCSQL_E_UNSUPPORTED: return "not supported";
	case BCSQL_E_SQLITE: return "SQLite library error";
	case BCSQL_E_TEST_RUN: return "BPF_PROG_TEST_RUN failed";
	/* a chain's errors: the programs' (sqlite_format.h) and the kernel's */
	case BCSQL_E_CORRUPT: return "a corrupt page or record (EUCLEAN)";
	case BCSQL_E_PTR: return "a child page number 0 (EFAULT)";
	case BCSQL_E_EOF: return "a page number past the end of the file (ENXIO)";
	case BCSQL_E_LOOP: return "too many pages in one chain: a cycle (ELOOP)";
	case BCSQL_E_SPILL: return "an index entry the search must read spills to an overflow page (EOVERFLOW)";
	case BCSQL_E_REAL: return "an INTEGER key met a REAL value in the index (EDOM)";
	case BCSQL_E_MISSING: return "the index names a rowid the table does not hold (ENOENT)";
	case ERANGE: return "a block past the end of the file (ERANGE)";
	}
	return strerror(err < 0 ? -err : err);
}

void bcsql_close(struct bcsql_db *db)
{
	if (!db)
		return;
	while (db->indexes) {
		struct bcsql_index *ix = db->indexes;

		db->indexes = ix->next;
		bcsql_cache_free(&ix->cache);
		free(ix->name);
		free(ix);
	}
	while (db->tables) {
		struct bcsql_table *t = db->tables;

		db->tables = t->next;
		for (int i = 0; i < t->ncols; i++) {
			free(t->cols[i].name);
			free(t->cols[i].dflt_bytes);
		}
		bcsql_cache_free(&t->cache);
		free(t->cols);
		free(t->name);
		free(t);
	}
	/* ends the read transaction: drops the shared lock */
	if (db->sql)
		sqlite3_close_v2(db->sql);
	if (db->fd >= 0)
		close(db->fd);
	bcsql_progs_free(db);
	free(db);
}
