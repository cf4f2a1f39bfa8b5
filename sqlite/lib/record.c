// SPDX-License-Identifier: MIT
/*
 * The record format (sqlite_format.h): a row's payload to column values,
 * and a row printed as sqlite3 -list prints it.
 */
#include <errno.h>
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
	return (int64_t)(x << (64 - 8 * size)) >> (64 - 8 * size);
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
		switch (st) {
		case 0: size = 0; v->type = BCSQL_NULL; break;
		case 1: case 2: case 3: case 4: size = st; v->type = BCSQL_INTEGER; break;
		case 5: size = 6; v->type = BCSQL_INTEGER; break;
		case 6: size = 8; v->type = BCSQL_INTEGER; break;
		case 7: size = 8; v->type = BCSQL_REAL; break;
		case 8: case 9: size = 0; v->type = BCSQL_INTEGER; v->i = st - 8; break;
		case 10: case 11: return -EUCLEAN;
		default:
			size = (st - 12) / 2;
			v->type = st & 1 ? BCSQL_TEXT : BCSQL_BLOB;
		}
		if (size > n - body)
			return -EUCLEAN;
		if (v->type == BCSQL_INTEGER && size)
			v->i = be_int(p + body, size);
		else if (v->type == BCSQL_REAL) {
			uint64_t bits = (uint64_t)be_int(p + body, 8);

			memcpy(&v->r, &bits, sizeof(v->r));
		} else if (v->type == BCSQL_TEXT || v->type == BCSQL_BLOB) {
			v->p = p + body;
			v->n = size;
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
 * As the sqlite3 shell's list mode: columns separated by '|', NULL as
 * nothing, integers in decimal, REALs as SQLite's "%!.15g" (through the
 * library's own printf), text and blobs as their bytes up to the first NUL
 * (the shell prints them with "%s").
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
		case BCSQL_REAL: {
			char *s = sqlite3_mprintf("%!.15g", v->r);

			if (!s)
				return -ENOMEM;
			fputs(s, f);
			sqlite3_free(s);
			break;
		}
		case BCSQL_TEXT:
		case BCSQL_BLOB:
			fwrite(v->p, 1, strnlen((const char *)v->p, v->n), f);
			break;
		}
	}
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
