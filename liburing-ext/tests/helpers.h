/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the liburing-ext tests, in the style of liburing's test/:
 * one program per case, exit T_EXIT_PASS, T_EXIT_FAIL or T_EXIT_SKIP.
 */
#ifndef LIBURING_EXT_TEST_HELPERS_H
#define LIBURING_EXT_TEST_HELPERS_H

#include <bpf/libbpf.h>
#include "liburing-ext.h"

enum t_test_result {
	T_EXIT_PASS = 0,
	T_EXIT_FAIL = 1,
	T_EXIT_SKIP = 77,
};

extern int t_failures;

/* Count a failed check, say where, and go on. */
#define T_CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		t_failures++;						\
		fprintf(stderr, "%s:%d: check failed: %s: ",		\
			__FILE__, __LINE__, #cond);			\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	}								\
} while (0)

/* Equality of two ints, both printed on failure. */
#define T_EQ(want, got, what) do {					\
	long long __w = (want), __g = (got);				\
	T_CHECK(__w == __g, "%s: want %lld (%s), got %lld (%s)", what,	\
		__w, t_errname(__w), __g, t_errname(__g));		\
} while (0)

/* "EINVAL" for -EINVAL, "" for anything that is not a negated errno */
const char *t_errname(long long v);

void t_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void t_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
int t_exit(void);

/* A ring on which IORING_OP_BPF_CHAIN works, else skip. */
void t_ring(struct io_uring *ring, unsigned entries, unsigned flags);
/* An fd number that is not open (-1 means something else to newer kernels). */
int t_closed_fd(void);
/* Path of a file next to the test program (its BPF objects). */
const char *t_path(const char *name);
/* io_uring_ext_bpf_chain_load() of a test object; skip without CAP_BPF. */
int t_load(const char *obj, const char *prog, struct bpf_object **o);
/* fd of the loaded program name of obj */
int t_prog_fd(struct bpf_object *obj, const char *name);
/* A loaded BPF_PROG_TYPE_SOCKET_FILTER program: the wrong type. */
int t_socket_filter(void);

/*
 * A file of nblocks linked blocks of bs bytes, in a scrambled order: each
 * block starts with the offset of the next (~0 ends the list) and a value,
 * 1000 + its position in the list.  Returns the fd, opened read-only
 * (O_DIRECT if asked), and the offset of the list's head in *head.  The
 * file is unlinked already.
 */
int t_list_file(const char *dir, int bs, int nblocks, int o_direct, __u64 *head);
/* Offset of the i-th element of the list t_list_file() wrote. */
__u64 t_list_offset(int bs, int nblocks, int i);

/*
 * Where the chain tests run, if the directory is there: every file system
 * of the test guest (/tmp always), with O_DIRECT or not, and a block size.
 */
struct t_place {
	const char *dir;
	int o_direct;
	int bs;
};

extern const struct t_place t_places[];
extern const unsigned t_nr_places;

/*
 * Skip unless the kernel runs chains; then chain_progs.bpf.o loaded: the
 * fds of its walker and fail_euclean programs, and the object.
 */
struct bpf_object *t_chain_progs(int *walker, int *fail);

/* Submit the one prepared SQE and wait: the CQE's res. */
int t_submit_wait(struct io_uring *ring);
/* One chain on fixed file 0 with the helpers under test: the CQE's res. */
int t_chain(struct io_uring *ring, void *buf, unsigned bs, __u64 off,
	    unsigned prog_slot, void *scratch, unsigned scratch_len);

#endif
