// SPDX-License-Identifier: MIT
/*
 * bpfchain-sqlite: rows of an SQLite database by rowid, by an index or by a
 * rowid range, each lookup one IORING_OP_BPF_CHAIN chain (man -l
 * sqlite/man/bpfchain-sqlite.1), printed as sqlite3 -list prints them.
 *
 *	bpfchain-sqlite [OPTIONS] DB TABLE ROWID...
 *	bpfchain-sqlite [OPTIONS] DB TABLE --index INDEX VALUE...
 *	bpfchain-sqlite [OPTIONS] DB TABLE --range LO HI [LO HI]...
 *
 *	-d	O_DIRECT		-g	force the generic tier
 *	-v	the ring's counters on stderr	-c K	cache the top K levels
 *	-q N	lookups in flight (default 8)
 *	-T	each chain through BPF_PROG_TEST_RUN, one at a time, no ring
 *		(built with -DBCSQL_EMU: the programs' C source run on the
 *		host by progs' chain emulator instead)
 *
 * Exit: 0 done (rows or none), 2 usage, 3 error (I/O, a chain's error such
 * as a corrupt page, no bpfchain kernel), 4 not an SQLite database, 5 WAL
 * frames, 6 page size above 4096, 7 WITHOUT ROWID table, 8 non-BINARY
 * collation, 9 no such table or index, 10 not supported.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfchain-sqlite.h"

enum { EX_OK, EX_USAGE = 2, EX_ERROR, EX_NOTDB, EX_WAL, EX_PAGESIZE, EX_NOROWID,
       EX_COLLATION, EX_NOTFOUND, EX_UNSUPPORTED };

static int exit_code(int err)
{
	switch (-err) {
	case BCSQL_E_NOTDB: return EX_NOTDB;
	case BCSQL_E_WAL: return EX_WAL;
	case BCSQL_E_PAGESIZE: return EX_PAGESIZE;
	case BCSQL_E_NOROWID: return EX_NOROWID;
	case BCSQL_E_COLLATION: return EX_COLLATION;
	case BCSQL_E_NOTFOUND: return EX_NOTFOUND;
	case BCSQL_E_UNSUPPORTED: return EX_UNSUPPORTED;
	}
	return EX_ERROR;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "bpfchain-sqlite: %s: %s\n", what, bcsql_strerror(err));
	return exit_code(err);
}

static int parse_i64(const char *s, int64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return errno || end == s || *end ? -1 : 0;
}

static int print_row(void *arg, const struct bcsql_row *row)
{
	return bcsql_print_list(arg, row);
}

static void usage(void)
{
	fprintf(stderr, "usage: bpfchain-sqlite [-d] [-g] [-v] [-T] [-c LEVELS] [-q DEPTH] DB TABLE "
		"(ROWID... | --index INDEX VALUE... | --range LO HI [LO HI]...)\n");
}

/* What main() parsed: the lookups and how to run them. */
struct run {
	struct bcsql_db *db;
	struct bcsql_table *t;
	struct bcsql_index *ix;
	int mode;		/* 0 rowids, 1 index values, 2 ranges */
	char **args;
	int64_t *ints;
	int nlook;		/* lookups: args, or pairs of them */
	int depth, generic, verbose;
};

/* index walks finished in user space, over all lookups (-v) */
static unsigned long user_walks;

static const char *look_name(const struct run *u, int look)
{
	return u->args[u->mode == 2 ? 2 * look : look];
}

/* Lookup number look into r. */
static int req_for(const struct run *u, struct bcsql_req *r, int look)
{
	struct bcsql_value key = { 0 };

	switch (u->mode) {
	case 0:
		return bcsql_req_rowid(u->t, r, u->ints[look]);
	case 1:
		if (bcsql_index_key_type(u->ix) == BCSQL_KEY_INT) {
			key.type = BCSQL_INTEGER;
			key.i = u->ints[look];
		} else {
			key.type = BCSQL_TEXT;
			key.p = (const unsigned char *)u->args[look];
			key.n = strlen(u->args[look]);
		}
		return bcsql_req_index(u->ix, r, &key);
	}
	return bcsql_req_range(u->t, r, u->ints[2 * look], u->ints[2 * look + 1]);
}

#ifdef BCSQL_EMU
/*
 * The host build: the programs' C source compiled for the host and run by
 * progs' chain emulator (progs/tests/emu.h), which reads the pages with
 * pread as the generic tier does.
 */
#include "emu.h"

long bpfchain_sqlite_rowid(struct bpf_io_chain *ctx);
long bpfchain_sqlite_index_int(struct bpf_io_chain *ctx);
long bpfchain_sqlite_index_text(struct bpf_io_chain *ctx);
long bpfchain_sqlite_range(struct bpf_io_chain *ctx);

static unsigned long emu_hops;

static int run_chain(struct bcsql_req *r)
{
	static const prog_fn progs[BCSQL_NR_PROGS] = {
		bpfchain_sqlite_rowid, bpfchain_sqlite_index_int, bpfchain_sqlite_index_text,
		bpfchain_sqlite_range,
	};
	struct bcsql_db *db = bcsql_req_db(r);
	unsigned int hops;
	int res;

	res = emu_chain(progs[r->prog], bcsql_fd(db), r->offset, bcsql_page_size(db),
			&r->scratch, r->scratch_len, &hops);
	memcpy(r->page, emu_block, bcsql_page_size(db));
	emu_hops += hops;
	return res;
}
#else
static int run_chain(struct bcsql_req *r)
{
	return bcsql_test_run(r);
}
#endif

/*
 * -T: every lookup's chains one after the other, without a ring; a
 * lookup's rows are printed once it is done, as run_ring() does, so that a
 * lookup that fails prints none.
 */
static int run_sync(struct run *u)
{
	struct bcsql_req r;
	int ret = bcsql_req_init(u->db, &r), look;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (ret)
		return fail("bcsql_req_init", ret);
#ifdef BCSQL_EMU
	emu_init();
#endif
	for (look = 0; look < u->nlook; look++) {
		ret = req_for(u, &r, look);
		if (ret) {
			ret = fail(look_name(u, look), ret);
			goto out;
		}
		f = open_memstream(&out, &len);
		if (!f) {
			ret = fail("open_memstream", -errno);
			goto out;
		}
		do
			ret = bcsql_complete(&r, run_chain(&r), print_row, f);
		while (ret == 1);
		user_walks += r.user_walks;
		if (fclose(f)) {
			ret = fail("open_memstream", -errno);
			goto out;
		}
		if (ret < 0) {
			fprintf(stderr, "bpfchain-sqlite: lookup %s: %s\n", look_name(u, look),
				bcsql_strerror(ret));
			ret = EX_ERROR;
			goto out;
		}
		fwrite(out, 1, len, stdout);
		free(out);
		out = NULL;
	}
#ifdef BCSQL_EMU
	if (u->verbose)
		fprintf(stderr, "emulated hops=%lu\n", emu_hops);
#endif
	if (u->verbose)
		fprintf(stderr, "user_walks=%lu\n", user_walks);
	ret = EX_OK;
out:
	free(out);
	bcsql_req_free(&r);
	return ret;
}

/*
 * Up to depth lookups in flight on one ring, each in its own request; each
 * lookup's rows go to a memory stream, printed in argument order as soon
 * as every earlier lookup is done.  A lookup that needs another chain (the
 * next row of an index key, the next leaf of a range) keeps its request.
 */
static int run_ring(struct run *u)
{
	int next = 0, inflight = 0, printed = 0, ret, progs, *done, *look_of, nlook = u->nlook;
	unsigned int cflags = u->generic ? BCSQL_GENERIC : 0;
	struct bcsql_req *reqs;
	struct io_uring ring;
	char **outs;
	size_t *lens;
	FILE **fs;

	ret = io_uring_queue_init(256, &ring, 0);
	if (ret)
		return fail("io_uring_queue_init", ret);
	reqs = calloc(u->depth, sizeof(*reqs));
	look_of = calloc(u->depth, sizeof(*look_of));
	outs = calloc(nlook, sizeof(*outs));
	lens = calloc(nlook, sizeof(*lens));
	fs = calloc(nlook, sizeof(*fs));
	done = calloc(nlook, sizeof(*done));
	if (!reqs || !look_of || !outs || !lens || !fs || !done) {
		ret = fail("calloc", -ENOMEM);
		goto out;
	}
	/* only the program this run needs: the kernel verifies each it loads */
	progs = u->mode == 0 ? BCSQL_PROG_ROWID : u->mode == 2 ? BCSQL_PROG_RANGE :
		bcsql_index_key_type(u->ix) == BCSQL_KEY_INT ? BCSQL_PROG_INDEX_INT :
		BCSQL_PROG_INDEX_TEXT;
	ret = bcsql_register_progs(u->db, &ring, 1U << progs);
	if (ret) {
		ret = fail(ret == -EOPNOTSUPP ? "IORING_OP_BPF_CHAIN" :
			   "loading and registering the programs", ret);
		goto out;
	}
	for (int i = 0; i < u->depth; i++) {
		look_of[i] = -1;
		ret = bcsql_req_init(u->db, &reqs[i]);
		if (ret) {
			ret = fail("bcsql_req_init", ret);
			goto out;
		}
	}
	while (printed < nlook) {
		struct io_uring_cqe *cqe;
		struct io_uring_sqe *sqe;
		struct bcsql_req *r;
		int k, res, look;

		while (next < nlook && inflight < u->depth) {
			for (k = 0; look_of[k] >= 0; k++)
				;
			r = &reqs[k];
			ret = req_for(u, r, next);
			if (ret) {
				ret = fail(look_name(u, next), ret);
				goto out;
			}
			fs[next] = open_memstream(&outs[next], &lens[next]);
			if (!fs[next]) {
				ret = fail("open_memstream", -errno);
				goto out;
			}
			look_of[k] = next++;
			sqe = io_uring_get_sqe(&ring);
			bcsql_prep(r, sqe, cflags);
			io_uring_sqe_set_data64(sqe, k);
			inflight++;
		}
		io_uring_submit(&ring);
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret) {
			ret = fail("io_uring_wait_cqe", ret);
			goto out;
		}
		k = cqe->user_data;
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		r = &reqs[k];
		look = look_of[k];
		ret = bcsql_complete(r, res, print_row, fs[look]);
		if (ret < 0) {
			fprintf(stderr, "bpfchain-sqlite: lookup %s: %s\n", look_name(u, look),
				bcsql_strerror(ret));
			ret = EX_ERROR;
			goto out;
		}
		if (ret == 1) {
			sqe = io_uring_get_sqe(&ring);
			bcsql_prep(r, sqe, cflags);
			io_uring_sqe_set_data64(sqe, k);
			continue;
		}
		user_walks += r->user_walks;
		look_of[k] = -1;
		inflight--;
		done[look] = 1;
		ret = fclose(fs[look]);
		fs[look] = NULL;
		if (ret) {
			ret = fail("open_memstream", -errno);
			goto out;
		}
		while (printed < nlook && done[printed]) {
			fwrite(outs[printed], 1, lens[printed], stdout);
			free(outs[printed]);
			outs[printed++] = NULL;
		}
	}
	ret = EX_OK;
	if (u->verbose) {
		struct io_uring_ext_bpf_chain_stats st;
		int err = io_uring_ext_bpf_chain_stats(&ring, &st);

		if (err) {
			ret = fail("io_uring_ext_bpf_chain_stats", err);
			goto out;
		}
		fprintf(stderr, "chains=%llu hops=%llu driver=%llu generic=%llu errors=%llu\n",
			(unsigned long long)st.chains,
			(unsigned long long)(st.hops_driver + st.hops_generic),
			(unsigned long long)st.hops_driver, (unsigned long long)st.hops_generic,
			(unsigned long long)(st.err_read + st.err_prog + st.err_loop + st.err_offset));
		/* hops the driver tier handed to the generic one, and why */
		fprintf(stderr, "handoff_hole=%llu handoff_boundary=%llu handoff_stale=%llu maps_built=%llu\n",
			(unsigned long long)st.handoff_hole, (unsigned long long)st.handoff_boundary,
			(unsigned long long)st.handoff_stale, (unsigned long long)st.maps_built);
		fprintf(stderr, "user_walks=%lu\n", user_walks);
	}
out:
	/* chains still in flight end with the ring, before their buffers go */
	io_uring_queue_exit(&ring);
	for (int i = 0; reqs && i < u->depth; i++)
		bcsql_req_free(&reqs[i]);
	for (int i = 0; fs && outs && i < nlook; i++) {
		if (fs[i])
			fclose(fs[i]);
		free(outs[i]);
	}
	free(reqs);
	free(look_of);
	free(outs);
	free(lens);
	free(fs);
	free(done);
	return ret;
}

/* A non-negative decimal option argument up to max. */
static int parse_opt(const char *s, int max, int *v)
{
	int64_t x;

	if (parse_i64(s, &x) || x < 0 || x > max)
		return -1;
	*v = x;
	return 0;
}

int main(int argc, char *argv[])
{
	struct run u = { .depth = 8 };
	int direct = 0, sync = 0, levels = 0, opt, ret, nargs;
	const char *index = NULL;
	char err[512];

	opterr = 0;
	while ((opt = getopt(argc, argv, "+dgvTc:q:")) != -1) {
		switch (opt) {
		case 'd': direct = 1; break;
		case 'g': u.generic = 1; break;
		case 'v': u.verbose = 1; break;
		case 'T': sync = 1; break;
		case 'c':
			if (parse_opt(optarg, BCSQL_MAX_DEPTH, &levels))
				goto usage;
			break;
		case 'q':
			if (parse_opt(optarg, 256, &u.depth) || !u.depth)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind < 3)
		goto usage;
	u.args = argv + optind + 2;
	nargs = argc - optind - 2;
	if (!strcmp(u.args[0], "--index")) {
		if (nargs < 3)
			goto usage;
		u.mode = 1;
		index = u.args[1];
		u.args += 2;
		nargs -= 2;
	} else if (!strcmp(u.args[0], "--range")) {
		u.mode = 2;
		u.args++;
		nargs--;
		if (nargs < 2 || nargs % 2)
			goto usage;
	}
	u.nlook = u.mode == 2 ? nargs / 2 : nargs;
	u.ints = calloc(nargs, sizeof(*u.ints));
	if (!u.ints)
		return fail("calloc", -ENOMEM);

	ret = bcsql_open(argv[optind], direct ? BCSQL_O_DIRECT : 0, &u.db, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "bpfchain-sqlite: %s\n", err);
		ret = exit_code(ret);
		goto out;
	}
	ret = bcsql_table(u.db, argv[optind + 1], &u.t);
	if (ret) {
		ret = fail(argv[optind + 1], ret);
		goto out;
	}
	if (index) {
		ret = bcsql_index(u.db, u.t, index, &u.ix);
		if (ret) {
			ret = fail(index, ret);
			goto out;
		}
	}
	for (int i = 0; i < nargs; i++) {
		int text = u.mode == 1 && bcsql_index_key_type(u.ix) == BCSQL_KEY_TEXT;

		if (!text && parse_i64(u.args[i], &u.ints[i])) {
			fprintf(stderr, "bpfchain-sqlite: %s: not an integer\n", u.args[i]);
			ret = EX_USAGE;
			goto out;
		}
		if (text && strlen(u.args[i]) > BCSQL_KEY_MAX) {
			fprintf(stderr, "bpfchain-sqlite: %s: a TEXT key longer than %d bytes: %s\n",
				u.args[i], BCSQL_KEY_MAX, bcsql_strerror(-BCSQL_E_UNSUPPORTED));
			ret = EX_UNSUPPORTED;
			goto out;
		}
	}
	for (int i = 0; u.mode == 2 && i < nargs; i += 2)
		if (u.ints[i] > u.ints[i + 1]) {
			fprintf(stderr, "bpfchain-sqlite: range %s %s: LO > HI\n", u.args[i],
				u.args[i + 1]);
			ret = EX_USAGE;
			goto out;
		}
	if (levels) {
		ret = bcsql_cache(u.t, u.ix, levels);
		if (ret) {
			ret = fail("cache", ret);
			goto out;
		}
	}
	ret = sync ? run_sync(&u) : run_ring(&u);
	if (fflush(stdout) && !ret)
		ret = fail("stdout", -EIO);
out:
	bcsql_close(u.db);
	free(u.ints);
	return ret;
usage:
	usage();
	return EX_USAGE;
}
