// SPDX-License-Identifier: MIT
/*
 * The record format (sqlite_format.h): a row's payload to column values,
 * and a row printed as sqlite3 -list prints it.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"

/* The varint at p (n bytes there): its length, or 0 if it runs past n. */
int bcsql_varint(const unsigned char *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < 9; i++) {
		if (i >= n)
			return 0;
		if (i == 8) {
			*v = x << 8 | p[i];
			return 9;
		}
		x = x << 7 | (p[i] & 0x7f);
		if (!(p[i] & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

static int64_t be_int(const unsigned char *p, unsigned int size)
{
	uint64_t x = 0;

	for (unsigned int i = 0; i < size; i++)
		x = x << 8 | p[i];
	return size ? (int64_t)(x << (64 - 8 * size)) >> (64 - 8 * size) : 0;
}

/* The bytes of a value of serial type st; -1 for the reserved 10 and 11. */
int bcsql_serial_size(uint64_t st, uint64_t *size)
{
	static const unsigned char fixed[12] = { 0, 1, 2, 3, 4, 6, 8, 8, 0, 0 };

	if (st == 10 || st == 11)
		return -1;
	*size = st < 12 ? fixed[st] : (st - 12) / 2;
	return 0;
}

/* The integer of serial type st (1..6, 8, 9) at p. */
int64_t bcsql_int_value(const unsigned char *p, uint64_t st)
{
	uint64_t size;

	if (st == 8 || st == 9)
		return st - 8;
	if (st < 1 || st > 6 || bcsql_serial_size(st, &size))
		return 0;
	return be_int(p, size);
}

/*
 * Decode the record p[0..n) of the row rowid into t->ncols values (cols);
 * columns past the record's take the column's default; the INTEGER PRIMARY
 * KEY column, stored as NULL, is the rowid.  -EUCLEAN: the record is
 * malformed (header past the payload, a reserved serial type, a value past
 * the end, more columns than the table).
 */
int bcsql_decode_record(const unsigned char *p, size_t n, struct bcsql_table *t, int64_t rowid,
			struct bcsql_value *cols)
{
	uint64_t hsize, st;
	size_t h, body;
	int c = 0, l;

	l = bcsql_varint(p, n, &hsize);
	if (!l || hsize > n || hsize < (uint64_t)l)
		return -EUCLEAN;
	h = l;
	body = hsize;
	for (; h < hsize; c++) {
		struct bcsql_value *v = &cols[c];
		uint64_t size;

		if (c >= t->ncols)
			return -EUCLEAN;
		l = bcsql_varint(p + h, hsize - h, &st);
		if (!l)
			return -EUCLEAN;
		h += l;
		memset(v, 0, sizeof(*v));
		if (bcsql_serial_size(st, &size))
			return -EUCLEAN;
		v->type = st == 0 ? BCSQL_NULL : st == 7 ? BCSQL_REAL : st < 12 ? BCSQL_INTEGER :
			  st & 1 ? BCSQL_TEXT : BCSQL_BLOB;
		if (size > n - body)
			return -EUCLEAN;
		if (v->type == BCSQL_INTEGER)
			v->i = bcsql_int_value(p + body, st);
		else if (v->type == BCSQL_REAL) {
			uint64_t bits = (uint64_t)be_int(p + body, 8);

			memcpy(&v->r, &bits, sizeof(v->r));
		} else if (v->type == BCSQL_TEXT || v->type == BCSQL_BLOB) {
			v->p = p + body;
			v->n = size;
		}
		/*
		 * A whole REAL in a column of REAL affinity is stored as an
		 * integer and read back as a REAL ("Datatypes", section 3.2).
		 */
		if (v->type == BCSQL_INTEGER && t->cols[c].affinity == BCSQL_AFF_REAL) {
			v->type = BCSQL_REAL;
			v->r = (double)v->i;
		}
		body += size;
	}
	for (; c < t->ncols; c++) {
		if (t->cols[c].has_default)
			cols[c] = t->cols[c].dflt;
		else
			memset(&cols[c], 0, sizeof(cols[c]));
	}
	if (t->alias >= 0 && cols[t->alias].type == BCSQL_NULL) {
		cols[t->alias].type = BCSQL_INTEGER;
		cols[t->alias].i = rowid;
	}
	return 0;
}

/*
 * A REAL as text, the way sqlite3_column_text() renders it (the shell's list
 * mode prints that): by the SQLite library itself, through "SELECT ?1" on a
 * private in-memory connection, so that it matches whatever the library's
 * version does (14.0 is "14.0", not "14").  Returns 0 or -ENOMEM.
 */
static pthread_mutex_t real_lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3 *real_db;
static sqlite3_stmt *real_st;

static int print_real(FILE *f, double r)
{
	int ret = -ENOMEM;

	pthread_mutex_lock(&real_lock);
	if (!real_st) {
		if (!real_db && sqlite3_open_v2(":memory:", &real_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
			sqlite3_close(real_db);
			real_db = NULL;
			goto out;
		}
		if (sqlite3_prepare_v2(real_db, "SELECT ?1", -1, &real_st, NULL) != SQLITE_OK)
			goto out;
	}
	if (sqlite3_bind_double(real_st, 1, r) == SQLITE_OK && sqlite3_step(real_st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(real_st, 0);

		if (t) {
			fputs((const char *)t, f);
			ret = 0;
		}
	}
	sqlite3_reset(real_st);
out:
	pthread_mutex_unlock(&real_lock);
	return ret;
}

/*
 * As the sqlite3 shell's list mode: columns separated by '|', NULL as
 * nothing, integers in decimal, REALs as sqlite3_column_text() renders them,
 * text and blobs as their bytes up to the first NUL (the shell prints them
 * with "%s").
 */
int bcsql_print_list(FILE *f, const struct bcsql_row *row)
{
	for (int c = 0; c < row->ncols; c++) {
		const struct bcsql_value *v = &row->cols[c];

		if (c)
			fputc('|', f);
		switch (v->type) {
		case BCSQL_NULL:
			break;
		case BCSQL_INTEGER:
			fprintf(f, "%lld", (long long)v->i);
			break;
		case BCSQL_REAL:
			if (print_real(f, v->r))
				return -ENOMEM;
			break;
		case BCSQL_TEXT:
		case BCSQL_BLOB:
			fwrite(v->p, 1, strnlen((const char *)v->p, v->n), f);
			break;
		}
	}
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
