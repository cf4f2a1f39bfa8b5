// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the input is a database file, as a hostile disk would
 * hold it.  It goes through the reader's own entry points (bcdb_open_fd on
 * a memfd, then every lookup bpfchain-lookup and the fio engine make) and,
 * for the same keys, through the BPF programs run by the chain emulator.
 *
 * Besides the sanitizers, it aborts when
 *   - a call returns an errno outside the documented BC_E_* set,
 *   - a call reads more than BC_MAX_HOPS blocks, or a range call breaks
 *     its contract (count > max, resume not above lo, values out of order),
 *   - bcdb_btree_step() walked by hand disagrees with bcdb_btree_lookup(),
 *   - the program disagrees with the reader (result, errno, blocks, value),
 *     which is the promise of bpfchain_db.h.
 *
 * Keys: the file's own (bc_key_of(seed, i) from its superblock), 0,
 * UINT64_MAX, and the superblock's reserved[4] and [5] (bytes 112..127,
 * unchecked by every reader), so that the fuzzer picks keys without
 * breaking the superblock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "bpfchain_db.h"
#include "../tests/emu.h"

static int memfd = -1;

#define FAIL(...) do { fprintf(stderr, "fuzz_db: " __VA_ARGS__); fputc('\n', stderr); abort(); } while (0)

static int errno_ok(int err)
{
	switch (-err) {
	case 0: case BC_E_MAGIC: case BC_E_VERSION: case BC_E_CORRUPT: case BC_E_PTR:
	case BC_E_EOF: case BC_E_LOOP: case BC_E_ARG:
		return 1;
	}
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	memfd = memfd_create("fuzz_db", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("memfd_create");
		exit(1);
	}
	emu_init();
	return 0;
}

/* bcdb_btree_step() over nodes read here, as the fio engine's mode=user does. */
static void step_walk(const struct bcdb *db, uint64_t key, int want_err,
		      const struct bcdb_result *want)
{
	static char node[BC_BLOCK_MAX] __attribute__((aligned(8)));
	struct bcdb_result r = { 0 };
	uint64_t off = bcdb_btree_start(db), next = 0;
	uint32_t expect = BC_LEVEL_ANY;
	int err;

	for (;;) {
		if (pread(db->fd, node, db->block_size, off) != (ssize_t)db->block_size) {
			err = -BC_E_EOF;
			break;
		}
		err = bcdb_btree_step(db, node, key, &expect, &next, &r);
		if (err <= 0)
			break;
		off = next;
	}
	if (err != want_err || r.blocks != want->blocks ||
	    (!err && (r.found != want->found || r.value != want->value)))
		FAIL("key %#llx: step walk %d blocks %u, lookup %d blocks %u",
		     (unsigned long long)key, err, r.blocks, want_err, want->blocks);
}

static void btree_point(struct bcdb *db, uint64_t key)
{
	struct bc_lookup_scratch s = { .key = key, .file_size = db->file_size };
	struct bcdb_result r;
	unsigned int hops;
	int err, res;

	err = bcdb_btree_lookup(db, key, &r);
	if (!errno_ok(err) || r.blocks > BC_MAX_HOPS)
		FAIL("btree key %#llx: %d (%s) blocks %u", (unsigned long long)key, err,
		     bcdb_errname(err), r.blocks);
	step_walk(db, key, err, &r);
	res = emu_chain(bpfchain_btree_lookup, db->fd, bcdb_btree_start(db), db->block_size,
			&s, sizeof(s), &hops);
	if (res != (err ? err : r.found) || hops != r.blocks ||
	    (!err && r.found && s.value != r.value))
		FAIL("btree key %#llx: program %d hops %u, reader %d found %d blocks %u",
		     (unsigned long long)key, res, hops, err, r.found, r.blocks);
	if (err)
		return;
	/* from the superblock: one hop more, the same answer */
	memset(&s, 0, sizeof(s));
	s.key = key;
	s.file_size = db->file_size;
	res = emu_chain(bpfchain_btree_lookup, db->fd, 0, db->block_size, &s, sizeof(s), &hops);
	if (res != r.found || hops != r.blocks + 1)
		FAIL("btree key %#llx from the superblock: program %d hops %u, reader %d blocks %u",
		     (unsigned long long)key, res, hops, r.found, r.blocks);
}

/* A resumed range scan, as bpfchain-lookup range does, at most 32 calls. */
static void btree_range(struct bcdb *db, uint64_t lo, uint64_t hi, uint32_t max)
{
	uint64_t values[BC_RANGE_MAX];
	struct bc_range_scratch s;
	struct bcdb_range r;
	unsigned int hops;
	int err, res;

	for (int call = 0; call < 32; call++) {
		err = bcdb_btree_range(db, lo, hi, values, max, &r);
		if (!errno_ok(err) || r.blocks > BC_MAX_HOPS ||
		    r.count > (max && max <= BC_RANGE_MAX ? max : BC_RANGE_MAX) ||
		    (!err && r.more && r.resume <= lo))
			FAIL("range [%#llx, %#llx] max %u: %d (%s) count %u more %d resume %#llx",
			     (unsigned long long)lo, (unsigned long long)hi, max, err,
			     bcdb_errname(err), r.count, r.more, (unsigned long long)r.resume);
		memset(&s, 0, sizeof(s));
		s.lo = lo;
		s.hi = hi;
		s.max = max;
		s.file_size = db->file_size;
		res = emu_chain(bpfchain_btree_range, db->fd, bcdb_btree_start(db), db->block_size,
				&s, sizeof(s), &hops);
		if (res != (err ? err : (int)r.count) || hops != r.blocks ||
		    (!err && (s.count != r.count || !!(s.flags & BC_RANGE_F_MORE) != r.more ||
			      (r.more && s.resume != r.resume) ||
			      memcmp(s.values, values, r.count * sizeof(*values)))))
			FAIL("range [%#llx, %#llx] max %u: program %d hops %u, reader %d count %u blocks %u",
			     (unsigned long long)lo, (unsigned long long)hi, max, res, hops, err,
			     r.count, r.blocks);
		if (err || !r.more)
			return;
		lo = r.resume;
	}
}

static void hash_point(struct bcdb *db, uint64_t key)
{
	struct bc_hash_scratch s = { .key = key, .file_size = db->file_size };
	struct bcdb_result r;
	unsigned int hops;
	int err, res;

	err = bcdb_hash_lookup(db, key, &r);
	if (!errno_ok(err) || r.blocks > BC_MAX_HOPS)
		FAIL("hash key %#llx: %d (%s) blocks %u", (unsigned long long)key, err,
		     bcdb_errname(err), r.blocks);
	res = emu_chain(bpfchain_hash_lookup, db->fd, bcdb_hash_start(db, key), db->block_size,
			&s, sizeof(s), &hops);
	if (res != (err ? err : r.found) || hops != r.blocks ||
	    (!err && r.found && s.value != r.value))
		FAIL("hash key %#llx: program %d hops %u, reader %d found %d blocks %u",
		     (unsigned long long)key, res, hops, err, r.found, r.blocks);
	if (err)
		return;
	memset(&s, 0, sizeof(s));
	s.key = key;
	s.file_size = db->file_size;
	res = emu_chain(bpfchain_hash_lookup, db->fd, 0, db->block_size, &s, sizeof(s), &hops);
	if (res != r.found || hops != r.blocks + 1)
		FAIL("hash key %#llx from the superblock: program %d hops %u, reader %d blocks %u",
		     (unsigned long long)key, res, hops, r.found, r.blocks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t keys[8], seed, nkeys, extra[2] = { 0, 0 };
	struct bcdb db;
	int n = 0, err;

	if (ftruncate(memfd, 0) < 0 || (size && pwrite(memfd, data, size, 0) != (ssize_t)size))
		FAIL("memfd: %s", strerror(errno));
	err = bcdb_open_fd(&db, memfd);
	if (!errno_ok(err))
		FAIL("open: %d (%s)", err, bcdb_errname(err));
	if (err)
		return 0;
	if (size >= 128)
		memcpy(extra, data + 112, sizeof(extra));
	seed = db.kind == BCDB_BTREE ? db.bt.seed : db.h.seed;
	nkeys = db.kind == BCDB_BTREE ? db.bt.nkeys : db.h.nkeys;
	keys[n++] = bc_key_of(seed, 0);
	keys[n++] = bc_key_of(seed, nkeys / 2);
	keys[n++] = bc_key_of(seed, nkeys ? nkeys - 1 : 0);
	keys[n++] = bc_key_of(seed, nkeys);	/* absent */
	keys[n++] = 0;
	keys[n++] = UINT64_MAX;
	keys[n++] = extra[0];
	keys[n++] = extra[1];

	if (db.kind == BCDB_BTREE) {
		for (int i = 0; i < n; i++)
			btree_point(&db, keys[i]);
		btree_range(&db, 0, UINT64_MAX, 0);
		btree_range(&db, extra[0], extra[0] + (extra[1] >> 40), extra[1] & 63);
	} else {
		for (int i = 0; i < n; i++)
			hash_point(&db, keys[i]);
		/* a hash is not a tree: the B+-tree calls refuse it */
		if (bcdb_btree_lookup(&db, keys[0], &(struct bcdb_result){ 0 }) != -BC_E_ARG)
			FAIL("btree lookup on a hash file not refused");
	}
	bcdb_close(&db);
	return 0;
}
