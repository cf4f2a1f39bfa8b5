// SPDX-License-Identifier: MIT
/*
 * The three programs, from their bpftool skeletons (progs/sqlite), loaded
 * once per database on first use, and their registration with a ring.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "sqlite_progs.h"

static int load(struct bcsql_db *db)
{
	struct sqlite_rowid *a;
	struct sqlite_index *b;
	struct sqlite_range *c;

	if (db->prog_fds[0] >= 0)
		return 0;
	db->prog_fds[BCSQL_PROG_ROWID] = BC_PROG_LOAD(sqlite_rowid, &a);
	db->skels[BCSQL_PROG_ROWID] = a;
	db->prog_fds[BCSQL_PROG_INDEX] = BC_PROG_LOAD(sqlite_index, &b);
	db->skels[BCSQL_PROG_INDEX] = b;
	db->prog_fds[BCSQL_PROG_RANGE] = BC_PROG_LOAD(sqlite_range, &c);
	db->skels[BCSQL_PROG_RANGE] = c;
	for (int i = 0; i < BCSQL_NR_PROGS; i++)
		if (db->prog_fds[i] < 0) {
			int ret = db->prog_fds[i];

			bcsql_progs_free(db);
			return ret;
		}
	return 0;
}

void bcsql_progs_free(struct bcsql_db *db)
{
	sqlite_rowid__destroy(db->skels[BCSQL_PROG_ROWID]);
	sqlite_index__destroy(db->skels[BCSQL_PROG_INDEX]);
	sqlite_range__destroy(db->skels[BCSQL_PROG_RANGE]);
	for (int i = 0; i < BCSQL_NR_PROGS; i++) {
		db->skels[i] = NULL;
		db->prog_fds[i] = -1;
	}
}

int bcsql_prog_fds(struct bcsql_db *db, int fds[BCSQL_NR_PROGS])
{
	int ret = load(db);

	if (ret)
		return ret;
	for (int i = 0; i < BCSQL_NR_PROGS; i++)
		fds[i] = db->prog_fds[i];
	return 0;
}

int bcsql_register(struct bcsql_db *db, struct io_uring *ring)
{
	int fds[BCSQL_NR_PROGS], ret;

	ret = io_uring_ext_bpf_chain_supported(ring);
	if (ret <= 0)
		return ret ? ret : -EOPNOTSUPP;
	ret = bcsql_prog_fds(db, fds);
	if (ret)
		return ret;
	ret = io_uring_register_files(ring, &db->fd, 1);
	if (ret)
		return ret;
	ret = io_uring_ext_register_bpf_chain(ring, fds, BCSQL_NR_PROGS, 0);
	if (ret)
		return ret;
	bcsql_set_slots(db, 0, 0);
	return 0;
}

void bcsql_set_slots(struct bcsql_db *db, unsigned int file_slot, unsigned int prog_base)
{
	db->file_slot = file_slot;
	db->prog_base = prog_base;
}
