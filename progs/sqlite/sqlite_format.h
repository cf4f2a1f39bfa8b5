/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The SQLite database file format, as far as the bpfchain programs walk it,
 * and the scratch areas of those programs.  Written from the public
 * "Database File Format" document (https://www.sqlite.org/fileformat2.html);
 * no SQLite code.  Plain C, shared by the BPF programs (sqlite_*.bpf.c), the
 * library that fills their scratch areas (../../sqlite/) and the tests.
 *
 * The file
 *   An array of pages of page_size bytes (header offset 16, big-endian u16,
 *   1 meaning 65536).  Page n (1-based) is at file offset (n - 1) * page_size.
 *   Page 1 starts with the 100-byte file header, then its b-tree page header.
 *   Every integer on a page is big-endian.  The usable size U of a page is
 *   page_size minus the reserved bytes at its end (header offset 20).
 *
 * A b-tree page
 *   byte 0      type: 0x05 interior table, 0x0d leaf table, 0x02 interior
 *               index, 0x0a leaf index
 *   bytes 3-4   number of cells
 *   bytes 8-11  right-most child page number (interior pages only)
 *   then        the cell pointer array: one u16 offset (from the start of the
 *               page) per cell, in key order; it starts 8 bytes (leaf) or 12
 *               bytes (interior) after the page header.
 *
 * Cells
 *   interior table  u32 left child, varint rowid: rowids <= it are in the
 *                   child; larger ones in the next cell's child or the
 *                   right-most one
 *   leaf table      varint payload length P, varint rowid, the first bytes of
 *                   the payload (the record), then, if P does not fit, the u32
 *                   page number of the first overflow page
 *   interior index  u32 left child, varint P, payload, [u32 overflow]
 *   leaf index      varint P, payload, [u32 overflow]
 *   An index payload is a record of the indexed columns, then the rowid;
 *   the keys of an interior index page are entries of the index too.
 *
 * Spill (how much of a payload of P bytes stays on the page)
 *   table leaf: X = U - 35; index: X = ((U - 12) * 64 / 255) - 23.
 *   M = ((U - 12) * 32 / 255) - 23, K = M + ((P - M) % (U - 4)).
 *   P <= X: all P bytes are local.  Otherwise K bytes if K <= X, else M,
 *   and the rest is in overflow pages: u32 next page (0 = last), U - 4 bytes.
 *
 * Varint: 1 to 9 bytes, big-endian; the first 8 bytes give 7 bits each and
 *   say with their high bit that another byte follows; a 9th byte gives 8.
 *   A rowid is the 64-bit two's complement value of its varint.
 *
 * Record: a varint header length (counting itself), one varint serial type
 *   per column, then the column values back to back.  Serial types: 0 NULL;
 *   1, 2, 3, 4, 5, 6: big-endian two's complement integer of 1, 2, 3, 4, 6,
 *   8 bytes; 7: big-endian IEEE 754 double; 8: integer 0; 9: integer 1;
 *   10, 11: reserved; N >= 12 even: a blob of (N - 12) / 2 bytes; N >= 13
 *   odd: text of (N - 13) / 2 bytes in the database's encoding.
 *
 * Errors, returned negated by the programs (so they become the CQE res) and
 * by the user-space walker for the same page:
 */
#ifndef BPFCHAIN_SQLITE_FORMAT_H
#define BPFCHAIN_SQLITE_FORMAT_H

#include <linux/types.h>
#include <linux/errno.h>

#define BCSQL_E_CORRUPT	EUCLEAN		/* a page that is not what the walk
					 * expects: bad type byte, cell count
					 * past the page, a cell pointer or a
					 * cell or varint running past the
					 * usable size, a payload length that
					 * contradicts the page */
#define BCSQL_E_PTR	EFAULT		/* a child page number 0 */
#define BCSQL_E_EOF	ENXIO		/* a child page number past the end
					 * of the file */
#define BCSQL_E_LOOP	ELOOP		/* more than BCSQL_MAX_HOPS pages in
					 * one chain: a cycle, or a tree
					 * deeper than BCSQL_MAX_DEPTH */
#define BCSQL_E_ARG	EINVAL		/* caller error: scratch too short,
					 * page size not 512..4096 or not the
					 * block length, first page not the
					 * one the scratch names */
#define BCSQL_E_SPILL	EOVERFLOW	/* index lookup: an index entry the
					 * search must read is not all on its
					 * page (it spills to overflow pages) */
#define BCSQL_E_REAL	EDOM		/* index lookup: an INTEGER key met a
					 * REAL in the index (not compared by
					 * the program) */
#define BCSQL_E_MISSING	ENOENT		/* index lookup: the index names a
					 * rowid the table does not hold */

#define BCSQL_HEADER_SIZE	100	/* the file header, on page 1 */
#define BCSQL_PAGE_MIN		512
#define BCSQL_PAGE_MAX		4096	/* the kernel reads at most a page per hop */
#define BCSQL_USABLE_MIN	480	/* the format's lower bound on U */
#define BCSQL_MAX_DEPTH		20	/* levels of one b-tree */
#define BCSQL_MAX_HOPS		128	/* pages one chain of these programs reads */

/* page types (byte 0 of the b-tree page header) */
#define BCSQL_INTERIOR_INDEX	0x02
#define BCSQL_INTERIOR_TABLE	0x05
#define BCSQL_LEAF_INDEX	0x0a
#define BCSQL_LEAF_TABLE	0x0d

/* b-tree page header: offsets and sizes */
#define BCSQL_PH_TYPE		0
#define BCSQL_PH_NCELLS		3
#define BCSQL_PH_RIGHT		8
#define BCSQL_PH_LEAF_SIZE	8
#define BCSQL_PH_INTERIOR_SIZE	12

/* file header offsets */
#define BCSQL_FH_PAGE_SIZE	16	/* u16, 1 = 65536 */
#define BCSQL_FH_WRITE_VERSION	18	/* 1 legacy, 2 WAL */
#define BCSQL_FH_READ_VERSION	19
#define BCSQL_FH_RESERVED	20	/* u8 */
#define BCSQL_FH_NPAGES		28	/* u32, valid if 24..27 == 92..95 */
#define BCSQL_FH_ENCODING	56	/* u32: 1 UTF-8, 2 UTF-16le, 3 UTF-16be */

/* Payload bytes stored on a page for a cell of payload length p. */
static inline __u32 bcsql_local_size(__u64 p, __u32 usable, int index)
{
	__u32 x = index ? ((usable - 12) * 64 / 255) - 23 : usable - 35;
	__u32 m = ((usable - 12) * 32 / 255) - 23;
	__u32 k;

	if (p <= x)
		return (__u32)p;
	k = m + (__u32)((p - m) % (usable - 4));
	return k <= x ? k : m;
}

/* ------------------------------------------------------------ scratch areas */

/*
 * What every program's scratch starts with: the database's geometry, filled
 * by the caller (the library reads it from the file header), and the pages
 * read (out).  Host byte order, like the rest of each scratch area.
 */
struct bcsql_geom {
	__u32 page_size;	/* in: 512..4096, a power of two; the block length */
	__u32 usable;		/* in: U, BCSQL_USABLE_MIN..page_size */
	__u32 npages;		/* in: pages in the file; a child past them is -ENXIO */
	__u32 hops;		/* out: pages read by the chain */
	__u32 pad;
	__u64 work[4];		/* the programs' own: values passed through
				 * memory so that the verifier forgets how
				 * they were computed (sqlite_common.bpf.h) */
};

/*
 * sqlite_rowid: one row of a table b-tree by rowid (the program's result:
 * 1 found, 0 not).  First page: the table's root (or any page on the way
 * down, e.g. the first one a user-space cache of the top levels does not
 * hold).  At the end the leaf page is in the destination buffer and, when
 * found, its cell is described below.  Page numbers are 1-based.
 */
struct bcsql_rowid_scratch {
	struct bcsql_geom g;
	__s64 rowid;		/* in: the rowid looked up */
	__u32 found;		/* out: 1 found */
	__u32 leaf;		/* out: page number of the leaf in the buffer */
	__u32 cell;		/* out: offset of the cell in the leaf page */
	__u32 payload_off;	/* out: offset of the payload in the leaf page */
	__u32 local;		/* out: payload bytes on the leaf */
	__u32 overflow;		/* out: first overflow page, 0 = none */
	__u64 payload;		/* out: payload length (the record's size) */
};

/*
 * sqlite_index: SELECT * FROM t WHERE col = ? through a one-column index on
 * col, one row per chain (programs sqlite_index_int and sqlite_index_text,
 * one per key_type).  Phase 0 walks the index b-tree (first page: the
 * index's root, or a page below it, with cand set from the pages above it
 * the caller holds) for the first entry (col, rowid) above
 * (key, after) — above (key, -infinity) without has_after — and, when that
 * entry's column equals key, goes on in the same chain from table_root to
 * the row (phase 1, exactly sqlite_rowid with row.rowid = the entry's
 * rowid).  Result: 1 a row, 0 no further entry equal to key.  The next
 * row of the same key: again with has_after = 1, after = row.rowid.
 * Comparison: SQLite's rules with the BINARY collation: NULL < INTEGER and
 * REAL < TEXT < BLOB; texts by memcmp, then length.
 */
#define BCSQL_KEY_INT		1
#define BCSQL_KEY_TEXT		2
#define BCSQL_KEY_MAX		64	/* bytes of a TEXT key: the verifier's budget */

struct bcsql_index_scratch {
	struct bcsql_rowid_scratch row;	/* phase 1; row.rowid: the entry's rowid */
	__u32 table_root;	/* in: the table's root page */
	__u8 phase;		/* in: 0; 1 once the index entry is found */
	__u8 key_type;		/* in: BCSQL_KEY_INT or BCSQL_KEY_TEXT */
	__u8 has_after;		/* in: skip entries (key, rowid <= after) */
	__u8 cand;		/* in/out: an interior entry above the target seen
				 * (in: 0, or the caller's from index pages it
				 * holds, when the chain starts below the root) */
	__u8 cand_eq;		/* in/out: its column equals key */
	__u8 pad[3];
	__u32 index_pages;	/* out: pages of the index walk */
	__s64 after;		/* in */
	__s64 ikey;		/* in: BCSQL_KEY_INT */
	__s64 cand_rowid;	/* in/out: its rowid */
	__u32 key_len;		/* in: BCSQL_KEY_TEXT, <= BCSQL_KEY_MAX */
	__u8 key[BCSQL_KEY_MAX];	/* in: the text, no terminator */
};

/*
 * sqlite_range: rowids lo..hi of a table b-tree, one leaf per chain.  A
 * chain goes down to the first leaf holding a rowid >= cursor (climbing back
 * up through path[] and down again when a leaf holds none) and ends there,
 * the leaf in the buffer; result: count, the cells of that leaf in the range
 * (cells first .. first + count - 1), 0 when the range holds no further row.
 * more = 1: the range may go on past this leaf; the next chain starts at
 * page path[level].pgno with mode BCSQL_RANGE_ADVANCE and cursor = last + 1,
 * and re-reads only that ancestor and the pages below it.
 *
 * path[l] is the page at level l (0 = the page the first chain started
 * from) and the index of the child taken (n = the right-most child).
 */
#define BCSQL_RANGE_DESCEND	0	/* first chain: from the start page, by cursor */
#define BCSQL_RANGE_ADVANCE	1	/* resume: path[level], its next child */

struct bcsql_range_path {
	__u32 pgno;
	__u16 idx;		/* the child taken: cell idx's, or the right-most if idx == n */
	__u16 n;		/* cells on the page */
};

struct bcsql_range_scratch {
	struct bcsql_geom g;
	__s64 lo, hi;		/* in: the range, lo <= hi */
	__s64 cursor;		/* in: the smallest rowid not returned yet */
	__s64 last;		/* out: the last rowid of the cells returned */
	__u32 leaf;		/* out: page number of the leaf in the buffer */
	__u16 first, count;	/* out: the cells in range on that leaf */
	__u16 ncells;		/* out: cells on that leaf */
	__u8 mode;		/* in: BCSQL_RANGE_* (the program sets DESCEND) */
	__u8 level;		/* in: level of the first page; out: the resume level */
	__u8 depth;		/* out: levels in path (the leaf's + 1) */
	__u8 more;		/* out: 1 resume at path[level] */
	__u16 pad;
	struct bcsql_range_path path[BCSQL_MAX_DEPTH];
};

#endif /* BPFCHAIN_SQLITE_FORMAT_H */
