// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the builders (build.c) on options a user can give
 * bpfchain-mkdb.  Whatever they accept must give a file the reader opens,
 * with every key found under its value, absent keys not found, and (for a
 * B+-tree) a full range scan returning every key once in order.  Options
 * they refuse must be refused with -EINVAL, and without a file.
 *
 * Input: u8 flags (bit 0 hash, bit 1 scatter), u16 nkeys (at most 3000,
 * to keep an iteration short), u32 block size, u32 fanout, u16 buckets,
 * u64 seed; missing bytes are zero (the builder's defaults).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sanitizer/common_interface_defs.h>
#include "bpfchain_db.h"
#include "build.h"

#define FAIL(...) do { dprintf(err_fd, "fuzz_build: " __VA_ARGS__); dprintf(err_fd, "\n"); abort(); } while (0)

static int memfd = -1, err_fd = 2, null_fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	memfd = memfd_create("fuzz_build", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("memfd_create");
		exit(1);
	}
	/* the builders take a path: this one reopens the memfd */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	/*
	 * The builders say on stderr why they refuse options, thousands of
	 * times here: stderr goes to /dev/null during a build, and the
	 * sanitizers and FAIL() write to a copy of the real one.
	 */
	if (!getenv("FUZZ_BUILD_VERBOSE")) {
		err_fd = dup(2);
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (err_fd < 0 || null_fd < 0)
			exit(1);
		__sanitizer_set_report_fd((void *)(intptr_t)err_fd);
	}
	return 0;
}

static uint64_t take(const uint8_t **p, size_t *left, size_t n)
{
	uint64_t v = 0;

	n = n < *left ? n : *left;
	memcpy(&v, *p, n);
	*p += n;
	*left -= n;
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void check_btree(struct bcdb *db, const struct bc_build_opts *o,
			const struct bc_build_info *info)
{
	uint64_t values[BC_RANGE_MAX], sorted[3001], lo = 0, got = 0, k;
	struct bcdb_result r;
	struct bcdb_range rr;
	int err;

	if (db->kind != BCDB_BTREE || db->bt.nkeys != o->nkeys || db->bt.depth != info->depth ||
	    db->file_size != info->file_size)
		FAIL("btree superblock does not match the build");
	for (uint64_t i = 0; i <= o->nkeys; i++) {
		k = bc_key_of(o->seed, i);
		err = bcdb_btree_lookup(db, k, &r);
		if (err || r.found != (i < o->nkeys) || (r.found && r.value != bc_value_of(k)) ||
		    r.blocks != info->depth)
			FAIL("btree key %llu of %llu: %d found %d blocks %u depth %u",
			     (unsigned long long)i, (unsigned long long)o->nkeys, err, r.found,
			     r.blocks, info->depth);
	}
	/* every value once, in key order */
	for (uint64_t i = 0; i < o->nkeys; i++)
		sorted[i] = bc_key_of(o->seed, i);
	qsort(sorted, o->nkeys, sizeof(*sorted), cmp_u64);
	do {
		err = bcdb_btree_range(db, lo, UINT64_MAX, values, 0, &rr);
		if (err)
			FAIL("btree range from %#llx: %d", (unsigned long long)lo, err);
		for (uint32_t i = 0; i < rr.count; i++, got++)
			if (got >= o->nkeys || values[i] != bc_value_of(sorted[got]))
				FAIL("btree range: value %llu wrong", (unsigned long long)got);
		lo = rr.resume;
	} while (rr.more);
	if (got != o->nkeys)
		FAIL("btree range: %llu values of %llu keys", (unsigned long long)got,
		     (unsigned long long)o->nkeys);
}

static void check_hash(struct bcdb *db, const struct bc_build_opts *o,
		       const struct bc_build_info *info)
{
	struct bcdb_result r;
	uint64_t k;
	int err;

	if (db->kind != BCDB_HASH || db->h.nkeys != o->nkeys || db->h.nbuckets != info->nbuckets ||
	    db->file_size != info->file_size)
		FAIL("hash superblock does not match the build");
	for (uint64_t i = 0; i <= o->nkeys; i++) {
		k = bc_key_of(o->seed, i);
		err = bcdb_hash_lookup(db, k, &r);
		if (err || r.found != (i < o->nkeys) || (r.found && r.value != bc_value_of(k)) ||
		    r.blocks < 1 || r.blocks > 1 + info->max_chain)
			FAIL("hash key %llu of %llu: %d found %d blocks %u max_chain %u",
			     (unsigned long long)i, (unsigned long long)o->nkeys, err, r.found,
			     r.blocks, info->max_chain);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bc_build_opts o = { 0 };
	struct bc_build_info info;
	struct bcdb db;
	int hash, err;

	hash = take(&data, &size, 1);
	o.scatter = !!(hash & 2);
	hash &= 1;
	o.nkeys = take(&data, &size, 2) % 3001;
	o.block_size = take(&data, &size, 4);
	o.fanout = take(&data, &size, 4);
	o.nbuckets = take(&data, &size, 2);
	o.seed = take(&data, &size, 8);

	if (ftruncate(memfd, 0) < 0)
		FAIL("ftruncate: %s", strerror(errno));
	if (null_fd >= 0)
		dup2(null_fd, 2);
	err = hash ? bc_build_hash(path, &o, &info) : bc_build_btree(path, &o, &info);
	if (null_fd >= 0)
		dup2(err_fd, 2);
	if (err) {
		if (err != -EINVAL || lseek(memfd, 0, SEEK_END) != 0)
			FAIL("%s build refused with %d, or left a file", hash ? "hash" : "btree", err);
		return 0;
	}
	err = bcdb_open_fd(&db, memfd);
	if (err)
		FAIL("%s built, then refused by the reader: %s", hash ? "hash" : "btree",
		     bcdb_errname(err));
	if (hash)
		check_hash(&db, &o, &info);
	else
		check_btree(&db, &o, &info);
	bcdb_close(&db);
	return 0;
}
