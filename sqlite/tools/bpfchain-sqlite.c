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
	fprintf(stderr, "usage: bpfchain-sqlite [-d] [-g] [-v] [-c LEVELS] [-q DEPTH] DB TABLE "
		"(ROWID... | --index INDEX VALUE... | --range LO HI [LO HI]...)\n");
}

int main(int argc, char *argv[])
{
	int direct = 0, generic = 0, verbose = 0, depth = 8, opt, ret, nargs, mode = 0;
	unsigned int levels = 0;
	const char *index = NULL;
	char err[512], **args;
	struct bcsql_db *db;
	struct bcsql_table *t;
	struct bcsql_index *ix = NULL;
	struct bcsql_req *reqs;
	struct io_uring ring;
	int64_t *ints;
	int next = 0, inflight = 0, failed = 0, printed = 0, nlook, *order, *done, *slot_of;
	char **outs;
	size_t *lens;
	FILE **fs;

	opterr = 0;
	while ((opt = getopt(argc, argv, "+dgvc:q:")) != -1) {
		switch (opt) {
		case 'd': direct = 1; break;
		case 'g': generic = 1; break;
		case 'v': verbose = 1; break;
		case 'c': levels = atoi(optarg); break;
		case 'q': depth = atoi(optarg); break;
		default: usage(); return EX_USAGE;
		}
	}
	if (argc - optind < 3 || depth < 1 || depth > 256) {
		usage();
		return EX_USAGE;
	}
	args = argv + optind + 2;
	nargs = argc - optind - 2;
	if (!strcmp(args[0], "--index")) {
		if (nargs < 3) {
			usage();
			return EX_USAGE;
		}
		mode = 1;
		index = args[1];
		args += 2;
		nargs -= 2;
	} else if (!strcmp(args[0], "--range")) {
		mode = 2;
		args++;
		nargs--;
		if (nargs < 2 || nargs % 2) {
			usage();
			return EX_USAGE;
		}
	}
	ints = calloc(nargs, sizeof(*ints));
	order = calloc(nargs, sizeof(*order));
	if (!ints || !order)
		return fail("calloc", -ENOMEM);

	ret = bcsql_open(argv[optind], direct ? BCSQL_O_DIRECT : 0, &db, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "bpfchain-sqlite: %s\n", err);
		return exit_code(ret);
	}
	ret = bcsql_table(db, argv[optind + 1], &t);
	if (ret)
		return fail(argv[optind + 1], ret);
	if (index) {
		ret = bcsql_index(db, t, index, &ix);
		if (ret)
			return fail(index, ret);
	}
	for (int i = 0; i < nargs; i++) {
		if ((mode != 1 || bcsql_index_key_type(ix) == BCSQL_KEY_INT) &&
		    parse_i64(args[i], &ints[i])) {
			fprintf(stderr, "bpfchain-sqlite: %s: not an integer\n", args[i]);
			return EX_USAGE;
		}
		if (mode == 1 && bcsql_index_key_type(ix) == BCSQL_KEY_TEXT &&
		    strlen(args[i]) > BCSQL_KEY_MAX)
			return fail(args[i], -BCSQL_E_UNSUPPORTED);
	}
	if (mode == 2)
		for (int i = 0; i < nargs; i += 2)
			if (ints[i] > ints[i + 1]) {
				fprintf(stderr, "bpfchain-sqlite: range %s %s: LO > HI\n", args[i], args[i + 1]);
				return EX_USAGE;
			}
	if (levels) {
		ret = bcsql_cache(t, NULL, levels);
		if (ret)
			return fail("cache", ret);
	}

	ret = io_uring_queue_init(256, &ring, 0);
	if (ret)
		return fail("io_uring_queue_init", ret);
	ret = bcsql_register(db, &ring);
	if (ret == -EOPNOTSUPP)
		return fail("IORING_OP_BPF_CHAIN", ret);
	if (ret)
		return fail("loading and registering the programs", ret);

	/*
	 * Lookups in flight, up to depth; their rows are printed in argument
	 * order, so one at a time per argument: a lookup keeps its slot until
	 * it is done, and only the oldest one prints (others wait for it).
	 * Simple and in order: rows of lookup k are collected by k's turn.
	 */
	reqs = calloc(depth, sizeof(*reqs));
	if (!reqs)
		return fail("calloc", -ENOMEM);
	for (int i = 0; i < depth; i++)
		if (bcsql_req_init(db, &reqs[i]))
			return fail("bcsql_req_init", -ENOMEM);
	/*
	 * Up to depth lookups in flight, each in its own request; each
	 * lookup's rows go to a memory stream, printed in argument order as
	 * soon as every earlier lookup is done.
	 */
	nlook = mode == 2 ? nargs / 2 : nargs;
	outs = calloc(nlook, sizeof(*outs));
	lens = calloc(nlook, sizeof(*lens));
	fs = calloc(nlook, sizeof(*fs));
	done = calloc(nlook, sizeof(*done));
	slot_of = calloc(depth, sizeof(*slot_of));
	if (!outs || !lens || !fs || !done || !slot_of)
		return fail("calloc", -ENOMEM);
	while (printed < nlook && !failed) {
		struct io_uring_cqe *cqe;
		struct io_uring_sqe *sqe;
		struct bcsql_req *r;
		int k, res, look;

		while (next < nlook && inflight < depth) {
			for (k = 0; reqs[k].t; k++)
				;
			r = &reqs[k];
			if (mode == 0) {
				ret = bcsql_req_rowid(t, r, ints[next]);
			} else if (mode == 1) {
				struct bcsql_value key = { 0 };

				if (bcsql_index_key_type(ix) == BCSQL_KEY_INT) {
					key.type = BCSQL_INTEGER;
					key.i = ints[next];
				} else {
					key.type = BCSQL_TEXT;
					key.p = (const unsigned char *)args[next];
					key.n = strlen(args[next]);
				}
				ret = bcsql_req_index(ix, r, &key);
			} else {
				ret = bcsql_req_range(t, r, ints[2 * next], ints[2 * next + 1]);
			}
			if (ret)
				return fail("lookup", ret);
			fs[next] = open_memstream(&outs[next], &lens[next]);
			if (!fs[next])
				return fail("open_memstream", -errno);
			slot_of[k] = next++;
			sqe = io_uring_get_sqe(&ring);
			bcsql_prep(r, sqe, generic ? BCSQL_GENERIC : 0);
			io_uring_sqe_set_data64(sqe, k);
			inflight++;
		}
		io_uring_submit(&ring);
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret)
			return fail("io_uring_wait_cqe", ret);
		k = cqe->user_data;
		res = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		r = &reqs[k];
		look = slot_of[k];
		ret = bcsql_complete(r, res, print_row, fs[look]);
		if (ret < 0) {
			fprintf(stderr, "bpfchain-sqlite: lookup %s: %s\n",
				args[mode == 2 ? 2 * look : look], bcsql_strerror(ret));
			failed = 1;
			break;
		}
		if (ret == 1) {	/* the next row of the key, the next leaf of the range */
			sqe = io_uring_get_sqe(&ring);
			bcsql_prep(r, sqe, generic ? BCSQL_GENERIC : 0);
			io_uring_sqe_set_data64(sqe, k);
			continue;
		}
		r->t = NULL;
		inflight--;
		done[look] = 1;
		fclose(fs[look]);
		while (printed < nlook && done[printed]) {
			fwrite(outs[printed], 1, lens[printed], stdout);
			free(outs[printed]);
			printed++;
		}
	}
	if (verbose) {
		struct io_uring_ext_bpf_chain_stats st;

		if (!io_uring_ext_bpf_chain_stats(&ring, &st))
			fprintf(stderr, "chains=%llu hops=%llu driver=%llu generic=%llu errors=%llu\n",
				(unsigned long long)st.chains,
				(unsigned long long)(st.hops_driver + st.hops_generic),
				(unsigned long long)st.hops_driver, (unsigned long long)st.hops_generic,
				(unsigned long long)(st.err_read + st.err_prog + st.err_loop + st.err_offset));
	}
	io_uring_queue_exit(&ring);
	bcsql_close(db);
	if (fflush(stdout))
		return fail("stdout", -EIO);
	return failed ? EX_ERROR : EX_OK;
}
