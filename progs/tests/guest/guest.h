/* SPDX-License-Identifier: MIT */
/*
 * What the files of progs-guest-test share (one file per sub-command, see
 * main.c): loading the programs from their skeletons (load.c), the two
 * ways to run a chain and the ring in both tiers (env.c), the test files
 * (files.c), the checks against the pread reader (checks.c) and the
 * corruption cases (corrupt.c).
 *
 * Build with the patched kernel's uapi headers first on the include path
 * (-isystem build/obj/usr/include) and -I build/progs for the skeletons.
 */
#ifndef BPFCHAIN_PROGS_GUEST_H
#define BPFCHAIN_PROGS_GUEST_H

#include <stdint.h>
#include <stddef.h>
#include <bpf/libbpf.h>
/* includes the patched <linux/bpf.h> and <linux/io_uring.h>, then liburing */
#include <liburing-ext.h>

#if defined(BPFCHAIN_UAPI_BPF_MIRRORED) || defined(BPFCHAIN_UAPI_SQE_UNNAMED)
#error "build with the patched kernel's uapi headers first: -isystem build/obj/usr/include"
#endif

#include "bpfchain_db.h"
#include "build.h"
#define CHECK_MAX_SHOWN	40	/* failures printed */
#define TEST_UTIL_EXTERN	/* one failures/checks/poke for every file */
#include "test_util.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define KERNEL_MAX_HOPS	256	/* the ring's default per-chain hop limit */
#define BATCH		32	/* chains in flight */
#define SKIP_RC		77

/* env.c: exits */
void skip(const char *fmt, const char *arg) __attribute__((noreturn));
void die(const char *what, int err) __attribute__((noreturn));
uint64_t rnd(void);
int finish(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ load.c */

/* the programs, in the slots of the ring's program table */
enum { P_LOOKUP, P_RANGE, P_HASH, NR_PROGS };

struct loaded {
	const char *name;	/* the skeleton's: btree_lookup, ... */
	void *skel;		/* struct btree_lookup etc. */
	struct bpf_object_skeleton *skeleton;
	struct bpf_object *obj;
	struct bpf_program *prog;
	int fd;
	__u32 insns;		/* instructions in the object */
	__u32 verified;		/* instructions the verifier processed */
};

extern struct loaded progs[NR_PROGS];

/* SKIP unless the kernel knows BPF_PROG_TYPE_IO_CHAIN and lets us load. */
void require_io_chain(void);
/* Every program, from its skeleton, into progs[]; dies on failure. */
void load_all(void);
int t_load(void);

/* ------------------------------------------------------------ env.c */

enum backend { BE_TEST_RUN, BE_URING };

struct req {
	int prog;		/* P_* */
	uint64_t off;		/* first block */
	void *scratch;
	uint32_t scratch_len;
	void *buf;		/* gets the last block read (page aligned) */
	int res;		/* out: CQE res */
	int hops;		/* out: blocks read, -1 when only the batch's sum is known */
};

/* what a tier counted, for the summary */
struct tier_totals {
	long chains, hops, hops_driver, hops_generic;
};

struct env {
	enum backend be;
	const char *name;	/* for messages */
	int fd;			/* the file chains read */
	int direct;		/* opened O_DIRECT */
	int nvme;		/* the file is on NVMe: the driver tier can read it */
	uint32_t bs;
	uint64_t size;
	struct io_uring ring;
	long chains, hops;	/* totals, for the summary (test-run; each tier's hops alike) */
	struct tier_totals driver, generic;	/* io_uring: per tier */
	unsigned char *bufs;	/* BATCH page-aligned blocks */
	unsigned char *scratch;	/* BATCH scratch areas */
};

extern struct env env;
extern int use_direct;	/* chains read their files with O_DIRECT */

void env_init(enum backend be, const char *name);
/* Chains now read path, opened as use_direct says, registered as slot 0. */
void env_file(const char *path, uint32_t bs);
/* Request i of the batch, zeroed: the batch's array. */
struct req *batch_req(int i, int prog, uint64_t off, uint32_t slen);
/* Run n chains in every tier the backend has; returns the hops of one run. */
long run_batch(struct req *r, int n);
/* test_run.c: one chain by BPF_PROG_TEST_RUN, hop by hop */
int test_run_chain(struct req *r);

/* ------------------------------------------------------------ files.c */

void make_workdir(const char *dir);
void remove_workdir(void);
/* name inside the work directory (4 results live at a time) */
const char *wpath(const char *name);
void btree_file(const char *name, uint64_t n, uint32_t ns, uint32_t f, uint64_t seed,
		int scatter, struct bc_build_info *info);
void hash_file(const char *name, uint64_t n, uint32_t bs, uint32_t f, uint64_t nb,
	       uint64_t seed, int scatter, struct bc_build_info *info);
uint64_t *make_keys(uint64_t seed, uint64_t n, size_t count);

/* ------------------------------------------------------------ checks.c */

struct stats {
	long present, absent, errors;
};

struct range_stats {
	long ranges, calls, values, resumed;
};

/* The B+-trees of the tests: node sizes 512 and 4096, depth 1 to 6. */
struct tree {
	uint64_t n;
	uint32_t ns, f, depth;
	int scatter;
};

struct htab {
	uint64_t n;
	uint32_t bs, f;
	uint64_t nb;
	int scatter;
};

extern const struct tree trees[6], small_trees[4];
extern const struct htab htabs[5];

void lookups_on(const struct tree *t, uint64_t seed, size_t nkeys, int nranges,
		struct stats *st, struct range_stats *rs);
void hash_on(const struct htab *h, uint64_t seed, size_t nkeys, struct stats *st,
	     uint32_t *max_chain);

/* ------------------------------------------------------------ corrupt.c */

void corrupt_all(long *cases);

/* ------------------------------------------------------------ chain.c */

/* A chain sub-command on DIR: programs, work directory, ring. */
void chain_init(const char *dir, const char *mode, const char *name);
/* Its summary line, both tiers' counts; the exit status. */
int chain_finish(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------ sub-commands */

int t_test_run(void);
int t_chain_btree(const char *dir, const char *mode);
int t_chain_range(const char *dir, const char *mode);
int t_chain_hash(const char *dir, const char *mode);
int t_chain_corrupt(const char *dir, const char *mode);

#endif /* BPFCHAIN_PROGS_GUEST_H */
