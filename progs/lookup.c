// SPDX-License-Identifier: MIT
/*
 * bpfchain-lookup: the user-space reader on the command line.
 *   bpfchain-lookup FILE KEY               point lookup (B+-tree or hash)
 *   bpfchain-lookup FILE range LO HI [MAX] values of keys in [LO, HI]
 *   bpfchain-lookup FILE hash KEY          hash lookup
 *   bpfchain-lookup FILE info              the superblock
 * Exit: 0 found (or range/info done), 1 not found, 2 usage, 3 corrupt/error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "bpfchain_db.h"
#include "cli_util.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: bpfchain-lookup FILE KEY\n"
		"       bpfchain-lookup FILE range LO HI [MAX-PER-CALL]\n"
		"       bpfchain-lookup FILE hash KEY\n"
		"       bpfchain-lookup FILE info\n");
	return 2;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "bpfchain-lookup: %s: %s\n", what, bcdb_errname(err));
	return 3;
}

static int point(struct bcdb *db, const char *arg, int hash)
{
	struct bcdb_result r;
	uint64_t key;
	int err;

	if (bc_parse_u64(arg, &key))
		return usage();
	err = hash ? bcdb_hash_lookup(db, key, &r) : bcdb_btree_lookup(db, key, &r);
	if (err) {
		fprintf(stderr, "blocks=%u\n", r.blocks);
		return fail("lookup", err);
	}
	if (r.found)
		printf("found key=0x%016" PRIx64 " value=0x%016" PRIx64 " blocks=%u\n",
		       key, r.value, r.blocks);
	else
		printf("not-found key=0x%016" PRIx64 " blocks=%u\n", key, r.blocks);
	return r.found ? 0 : 1;
}

static int range(struct bcdb *db, char **argv, int argc)
{
	uint64_t lo, hi, max = 0, values[BC_RANGE_MAX], total = 0, blocks = 0, calls = 0;
	struct bcdb_range r;
	uint32_t i;
	int err;

	if (argc < 2 || argc > 3 || bc_parse_u64(argv[0], &lo) || bc_parse_u64(argv[1], &hi) ||
	    (argc == 3 && bc_parse_u64(argv[2], &max)))
		return usage();
	do {
		/* not truncated to 32 bits: past BC_RANGE_MAX means the default */
		err = bcdb_btree_range(db, lo, hi, values, max > BC_RANGE_MAX ? 0 : max, &r);
		calls++;
		blocks += r.blocks;
		if (err)
			return fail("range", err);
		for (i = 0; i < r.count; i++)
			printf("0x%016" PRIx64 "\n", values[i]);
		total += r.count;
		lo = r.resume;
	} while (r.more);
	printf("count=%" PRIu64 " calls=%" PRIu64 " blocks=%" PRIu64 "\n", total, calls, blocks);
	return 0;
}

#define U(x) ((unsigned long long)(x))

static void info(const struct bcdb *db)
{
	if (db->kind == BCDB_BTREE)
		printf("btree version=%u node_size=%u depth=%u fanout=%u keys=%llu"
		       " nodes=%llu root=%llu first_leaf=%llu file_size=%llu seed=%llu flags=%#x\n",
		       db->bt.version, db->bt.node_size, db->bt.depth, db->bt.fanout,
		       U(db->bt.nkeys), U(db->bt.nnodes), U(db->bt.root), U(db->bt.first_leaf),
		       U(db->bt.file_size), U(db->bt.seed), db->bt.flags);
	else
		printf("hash version=%u block_size=%u buckets=%llu per_block=%u fanout=%u"
		       " keys=%llu blocks=%llu max_chain=%u file_size=%llu seed=%llu\n",
		       db->h.version, db->h.block_size, U(db->h.nbuckets), db->h.per_block,
		       db->h.fanout, U(db->h.nkeys), U(db->h.nblocks), db->h.max_chain,
		       U(db->h.file_size), U(db->h.seed));
}

int main(int argc, char **argv)
{
	struct bcdb db;
	int err, rc;

	if (argc < 3)
		return usage();
	err = bcdb_open(&db, argv[1]);
	if (err)
		return fail(argv[1], err);
	if (!strcmp(argv[2], "info") && argc == 3) {
		info(&db);
		rc = 0;
	} else if (!strcmp(argv[2], "range")) {
		rc = db.kind == BCDB_BTREE ? range(&db, argv + 3, argc - 3) : fail("range", -EINVAL);
	} else if (!strcmp(argv[2], "hash") && argc == 4) {
		rc = db.kind == BCDB_HASH ? point(&db, argv[3], 1) : fail("hash", -EINVAL);
	} else if (argc == 3) {
		rc = point(&db, argv[2], db.kind == BCDB_HASH);
	} else {
		rc = usage();
	}
	bcdb_close(&db);
	return rc;
}
