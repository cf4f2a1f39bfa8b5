// SPDX-License-Identifier: MIT
/*
 * bpfchain-mkdb: write B+-tree and hash files in the bpfchain formats, and
 * list the keys a file (or a seed) holds.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "bpfchain_db.h"
#include "build.h"
#include "cli_util.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: bpfchain-mkdb btree [options] FILE\n"
"       bpfchain-mkdb hash  [options] FILE\n"
"       bpfchain-mkdb keys  (FILE | --seed S -n N) [--every K] [--start I]\n"
"                           [--count C] [--absent] [--values]\n"
"options of btree and hash:\n"
"  -n, --keys N         number of keys (k/m/g suffixes: x1000), default 1000\n"
"  -s, --node-size S    node / block size: 512, 1024, 2048, 4096 (default)\n"
"      --block-size S   the same\n"
"  -f, --fanout F       max keys per node (btree, 2..) or chain block (hash, 1..),\n"
"                       default what fits in a block\n"
"  -b, --buckets B      hash: number of buckets, default ceil(N / fanout)\n"
"      --seed S         key seed, default 1; the same options give the same bytes\n"
"      --scatter        place the blocks in a seed-shuffled order\n"
"key i is bc_key_of(seed, i), its value bc_value_of(key) (format.h).\n"
"keys: print key i for i = start, start+every, ... (count of them, default all\n"
"below N); --absent prints keys i >= N, which the file does not hold.\n");
}

static int cmd_keys(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seed", required_argument, 0, 'S' }, { "keys", required_argument, 0, 'n' },
		{ "every", required_argument, 0, 'e' }, { "start", required_argument, 0, 'i' },
		{ "count", required_argument, 0, 'c' }, { "absent", no_argument, 0, 'a' },
		{ "values", no_argument, 0, 'v' }, { "help", no_argument, 0, 'h' }, { 0 }
	};
	uint64_t seed = 1, n = 0, every = 1, start = 0, count = UINT64_MAX, i, k, key;
	int have_seed = 0, have_n = 0, absent = 0, values = 0, c, err;
	struct bcdb db;

	while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
		uint64_t *dst = c == 'S' ? &seed : c == 'n' ? &n : c == 'e' ? &every :
				c == 'i' ? &start : c == 'c' ? &count : NULL;
		if (dst) {
			if (bc_parse_u64(optarg, dst)) {
				fprintf(stderr, "bpfchain-mkdb: bad number '%s'\n", optarg);
				return 2;
			}
			have_seed |= c == 'S';
			have_n |= c == 'n';
		} else if (c == 'a') {
			absent = 1;
		} else if (c == 'v') {
			values = 1;
		} else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind < argc) {
		err = bcdb_open(&db, argv[optind]);
		if (err) {
			fprintf(stderr, "bpfchain-mkdb: %s: %s\n", argv[optind], bcdb_errname(err));
			return 1;
		}
		seed = db.kind == BCDB_BTREE ? db.bt.seed : db.h.seed;
		n = db.kind == BCDB_BTREE ? db.bt.nkeys : db.h.nkeys;
		bcdb_close(&db);
	} else if (!have_seed || !have_n) {
		usage(stderr);
		return 2;
	}
	if (every == 0)
		every = 1;
	if (absent) {
		start += n;
		if (count == UINT64_MAX)
			count = 1000;
	}
	for (i = start, k = 0; k < count && (absent || i < n); i += every, k++) {
		key = bc_key_of(seed, i);
		if (values)
			printf("0x%016" PRIx64 " 0x%016" PRIx64 "\n", key, (uint64_t)bc_value_of(key));
		else
			printf("0x%016" PRIx64 "\n", key);
	}
	return 0;
}

static int cmd_build(int hash, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "keys", required_argument, 0, 'n' }, { "node-size", required_argument, 0, 's' },
		{ "block-size", required_argument, 0, 's' }, { "fanout", required_argument, 0, 'f' },
		{ "buckets", required_argument, 0, 'b' }, { "seed", required_argument, 0, 'S' },
		{ "scatter", no_argument, 0, 'x' }, { "help", no_argument, 0, 'h' }, { 0 }
	};
	struct bc_build_opts o = { .nkeys = 1000, .seed = 1 };
	struct bc_build_info info;
	uint64_t v;
	int c, err;

	while ((c = getopt_long(argc, argv, "n:s:f:b:h", lo, NULL)) != -1) {
		if (c == 'x') {
			o.scatter = 1;
			continue;
		}
		if (c == 'h' || c == '?') {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
		if (bc_parse_u64(optarg, &v) || ((c == 's' || c == 'f') && v > UINT32_MAX)) {
			fprintf(stderr, "bpfchain-mkdb: bad number '%s'\n", optarg);
			return 2;
		}
		switch (c) {
		case 'n': o.nkeys = v; break;
		case 's': o.block_size = v; break;
		case 'f': o.fanout = v; break;
		case 'b': o.nbuckets = v; break;
		case 'S': o.seed = v; break;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (hash && (err = bc_build_hash(argv[optind], &o, &info)) == 0)
		printf("hash: keys=%" PRIu64 " block_size=%u fanout=%u buckets=%" PRIu64
		       " bucket_blocks=%" PRIu64 " chain_blocks=%" PRIu64 " max_chain=%u"
		       " file_size=%" PRIu64 " seed=%" PRIu64 "\n",
		       o.nkeys, info.block_size, info.fanout, info.nbuckets, info.bucket_blocks,
		       info.chain_blocks, info.max_chain, info.file_size, o.seed);
	else if (!hash && (err = bc_build_btree(argv[optind], &o, &info)) == 0)
		printf("btree: keys=%" PRIu64 " node_size=%u fanout=%u depth=%u nodes=%" PRIu64
		       " file_size=%" PRIu64 " seed=%" PRIu64 "\n",
		       o.nkeys, info.block_size, info.fanout, info.depth, info.nodes,
		       info.file_size, o.seed);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "btree"))
		return cmd_build(0, argc - 1, argv + 1);
	if (!strcmp(argv[1], "hash"))
		return cmd_build(1, argc - 1, argv + 1);
	if (!strcmp(argv[1], "keys"))
		return cmd_keys(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
