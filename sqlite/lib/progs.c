// SPDX-License-Identifier: MIT
/*
 * The four programs, from their bpftool skeletons (progs/sqlite), each
 * loaded once per database when it is first needed (the index programs take
 * the verifier a while), and their registration with a ring.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "sqlite_progs.h"

/* Program prog (BCSQL_PROG_*) loaded, once per database: the kernel verifies it. */
static int load_one(struct bcsql_db *db, int prog)
{
	int fd;

	if (prog < 0 || prog >= BCSQL_NR_PROGS)
		return -EINVAL;
	if (db->prog_fds[prog] >= 0)
		return 0;
	switch (prog) {
	case BCSQL_PROG_ROWID:
		fd = BC_PROG_LOAD(sqlite_rowid, (struct sqlite_rowid **)&db->skels[prog]);
		break;
	case BCSQL_PROG_INDEX_INT:
		fd = BC_PROG_LOAD(sqlite_index_int, (struct sqlite_index_int **)&db->skels[prog]);
		break;
	case BCSQL_PROG_INDEX_TEXT:
		fd = BC_PROG_LOAD(sqlite_index_text, (struct sqlite_index_text **)&db->skels[prog]);
		break;
	default:
		fd = BC_PROG_LOAD(sqlite_range, (struct sqlite_range **)&db->skels[prog]);
		break;
	}
	if (fd < 0)
		return fd;
	db->prog_fds[prog] = fd;
	return 0;
}

/* The programs of the mask (1 << BCSQL_PROG_*), loaded. */
static int load(struct bcsql_db *db, unsigned int progs)
{
	for (int i = 0; i < BCSQL_NR_PROGS; i++) {
		int ret = progs & (1U << i) ? load_one(db, i) : 0;

		if (ret)
			return ret;
	}
	return 0;
}

void bcsql_progs_free(struct bcsql_db *db)
{
	sqlite_rowid__destroy(db->skels[BCSQL_PROG_ROWID]);
	sqlite_index_int__destroy(db->skels[BCSQL_PROG_INDEX_INT]);
	sqlite_index_text__destroy(db->skels[BCSQL_PROG_INDEX_TEXT]);
	sqlite_range__destroy(db->skels[BCSQL_PROG_RANGE]);
	for (int i = 0; i < BCSQL_NR_PROGS; i++) {
		db->skels[i] = NULL;
		db->prog_fds[i] = -1;
	}
}

int bcsql_prog_fds(struct bcsql_db *db, int fds[BCSQL_NR_PROGS])
{
	int ret = load(db, BCSQL_ALL_PROGS);

	if (ret)
		return ret;
	for (int i = 0; i < BCSQL_NR_PROGS; i++)
		fds[i] = db->prog_fds[i];
	return 0;
}

int bcsql_register_progs(struct bcsql_db *db, struct io_uring *ring, unsigned int progs)
{
	int fds[BCSQL_NR_PROGS], ret;

	if (!progs || (progs & ~BCSQL_ALL_PROGS))
		return -EINVAL;
	ret = io_uring_ext_bpf_chain_supported(ring);
	if (ret <= 0)
		return ret ? ret : -EOPNOTSUPP;
	ret = load(db, progs);
	if (ret)
		return ret;
	for (int i = 0; i < BCSQL_NR_PROGS; i++)
		fds[i] = progs & (1U << i) ? db->prog_fds[i] : -1;
	ret = io_uring_register_files(ring, &db->fd, 1);
	if (ret)
		return ret;
	ret = io_uring_ext_register_bpf_chain(ring, fds, BCSQL_NR_PROGS, 0);
	if (ret) {
		io_uring_unregister_files(ring);
		return ret;
	}
	bcsql_set_slots(db, 0, 0);
	return 0;
}

int bcsql_register(struct bcsql_db *db, struct io_uring *ring)
{
	return bcsql_register_progs(db, ring, BCSQL_ALL_PROGS);
}

void bcsql_set_slots(struct bcsql_db *db, unsigned int file_slot, unsigned int prog_base)
{
	db->file_slot = file_slot;
	db->prog_base = prog_base;
}

/*
 * One chain of r run with BPF_PROG_TEST_RUN instead of io_uring, page by
 * page, the way the kernel's generic tier runs it, with the kernel's checks
 * and errnos and at most BCSQL_TEST_RUN_HOPS pages (-ELOOP, the default hop
 * limit of a ring): io_uring_ext_bpf_chain_test_run(3).  The last page read
 * is left in r->page, as a chain leaves it.  Returns what the CQE's res
 * would be; a failed BPF_PROG_TEST_RUN call (the kernel's errno, or EPROTO
 * for an answer no chain program gives) is returned as -BCSQL_E_TEST_RUN
 * after setting errno.
 */
int bcsql_test_run(struct bcsql_req *r)
{
	struct bcsql_db *db = r->t->db;
	int ret = load_one(db, r->prog), res;

	if (ret)
		return ret;
	ret = io_uring_ext_bpf_chain_test_run(db->fd, r->page, db->page_size, r->offset,
					      db->prog_fds[r->prog], &r->scratch, r->scratch_len,
					      BCSQL_TEST_RUN_HOPS, &res, NULL);
	if (ret) {
		errno = -ret;
		return -BCSQL_E_TEST_RUN;
	}
	return res;
}
