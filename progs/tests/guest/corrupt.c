// SPDX-License-Identifier: MIT
/*
 * progs-guest-test chain-corrupt DIR direct|buffered, and the corruption
 * cases test-run also runs: nodes, leaf chains and hash blocks corrupted on
 * disk; the chain ends with the reader's errno (or the kernel's -ERANGE
 * when the scratch leaves EOF to it), never with an answer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"

static const char *res_name(int res)
{
	return res == 1 ? "found" : res == 0 ? "not found" : bcdb_errname(res);
}

/*
 * One lookup of key in the file name (corrupted or not): the reader must
 * fail with want, and the chain too, having read the same blocks.  from:
 * 0 the root with file_size, 1 the superblock, 2 the root with file_size 0
 * (kernel_want is then what the chain gives).
 */
static void corrupt_lookup(const char *name, uint32_t bs, int prog, uint64_t key, int from,
			   int reader_want, int want, int kernel_want, long *cases, const char *what)
{
	struct bcdb_result rr;
	struct bcdb db;
	uint64_t start = 0;
	struct req *r;
	int err, res;
	long hops;

	memset(&rr, 0, sizeof(rr));
	err = bcdb_open(&db, wpath(name));
	if (!err) {
		start = prog == P_HASH ? bcdb_hash_start(&db, key) : bcdb_btree_start(&db);
		err = prog == P_HASH ? bcdb_hash_lookup(&db, key, &rr) : bcdb_btree_lookup(&db, key, &rr);
		bcdb_close(&db);
	}
	/* a superblock the reader refuses on open: only the program's walk from it is checked */
	CHECK(err == reader_want, "%s: reader %d (%s), want %d (%s)", what, err, bcdb_errname(err),
	      reader_want, bcdb_errname(reader_want));
	env_file(wpath(name), bs);
	r = batch_req(0, prog, from == 1 ? 0 : start,
		      prog == P_HASH ? sizeof(struct bc_hash_scratch) : sizeof(struct bc_lookup_scratch));
	if (prog == P_HASH) {
		struct bc_hash_scratch *s = r[0].scratch;

		s->key = key;
		s->file_size = from ? 0 : env.size;
	} else {
		struct bc_lookup_scratch *s = r[0].scratch;

		s->key = key;
		s->file_size = from ? 0 : env.size;
	}
	hops = run_batch(r, 1);
	res = r[0].res;
	if (from == 2)
		want = kernel_want;
	CHECK(res == want, "%s: chain res %d (%s), want %d (%s)", what, res, res_name(res),
	      want, res_name(want));
	if (from == 0 && reader_want == want)
		CHECK(hops == rr.blocks, "%s: chain read %ld blocks, reader %u", what, hops, rr.blocks);
	(*cases)++;
}

static void corrupt_btree(long *cases)
{
	const uint64_t seed = 5, n = 300;
	uint64_t key = bc_key_of(seed, 17), path[BC_MAX_DEPTH];
	struct bc_build_info info;
	struct bcdb db;
	int d;
	static const struct {
		const char *what;
		int level;	/* on the path to key: 0 root, 1 below it, -1 the leaf */
		int field;	/* 0 magic, 1 level, 2 nkeys, 3 the entry leading down the path */
		uint64_t v;
		int want, kernel_want;	/* kernel_want: with scratch file_size 0 */
		uint32_t ns;
	} kinds[] = {
		{ "root magic", 0, 0, 0x12345678, -EBADMSG, -EBADMSG, 512 },
		{ "internal magic", 1, 0, 0, -EBADMSG, -EBADMSG, 512 },
		{ "leaf magic", -1, 0, 0xffffffff, -EBADMSG, -EBADMSG, 512 },
		{ "internal nkeys > capacity", 1, 2, 32, -EUCLEAN, -EUCLEAN, 512 },
		{ "leaf nkeys > capacity", -1, 2, 0xffff, -EUCLEAN, -EUCLEAN, 512 },
		{ "internal nkeys 0", 1, 2, 0, -EUCLEAN, -EUCLEAN, 512 },
		{ "internal node says leaf", 1, 1, 0, -EUCLEAN, -EUCLEAN, 512 },
		{ "leaf level too high", -1, 1, 30, -EUCLEAN, -EUCLEAN, 512 },
		{ "child misaligned", 1, 3, 512 * 3 + 8, -EFAULT, -EFAULT, 512 },
		{ "child 512-aligned, not node-aligned", 1, 3, 512, -EFAULT, -EFAULT, 1024 },
		{ "child is the superblock", 0, 3, 0, -EFAULT, -EFAULT, 512 },
		{ "child past EOF", 1, 3, 1 << 30, -ENXIO, -ERANGE, 512 },
		{ "child points back to the root", 2, 3, ~0ULL, -EUCLEAN, -EUCLEAN, 512 },
	};

	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		union { struct bc_btree_node n; char b[BC_BLOCK_MAX]; } nb;
		uint32_t ns = kinds[k].ns;
		unsigned int idx = 0;
		uint64_t off, v = kinds[k].v;
		int lvl;

		btree_file("c", n, ns, 3, seed, 0, &info);
		if (bcdb_open(&db, wpath("c")))
			die("bcdb_open", EINVAL);
		d = path_of(&db, key, path);
		CHECK(d == 6 && info.depth == 6, "corruption tree depth %d", d);
		lvl = kinds[k].level < 0 ? d - 1 : kinds[k].level;
		off = path[lvl];
		switch (kinds[k].field) {
		case 0: poke32("c", off, v); break;
		case 1: poke16("c", off + 4, v); break;
		case 2: poke16("c", off + 6, v); break;
		default:
			bcdb_read_block(&db, off, nb.b);
			while (idx < nb.n.nkeys && nb.n.e[idx].val != path[lvl + 1])
				idx++;
			poke64("c", off + 16 + 16 * idx + 8, v == ~0ULL ? path[0] : v);
		}
		bcdb_close(&db);
		for (int from = 0; from < 3; from++)
			corrupt_lookup("c", ns, P_LOOKUP, key, from, kinds[k].want, kinds[k].want,
				       kinds[k].kernel_want, cases, kinds[k].what);
	}

	/* a leaf cut in half by truncate, every node above it intact */
	btree_file("c", n, 512, 3, seed, 1, &info);
	if (bcdb_open(&db, wpath("c")))
		die("bcdb_open", EINVAL);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t top = 0;

		key = bc_key_of(seed, i);
		d = path_of(&db, key, path);
		for (int l = 0; l < d - 1; l++)
			top = path[l] > top ? path[l] : top;
		if (top < path[d - 1])
			break;
	}
	bcdb_close(&db);
	if (truncate(wpath("c"), path[d - 1] + 256))
		die("truncate", errno);
	/* from the superblock the program takes its stale file_size: the kernel's check */
	for (int from = 0; from < 3; from++)
		corrupt_lookup("c", 512, P_LOOKUP, key, from, -ENXIO, from ? -ERANGE : -ENXIO, -ERANGE,
			       cases, "truncated leaf");
	key = bc_key_of(seed, 17);

	/* the superblock, walked by the program (from = 1) */
	btree_file("c", n, 512, 3, seed, 0, &info);
	poke64("c", 0, 0x1122334455667788ULL);
	corrupt_lookup("c", 512, P_LOOKUP, key, 1, -EBADMSG, -EBADMSG, 0, cases, "superblock magic");
	btree_file("c", n, 512, 3, seed, 0, &info);
	poke32("c", 8, 2);
	corrupt_lookup("c", 512, P_LOOKUP, key, 1, -EPROTO, -EPROTO, 0, cases, "superblock version");
	btree_file("c", n, 512, 3, seed, 0, &info);
	poke32("c", 16, 99);
	corrupt_lookup("c", 512, P_LOOKUP, key, 1, -EUCLEAN, -EUCLEAN, 0, cases, "superblock depth");
	btree_file("c", n, 512, 3, seed, 0, &info);
	poke64("c", 32, 100);
	corrupt_lookup("c", 512, P_LOOKUP, key, 1, -EFAULT, -EFAULT, 0, cases,
		       "superblock root misaligned");
	/* caller errors: a block length that is not the node size */
	btree_file("c", n, 512, 3, seed, 0, &info);
	corrupt_lookup("c", 1024, P_LOOKUP, key, 1, 0, -EINVAL, 0, cases,
		       "block length not the node size");
}

/* Range scans over a corrupted leaf chain: reader and chain agree on the errno. */
static void corrupt_range(long *cases)
{
	const uint64_t seed = 5, n = 300;
	static const struct { const char *what; int want; } kinds[] = {
		{ "second leaf links back to the first", -ELOOP },
		{ "second leaf links to itself", -ELOOP },
		{ "keys out of order in the first leaf", -EUCLEAN },
		{ "next leaf misaligned", -EFAULT },
		{ "next leaf past EOF", -ENXIO },
	};
	struct bc_build_info info;
	uint64_t values[BC_RANGE_MAX];

	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		union { struct bc_btree_node n; char b[BC_BLOCK_MAX]; } nb;
		struct bc_range_scratch *s;
		uint64_t first, second;
		struct bcdb_range rr;
		struct bcdb db;
		struct req *r;
		int err;
		long hops;

		btree_file("c", n, 512, 3, seed, 0, &info);
		if (bcdb_open(&db, wpath("c")))
			die("bcdb_open", EINVAL);
		first = db.bt.first_leaf;
		bcdb_read_block(&db, first, nb.b);
		second = nb.n.next;
		switch (k) {
		case 0: poke64("c", second + 8, first); break;
		case 1: poke64("c", second + 8, second); break;
		case 2: poke64("c", first + 16 + 16, 0); break;
		case 3: poke64("c", first + 8, second + 1); break;
		default: poke64("c", first + 8, 1ULL << 30); break;
		}
		err = bcdb_btree_range(&db, 0, UINT64_MAX, values, 56, &rr);
		CHECK(err == kinds[k].want, "%s: reader %d (%s)", kinds[k].what, err, bcdb_errname(err));
		env_file(wpath("c"), 512);
		r = batch_req(0, P_RANGE, bcdb_btree_start(&db), sizeof(*s));
		s = r[0].scratch;
		s->lo = 0;
		s->hi = UINT64_MAX;
		s->max = 56;
		s->file_size = db.file_size;
		hops = run_batch(r, 1);
		CHECK(r[0].res == kinds[k].want, "%s: chain res %d (%s)", kinds[k].what, r[0].res,
		      res_name(r[0].res));
		CHECK(hops == rr.blocks, "%s: chain read %ld blocks, reader %u", kinds[k].what, hops,
		      rr.blocks);
		bcdb_close(&db);
		(*cases)++;
	}
}

static void corrupt_hash(long *cases)
{
	const uint64_t seed = 9, n = 3000;
	static const char *const what[] = {
		"bucket block magic", "chain block magic", "chain nentries > capacity",
		"chain block of another bucket", "head misaligned", "head past EOF",
		"chain links to itself", "bucket count > capacity", "bucket block of other buckets",
		"head names a bucket block",
	};
	struct bc_build_info info;
	uint64_t key = 0, b, bb_off, slot_off, head;
	struct chain_key ck;
	struct bcdb db;

	for (int kind = 0; kind < 10; kind++) {
		int want, kernel_want;

		hash_file("h", n, 512, 10, 100, seed, 0, &info);
		if (bcdb_open(&db, wpath("h")))
			die("bcdb_open", EINVAL);
		if (chain_key_of(&db, seed, n, &ck))
			die("pread", EIO);
		key = ck.key, b = ck.bucket, bb_off = ck.bucket_block, slot_off = ck.slot;
		head = ck.head;
		bcdb_close(&db);
		kernel_want = 0;
		switch (kind) {
		case 0: poke32("h", bb_off, 0); want = -EBADMSG; break;
		case 1: poke32("h", head, 0xdead); want = -EBADMSG; break;
		case 2: poke32("h", head + 4, 31); want = -EUCLEAN; break;
		case 3: poke64("h", head + 8, b + 1); want = -EUCLEAN; break;
		case 4: poke64("h", slot_off, head + 100); want = -EFAULT; break;
		case 5: poke64("h", slot_off, 1ULL << 40); want = -ENXIO; kernel_want = -ERANGE; break;
		case 6: poke64("h", head + 16, head); want = -ELOOP; break;
		case 7: poke32("h", bb_off + 4, 1000); want = -EUCLEAN; break;
		case 8: poke64("h", bb_off + 8, 1ULL << 50); want = -EINVAL; break;
		default: poke64("h", slot_off, bb_off); want = -EBADMSG; break;
		}
		corrupt_lookup("h", 512, P_HASH, key, 0, want, want, 0, cases, what[kind]);
		if (kernel_want)
			corrupt_lookup("h", 512, P_HASH, key, 2, want, want, kernel_want, cases,
				       what[kind]);
	}
}

void corrupt_all(long *cases)
{
	corrupt_btree(cases);
	corrupt_range(cases);
	corrupt_hash(cases);
}

int t_chain_corrupt(const char *dir, const char *mode)
{
	long cases = 0;

	chain_init(dir, mode, "chain-corrupt");
	corrupt_all(&cases);
	return chain_finish("%ld corruption cases", cases);
}
