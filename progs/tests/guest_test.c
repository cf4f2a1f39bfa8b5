// SPDX-License-Identifier: MIT
/*
 * Guest tests of progs/: the BPF programs loaded by libbpf into the patched
 * kernel, run block by block with BPF_PROG_TEST_RUN and as whole chains
 * with IORING_OP_BPF_CHAIN, every answer compared with the pread(2) reader
 * (libbpfchain-db).  Loading, the ring's program table, the SQEs and the
 * ring's counters go through liburing-ext, so these tests are also the
 * library's on thousands of chains.
 *
 *   progs-guest-test load
 *   progs-guest-test test-run
 *   progs-guest-test chain-btree   DIR direct|buffered
 *   progs-guest-test chain-range   DIR direct|buffered
 *   progs-guest-test chain-hash    DIR direct|buffered
 *   progs-guest-test chain-corrupt DIR direct|buffered
 *
 * Exit 0 pass, 1 fail, 77 skip (the reason on stdout).  The BPF objects are
 * looked up next to the executable.  Build with the patched kernel's uapi
 * headers first on the include path (-isystem build/obj/usr/include).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/stddef.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
/* includes the patched <linux/bpf.h> and <linux/io_uring.h>, then liburing */
#include <liburing-ext.h>

#if defined(BPFCHAIN_UAPI_BPF_MIRRORED) || defined(BPFCHAIN_UAPI_SQE_UNNAMED)
#error "build with the patched kernel's uapi headers first: -isystem build/obj/usr/include"
#endif

#include "bpfchain_db.h"
#include "build.h"
#define CHECK_MAX_SHOWN	40	/* failures printed */
#include "test_util.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define KERNEL_MAX_HOPS	256	/* the ring's default per-chain hop limit */
#define BATCH		32	/* chains in flight */
#define SKIP_RC		77

static void skip(const char *fmt, const char *arg)
{
	printf("SKIP: ");
	printf(fmt, arg);
	putchar('\n');
	exit(SKIP_RC);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "FAIL: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* ------------------------------------------------------------ loading */

enum { P_LOOKUP, P_RANGE, P_HASH, NR_PROGS };
static const char *const prog_names[NR_PROGS] = { "btree_lookup", "btree_range", "hash_lookup" };

static char objdir[PATH_MAX];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void find_objdir(void)
{
	ssize_t n = readlink("/proc/self/exe", objdir, sizeof(objdir) - 1);
	char *slash;

	if (n < 0)
		die("readlink /proc/self/exe", errno);
	objdir[n] = 0;
	slash = strrchr(objdir, '/');
	if (slash)
		*slash = 0;
}

/* SKIP unless the kernel knows BPF_PROG_TYPE_IO_CHAIN and lets us load. */
static void require_io_chain(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_IO_CHAIN, NULL, "GPL", insns, 2, NULL);

	if (fd >= 0) {
		close(fd);
		return;
	}
	if (fd == -EPERM)
		skip("%s", "loading IO_CHAIN programs needs CAP_BPF");
	if (fd == -EINVAL)
		skip("%s", "kernel lacks BPF_PROG_TYPE_IO_CHAIN");
	die("BPF_PROG_LOAD of a trivial IO_CHAIN program", fd);
}

struct loaded {
	struct bpf_object *obj;
	int fd;
	__u32 insns;		/* instructions in the object */
	__u32 verified;		/* instructions the verifier processed */
};

static const char *obj_path(const char *name)
{
	static char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s.bpf.o", objdir, name);
	return path;
}

/* The program's instruction counts, before and after the verifier. */
static void prog_counts(const char *fn, struct loaded *l)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(l->obj, fn);
	struct bpf_prog_info info;
	__u32 info_len = sizeof(info);

	l->insns = prog ? bpf_program__insn_cnt(prog) : 0;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(l->fd, &info, &info_len))
		l->verified = info.verified_insns;
}

/*
 * Load build/progs/NAME.bpf.o with io_uring_ext_bpf_chain_load(), which
 * types its io_chain programs (bpf_program__set_type).  libbpf prints the
 * verifier's log through libbpf_print() when the load fails.  0 or -errno.
 */
static int load_prog(const char *name, struct loaded *l)
{
	char fn[64];
	int fd;

	memset(l, 0, sizeof(*l));
	snprintf(fn, sizeof(fn), "bpfchain_%s", name);
	fd = io_uring_ext_bpf_chain_load(obj_path(name), fn, &l->obj);
	if (fd < 0) {
		fprintf(stderr, "%s: io_uring_ext_bpf_chain_load: %s\n", obj_path(name),
			strerror(-fd));
		return fd;
	}
	l->fd = fd;
	prog_counts(fn, l);
	return 0;
}

/*
 * The other way: plain libbpf, the type coming from the application's
 * io_chain section handler alone (libbpf_register_prog_handler).
 */
static int load_prog_by_handler(const char *name, struct loaded *l)
{
	struct bpf_program *prog;
	char fn[64];
	int err;

	memset(l, 0, sizeof(*l));
	snprintf(fn, sizeof(fn), "bpfchain_%s", name);
	l->obj = bpf_object__open_file(obj_path(name), NULL);
	if (!l->obj)
		return -errno;
	prog = bpf_object__find_program_by_name(l->obj, fn);
	err = !prog ? -ENOENT : bpf_program__type(prog) != BPF_PROG_TYPE_IO_CHAIN ? -EINVAL :
	      bpf_object__load(l->obj);
	if (err) {
		fprintf(stderr, "%s: %s (section handler gave type %d)\n", name, strerror(-err),
			prog ? (int)bpf_program__type(prog) : -1);
		io_uring_ext_bpf_chain_close(l->obj);
		l->obj = NULL;
		return err;
	}
	l->fd = bpf_program__fd(prog);
	prog_counts(fn, l);
	return 0;
}

static struct loaded progs[NR_PROGS];

static void load_all(void)
{
	int err;

	require_io_chain();
	for (int i = 0; i < NR_PROGS; i++) {
		err = load_prog(prog_names[i], &progs[i]);
		if (err)
			die(prog_names[i], err);
	}
}

/* ------------------------------------------------------------ the two ways to run a chain */

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

struct env {
	enum backend be;
	const char *name;	/* for messages */
	int fd;			/* the file chains read */
	int direct;		/* opened O_DIRECT */
	uint32_t bs;
	uint64_t size;
	struct io_uring ring;
	long chains, hops;	/* totals, for the summary */
	unsigned char *bufs;	/* BATCH page-aligned blocks */
	unsigned char *scratch;	/* BATCH scratch areas */
};

static struct env env;

/* The ring's counters (its fdinfo), through liburing-ext. */
static struct io_uring_ext_bpf_chain_stats ring_stats(void)
{
	struct io_uring_ext_bpf_chain_stats st;
	int ret = io_uring_ext_bpf_chain_stats(&env.ring, &st);

	if (ret)
		die("io_uring_ext_bpf_chain_stats", ret);
	return st;
}

static __u64 chain_errors(const struct io_uring_ext_bpf_chain_stats *st)
{
	return st->err_read + st->err_prog + st->err_loop + st->err_offset;
}

/*
 * BPF_PROG_TEST_RUN, block by block, doing what the generic tier does:
 * pread the block, run the program on block + scratch, carry the scratch
 * over, follow next_offset, stop at DONE or an error.  The kernel's own
 * checks (alignment, EOF, hop limit) are applied here with its errnos.
 */
static int test_run_chain(struct req *r)
{
	static unsigned char in[BC_BLOCK_MAX + BPF_IO_CHAIN_SCRATCH_SIZE];
	static unsigned char out[BC_BLOCK_MAX + BPF_IO_CHAIN_SCRATCH_SIZE + 64];
	uint32_t len = env.bs, slen = r->scratch_len;
	struct bpf_io_chain cin, cout;
	uint64_t off = r->off;
	int err;

	r->hops = 0;
	for (unsigned int hop = 0;; hop++) {
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = in, .data_size_in = len + slen,
			.data_out = out, .data_size_out = sizeof(out),
			.ctx_in = &cin, .ctx_size_in = sizeof(cin),
			.ctx_out = &cout, .ctx_size_out = sizeof(cout));

		if (hop >= KERNEL_MAX_HOPS)
			return -ELOOP;
		if (off % 512)
			return -EINVAL;
		if (off >= env.size || env.size - off < len)
			return -ERANGE;
		if (pread(env.fd, in, len, off) != (ssize_t)len)
			return -EIO;
		memcpy(in + len, r->scratch, slen);
		memset(&cin, 0, sizeof(cin));
		cin.offset = off;
		cin.hop = hop;
		cin.scratch_len = slen;
		memset(&cout, 0xa5, sizeof(cout));
		err = bpf_prog_test_run_opts(progs[r->prog].fd, &o);
		CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err));
		if (err)
			return -10000;	/* never a chain result */
		r->hops++;
		CHECK(o.data_size_out == len + slen, "data_size_out %u, want %u", o.data_size_out,
		      len + slen);
		CHECK(!memcmp(out, in, len), "the program changed the block");
		CHECK(cout.offset == off && cout.hop == hop && cout.len == len &&
		      cout.scratch_len == slen, "ctx_out offset %llu hop %u len %u scratch_len %u",
		      (unsigned long long)cout.offset, cout.hop, cout.len, cout.scratch_len);
		memcpy(r->scratch, out + len, slen);
		memcpy(r->buf, in, len);
		if ((int)o.retval == BPF_IO_CHAIN_NEXT) {
			off = cout.next_offset;
			continue;
		}
		if ((int)o.retval == BPF_IO_CHAIN_DONE)
			return (int)cout.result;
		CHECK((int)o.retval < 0 && (int)o.retval >= -4095, "retval %d", (int)o.retval);
		return (int)o.retval;
	}
}

/*
 * Run n chains.  BPF_PROG_TEST_RUN: one after the other, each with its hop
 * count.  io_uring: one IORING_OP_BPF_CHAIN SQE each, all in flight at
 * once, prepared by liburing-ext; the hops come from the ring's
 * BpfChainHopsGeneric counter (io_uring_ext_bpf_chain_stats), so only
 * their sum is known (r[i].hops = -1) unless n = 1.  The counters must also
 * show n more chains and one error for each negative result.  Returns the
 * hops.
 */
static long run_batch(struct req *r, int n)
{
	struct io_uring_ext_bpf_chain_stats st0, st1;
	struct io_uring_cqe *cqe;
	long hops = 0, chains, errors, want_errors = 0;
	int seen[BATCH] = { 0 }, ret;

	if (env.be == BE_TEST_RUN) {
		for (int i = 0; i < n; i++) {
			r[i].res = test_run_chain(&r[i]);
			hops += r[i].hops;
		}
		env.chains += n;
		env.hops += hops;
		return hops;
	}

	st0 = ring_stats();
	for (int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&env.ring);

		if (!sqe)
			die("io_uring_get_sqe", EBUSY);
		/* file slot 0, program slot r[i].prog */
		io_uring_ext_prep_bpf_chain(sqe, 0, r[i].buf, env.bs, r[i].off, r[i].prog);
		io_uring_ext_sqe_set_scratch(sqe, r[i].scratch, r[i].scratch_len);
		io_uring_ext_sqe_set_chain_flags(sqe, IORING_BPF_CHAIN_GENERIC);
		io_uring_sqe_set_data64(sqe, i);
		r[i].res = -10000;
		r[i].hops = -1;
	}
	ret = io_uring_submit(&env.ring);
	if (ret != n)
		die("io_uring_submit", ret < 0 ? ret : EIO);
	for (int i = 0; i < n; i++) {
		ret = io_uring_wait_cqe(&env.ring, &cqe);
		if (ret)
			die("io_uring_wait_cqe", ret);
		CHECK(cqe->user_data < (__u64)n && !seen[cqe->user_data], "CQE user_data %llu",
		      (unsigned long long)cqe->user_data);
		if (cqe->user_data < (__u64)n) {
			seen[cqe->user_data] = 1;
			r[cqe->user_data].res = cqe->res;
			want_errors += cqe->res < 0;
		}
		io_uring_cqe_seen(&env.ring, cqe);
	}
	st1 = ring_stats();
	hops = st1.hops_generic - st0.hops_generic;
	chains = st1.chains - st0.chains;
	errors = chain_errors(&st1) - chain_errors(&st0);
	CHECK(chains == n, "BpfChainChains grew by %ld for %d chains", chains, n);
	CHECK(errors == want_errors, "BpfChainErrors grew by %ld for %ld failed chains", errors,
	      want_errors);
	if (n == 1)
		r[0].hops = hops;
	env.chains += n;
	env.hops += hops;
	return hops;
}

static void ring_setup(void)
{
	int ret, fds[NR_PROGS];

	ret = io_uring_queue_init(2 * BATCH, &env.ring, 0);
	if (ret == -ENOSYS || ret == -EPERM)
		skip("io_uring unavailable: %s", strerror(-ret));
	if (ret)
		die("io_uring_queue_init", ret);
	ret = io_uring_ext_bpf_chain_supported(&env.ring);
	if (ret < 0)
		die("io_uring_ext_bpf_chain_supported", ret);
	if (!ret)
		skip("%s", "kernel lacks IORING_OP_BPF_CHAIN");
	/* the counters are there (-ENOTSUP otherwise) */
	ring_stats();
	/* slot i = program i, the default hop limit */
	for (int i = 0; i < NR_PROGS; i++)
		fds[i] = progs[i].fd;
	ret = io_uring_ext_register_bpf_chain(&env.ring, fds, NR_PROGS, 0);
	if (ret)
		die("io_uring_ext_register_bpf_chain", ret);
}

static void env_init(enum backend be, const char *name)
{
	env.be = be;
	env.name = name;
	env.fd = -1;
	if (posix_memalign((void **)&env.bufs, 4096, BATCH * 4096) ||
	    posix_memalign((void **)&env.scratch, 64, BATCH * BPF_IO_CHAIN_SCRATCH_SIZE))
		die("posix_memalign", ENOMEM);
	if (be == BE_URING)
		ring_setup();
}

/* Chains now read path (O_DIRECT or not); the file is registered as slot 0. */
static int use_direct;

static void env_file(const char *path, uint32_t bs)
{
	int direct = use_direct;
	struct stat st;
	int ret;

	if (env.fd >= 0) {
		if (env.be == BE_URING)
			io_uring_unregister_files(&env.ring);
		close(env.fd);
	}
	env.direct = direct;
	env.fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	if (env.fd < 0)
		die(path, errno);
	if (fstat(env.fd, &st))
		die(path, errno);
	env.size = st.st_size;
	env.bs = bs;
	if (env.be == BE_URING) {
		ret = io_uring_register_files(&env.ring, &env.fd, 1);
		if (ret)
			die("io_uring_register_files", ret);
	}
}

static struct req *batch_req(int i, int prog, uint64_t off, uint32_t slen)
{
	static struct req r[BATCH];

	memset(&r[i], 0, sizeof(r[i]));
	r[i].prog = prog;
	r[i].off = off;
	r[i].scratch = env.scratch + i * BPF_IO_CHAIN_SCRATCH_SIZE;
	r[i].scratch_len = slen;
	r[i].buf = env.bufs + i * 4096;
	memset(r[i].scratch, 0, BPF_IO_CHAIN_SCRATCH_SIZE);
	memset(r[i].buf, 0xee, 4096);
	return r;
}

/* ------------------------------------------------------------ files */

static char workdir[PATH_MAX];

static const char *wpath(const char *name)
{
	static char buf[4][PATH_MAX + 64];
	static int n;
	char *p = buf[n++ % 4];

	snprintf(p, PATH_MAX + 64, "%s/%s", workdir, name);
	return p;
}

static void make_workdir(const char *dir)
{
	if (access(dir, W_OK))
		skip("%s is not writable (the guest mounts a file system there)", dir);
	snprintf(workdir, sizeof(workdir), "%s/bpfchain-progs.XXXXXX", dir);
	if (!mkdtemp(workdir))
		die("mkdtemp", errno);
}

static void remove_workdir(void)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", workdir);
}

static void sync_file(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fsync(fd))
		die(path, errno);
	close(fd);
}

static void btree_file(const char *name, uint64_t n, uint32_t ns, uint32_t f, uint64_t seed,
		       int scatter, struct bc_build_info *info)
{
	struct bc_build_opts o = { .nkeys = n, .block_size = ns, .fanout = f, .seed = seed,
				   .scatter = scatter };
	int err = bc_build_btree(wpath(name), &o, info);

	if (err)
		die("bc_build_btree", err);
	sync_file(wpath(name));
}

static void hash_file(const char *name, uint64_t n, uint32_t bs, uint32_t f, uint64_t nb,
		      uint64_t seed, int scatter, struct bc_build_info *info)
{
	struct bc_build_opts o = { .nkeys = n, .block_size = bs, .fanout = f, .seed = seed,
				   .nbuckets = nb, .scatter = scatter };
	int err = bc_build_hash(wpath(name), &o, info);

	if (err)
		die("bc_build_hash", err);
	sync_file(wpath(name));
}

static void poke(const char *name, uint64_t off, const void *p, size_t len)
{
	int fd = open(wpath(name), O_WRONLY);

	if (fd < 0 || pwrite(fd, p, len, off) != (ssize_t)len || fsync(fd))
		die("poke", errno);
	close(fd);
}

/* Keys for a file of n keys: present, absent, next to present ones, extremes. */
static uint64_t *make_keys(uint64_t seed, uint64_t n, size_t count)
{
	uint64_t *k = malloc(count * sizeof(*k));

	for (size_t i = 0; i < count; i++) {
		uint64_t r = rnd(), kind = i % 10;

		if (i == 0)
			k[i] = 0;
		else if (i == 1)
			k[i] = UINT64_MAX;
		else if (n && kind < 4)
			k[i] = bc_key_of(seed, r % n);
		else if (n && kind < 6)
			k[i] = bc_key_of(seed, r % n) + (r & 1 ? 1 : -1);
		else if (kind < 9)
			k[i] = bc_key_of(seed, n + r % (1ULL << 40));
		else
			k[i] = rnd();
	}
	return k;
}

/* ------------------------------------------------------------ checks */

struct stats {
	long present, absent, errors;
};

/*
 * Point lookups of keys[] through btree_lookup, batch at a time, every
 * answer compared with the reader: CQE res, found, value, the program's hop
 * count and the blocks the chain really read.  Every fifth lookup starts at
 * the superblock with file_size 0 (one more block), every fifth starts at
 * the root with file_size 0 (the kernel checks EOF alone).
 */
static void check_lookups(struct bcdb *db, const uint64_t *keys, size_t count, int batch,
			  struct stats *st, const char *what)
{
	struct bcdb_result rr[BATCH];
	int err[BATCH], sup[BATCH];

	for (size_t base = 0; base < count; base += batch) {
		int n = count - base < (size_t)batch ? (int)(count - base) : batch;
		long want_hops = 0, hops;
		struct req *r = NULL;

		for (int i = 0; i < n; i++) {
			uint64_t key = keys[base + i];
			struct bc_lookup_scratch *s;
			int mode = (base + i) % 5;

			err[i] = bcdb_btree_lookup(db, key, &rr[i]);
			sup[i] = mode == 0;
			want_hops += rr[i].blocks + sup[i];
			r = batch_req(i, P_LOOKUP, sup[i] ? 0 : bcdb_btree_start(db), sizeof(*s));
			s = r[i].scratch;
			s->key = key;
			s->file_size = mode <= 1 ? 0 : db->file_size;
			s->__pad = 0x7e57;	/* untouched by the program */
		}
		hops = run_batch(r, n);
		CHECK(hops == want_hops, "%s: the kernel read %ld blocks for %d lookups, the reader %ld",
		      what, hops, n, want_hops);
		for (int i = 0; i < n; i++) {
			struct bc_lookup_scratch *s = r[i].scratch;
			const struct bc_btree_node *leaf = r[i].buf;
			uint64_t key = keys[base + i];
			unsigned int want = rr[i].blocks + sup[i];

			if (err[i]) {
				CHECK(r[i].res == err[i], "%s: key %#llx res %d, reader %d", what,
				      (unsigned long long)key, r[i].res, err[i]);
				st->errors++;
				continue;
			}
			st->present += rr[i].found;
			st->absent += !rr[i].found;
			CHECK(r[i].res == rr[i].found && s->found == (__u32)rr[i].found &&
			      (!rr[i].found || s->value == rr[i].value) && s->key == key &&
			      s->__pad == 0x7e57,
			      "%s: key %#llx res %d found %u value %#llx, reader found %d value %#llx",
			      what, (unsigned long long)key, r[i].res, s->found,
			      (unsigned long long)s->value, rr[i].found, (unsigned long long)rr[i].value);
			CHECK(!rr[i].found || rr[i].value == bc_value_of(key), "%s: reader value", what);
			CHECK(s->hops == want && (r[i].hops < 0 || r[i].hops == (int)want),
			      "%s: key %#llx hops %u (counted %d), reader %u", what,
			      (unsigned long long)key, s->hops, r[i].hops, want);
			/* the buffer holds the leaf that answered */
			CHECK(leaf->magic == BC_BTREE_NODE_MAGIC && leaf->level == 0,
			      "%s: last block is not a leaf", what);
		}
		if (failures > 40)
			return;
	}
}

/* The same for the hash: from the key's bucket block, or from the superblock. */
static void check_hash(struct bcdb *db, const uint64_t *keys, size_t count, int batch,
		       struct stats *st, const char *what)
{
	struct bcdb_result rr[BATCH];
	int err[BATCH], sup[BATCH];

	for (size_t base = 0; base < count; base += batch) {
		int n = count - base < (size_t)batch ? (int)(count - base) : batch;
		long want_hops = 0, hops;
		struct req *r = NULL;

		for (int i = 0; i < n; i++) {
			uint64_t key = keys[base + i];
			struct bc_hash_scratch *s;
			int mode = (base + i) % 4;

			err[i] = bcdb_hash_lookup(db, key, &rr[i]);
			sup[i] = mode == 0;
			want_hops += rr[i].blocks + sup[i];
			r = batch_req(i, P_HASH, sup[i] ? 0 : bcdb_hash_start(db, key), sizeof(*s));
			s = r[i].scratch;
			s->key = key;
			s->file_size = mode <= 1 ? 0 : db->file_size;
		}
		hops = run_batch(r, n);
		CHECK(hops == want_hops, "%s: the kernel read %ld blocks for %d lookups, the reader %ld",
		      what, hops, n, want_hops);
		for (int i = 0; i < n; i++) {
			struct bc_hash_scratch *s = r[i].scratch;
			uint64_t key = keys[base + i];
			unsigned int want = rr[i].blocks + sup[i];

			if (err[i]) {
				CHECK(r[i].res == err[i], "%s: key %#llx res %d, reader %d", what,
				      (unsigned long long)key, r[i].res, err[i]);
				st->errors++;
				continue;
			}
			st->present += rr[i].found;
			st->absent += !rr[i].found;
			CHECK(r[i].res == rr[i].found && s->found == (__u32)rr[i].found &&
			      (!rr[i].found || s->value == rr[i].value) && s->key == key,
			      "%s: key %#llx res %d found %u, reader found %d", what,
			      (unsigned long long)key, r[i].res, s->found, rr[i].found);
			CHECK(!rr[i].found || rr[i].value == bc_value_of(key), "%s: reader value", what);
			CHECK(s->hops == want && (r[i].hops < 0 || r[i].hops == (int)want),
			      "%s: key %#llx hops %u (counted %d), reader %u", what,
			      (unsigned long long)key, s->hops, r[i].hops, want);
		}
		if (failures > 40)
			return;
	}
}

struct range_stats {
	long ranges, calls, values, resumed;
};

/*
 * Range scans of [lo, hi] through btree_range, one chain per call, resuming
 * while BC_RANGE_F_MORE says so.  Each call is compared with the reader's
 * call (count, values, more, resume, blocks), and all values of the range
 * with the sorted keys[] (the model).
 */
static void check_range(struct bcdb *db, const uint64_t *keys, uint64_t n, uint64_t lo,
			uint64_t hi, uint32_t max, struct range_stats *st, const char *what)
{
	uint64_t values[BC_RANGE_MAX], want_lo, want_hi, got = 0;
	struct bcdb_range rr;
	int calls = 0;

	for (want_lo = 0; want_lo < n && keys[want_lo] < lo; want_lo++)
		;
	for (want_hi = want_lo; want_hi < n && keys[want_hi] <= hi; want_hi++)
		;
	st->ranges++;
	for (;;) {
		struct bc_range_scratch *s;
		int err, sup = calls == 0 && st->ranges % 3 == 0;
		struct req *r;
		long hops;

		err = bcdb_btree_range(db, lo, hi, values, max, &rr);
		CHECK(err == 0, "%s: reader range: %s", what, bcdb_errname(err));
		if (err)
			return;
		r = batch_req(0, P_RANGE, sup ? 0 : bcdb_btree_start(db), sizeof(*s));
		s = r[0].scratch;
		s->lo = lo;
		s->hi = hi;
		s->max = max;
		s->file_size = sup ? 0 : db->file_size;
		hops = run_batch(r, 1);
		calls++;
		st->calls++;
		CHECK(r[0].res == (int)rr.count && s->count == rr.count &&
		      !!(s->flags & BC_RANGE_F_MORE) == rr.more && (!rr.more || s->resume == rr.resume) &&
		      !memcmp(s->values, values, rr.count * sizeof(values[0])),
		      "%s: [%#llx, %#llx] max %u: res %d count %u more %u, reader count %u more %d",
		      what, (unsigned long long)lo, (unsigned long long)hi, max, r[0].res, s->count,
		      s->flags & BC_RANGE_F_MORE, rr.count, rr.more);
		CHECK(hops == rr.blocks + sup && s->hops == hops,
		      "%s: range read %ld blocks (program says %u), reader %u", what, hops, s->hops,
		      rr.blocks + sup);
		for (uint32_t i = 0; i < rr.count; i++) {
			CHECK(want_lo + got + i < want_hi &&
			      values[i] == bc_value_of(keys[want_lo + got + i]),
			      "%s: value %llu of the range is wrong", what, (unsigned long long)(got + i));
			if (failures > 40)
				return;
		}
		got += rr.count;
		if (!(s->flags & BC_RANGE_F_MORE) || r[0].res < 0)
			break;
		st->resumed++;
		lo = s->resume;
		if (failures > 40)
			return;
	}
	st->values += got;
	CHECK(got == want_hi - want_lo, "%s: range gave %llu values, want %llu", what,
	      (unsigned long long)got, (unsigned long long)(want_hi - want_lo));
}

static void check_ranges(struct bcdb *db, uint64_t seed, uint64_t n, int nranges,
			 struct range_stats *st, const char *what)
{
	static const uint32_t maxes[] = { 0, 1, 3, 8, 55, 56, 100 };
	uint64_t *keys = malloc((n + 1) * sizeof(*keys));

	for (uint64_t i = 0; i < n; i++)
		keys[i] = bc_key_of(seed, i);
	qsort(keys, n, sizeof(*keys), cmp_u64);
	for (int q = 0; q < nranges && failures <= 40; q++) {
		uint32_t max = maxes[q % ARRAY_LEN(maxes)];
		uint64_t lo, hi, a, b;

		if (q == 0 && n <= 5000) {
			lo = 0, hi = UINT64_MAX;		/* everything */
		} else if (q == 1) {
			lo = 10, hi = 9;			/* empty */
		} else if (!n || q % 5 == 4) {
			lo = rnd();				/* anywhere, short */
			hi = lo + (rnd() >> 44);
			if (hi < lo)
				hi = UINT64_MAX;
		} else {
			/* up to 400 keys, bounds on, just below or just above a key */
			a = rnd() % n;
			b = a + rnd() % 400;
			if (b >= n)
				b = n - 1;
			lo = keys[a] - (q % 3 == 1) + (q % 3 == 2);
			hi = keys[b] + (q % 4 == 1) - (q % 4 == 2 && b > a);
		}
		if (max == 1 && q == 0)
			max = 56;
		check_range(db, keys, n, lo, hi, max, st, what);
	}
	free(keys);
}

/* ------------------------------------------------------------ corruption */

static const char *res_name(int res)
{
	return res == 1 ? "found" : res == 0 ? "not found" : bcdb_errname(res);
}

/*
 * One lookup of key in the file name (corrupted or not): the reader must
 * fail with want, and the chain too, having read the same blocks.  from:
 * 0 the root with file_size, 1 the superblock, 2 the root with file_size 0
 * (kernel_want is then what the chain gives).
 */
static void corrupt_lookup(const char *name, uint32_t bs, int prog, uint64_t key, int from,
			   int reader_want, int want, int kernel_want, long *cases, const char *what)
{
	struct bcdb_result rr;
	struct bcdb db;
	uint64_t start = 0;
	struct req *r;
	int err, res;
	long hops;

	memset(&rr, 0, sizeof(rr));
	err = bcdb_open(&db, wpath(name));
	if (!err) {
		start = prog == P_HASH ? bcdb_hash_start(&db, key) : bcdb_btree_start(&db);
		err = prog == P_HASH ? bcdb_hash_lookup(&db, key, &rr) : bcdb_btree_lookup(&db, key, &rr);
		bcdb_close(&db);
	}
	/* a superblock the reader refuses on open: only the program's walk from it is checked */
	CHECK(err == reader_want, "%s: reader %d (%s), want %d (%s)", what, err, bcdb_errname(err),
	      reader_want, bcdb_errname(reader_want));
	env_file(wpath(name), bs);
	r = batch_req(0, prog, from == 1 ? 0 : start,
		      prog == P_HASH ? sizeof(struct bc_hash_scratch) : sizeof(struct bc_lookup_scratch));
	if (prog == P_HASH) {
		struct bc_hash_scratch *s = r[0].scratch;

		s->key = key;
		s->file_size = from ? 0 : env.size;
	} else {
		struct bc_lookup_scratch *s = r[0].scratch;

		s->key = key;
		s->file_size = from ? 0 : env.size;
	}
	hops = run_batch(r, 1);
	res = r[0].res;
	if (from == 2)
		want = kernel_want;
	CHECK(res == want, "%s: chain res %d (%s), want %d (%s)", what, res, res_name(res),
	      want, res_name(want));
	if (from == 0 && reader_want == want)
		CHECK(hops == rr.blocks, "%s: chain read %ld blocks, reader %u", what, hops, rr.blocks);
	(*cases)++;
}

static void corrupt_btree(long *cases)
{
	const uint64_t seed = 5, n = 300;
	uint64_t key = bc_key_of(seed, 17), path[BC_MAX_DEPTH];
	struct bc_build_info info;
	struct bcdb db;
	int d;
	static const struct {
		const char *what;
		int level;	/* on the path to key: 0 root, 1 below it, -1 the leaf */
		int field;	/* 0 magic, 1 level, 2 nkeys, 3 the entry leading down the path */
		uint64_t v;
		int want, kernel_want;	/* kernel_want: with scratch file_size 0 */
		uint32_t ns;
	} kinds[] = {
		{ "root magic", 0, 0, 0x12345678, -EBADMSG, -EBADMSG, 512 },
		{ "internal magic", 1, 0, 0, -EBADMSG, -EBADMSG, 512 },
		{ "leaf magic", -1, 0, 0xffffffff, -EBADMSG, -EBADMSG, 512 },
		{ "internal nkeys > capacity", 1, 2, 32, -EUCLEAN, -EUCLEAN, 512 },
		{ "leaf nkeys > capacity", -1, 2, 0xffff, -EUCLEAN, -EUCLEAN, 512 },
		{ "internal nkeys 0", 1, 2, 0, -EUCLEAN, -EUCLEAN, 512 },
		{ "internal node says leaf", 1, 1, 0, -EUCLEAN, -EUCLEAN, 512 },
		{ "leaf level too high", -1, 1, 30, -EUCLEAN, -EUCLEAN, 512 },
		{ "child misaligned", 1, 3, 512 * 3 + 8, -EFAULT, -EFAULT, 512 },
		{ "child 512-aligned, not node-aligned", 1, 3, 512, -EFAULT, -EFAULT, 1024 },
		{ "child is the superblock", 0, 3, 0, -EFAULT, -EFAULT, 512 },
		{ "child past EOF", 1, 3, 1 << 30, -ENXIO, -ERANGE, 512 },
		{ "child points back to the root", 2, 3, ~0ULL, -EUCLEAN, -EUCLEAN, 512 },
	};

	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		union { struct bc_btree_node n; char b[BC_BLOCK_MAX]; } nb;
		uint32_t ns = kinds[k].ns;
		unsigned int idx = 0;
		uint64_t off, v = kinds[k].v;
		int lvl;

		btree_file("c", n, ns, 3, seed, 0, &info);
		if (bcdb_open(&db, wpath("c")))
			die("bcdb_open", EINVAL);
		d = path_of(&db, key, path);
		CHECK(d == 6 && info.depth == 6, "corruption tree depth %d", d);
		lvl = kinds[k].level < 0 ? d - 1 : kinds[k].level;
		off = path[lvl];
		switch (kinds[k].field) {
		case 0: poke32("c", off, v); break;
		case 1: poke16("c", off + 4, v); break;
		case 2: poke16("c", off + 6, v); break;
		default:
			bcdb_read_block(&db, off, nb.b);
			while (idx < nb.n.nkeys && nb.n.e[idx].val != path[lvl + 1])
				idx++;
			poke64("c", off + 16 + 16 * idx + 8, v == ~0ULL ? path[0] : v);
		}
		bcdb_close(&db);
		for (int from = 0; from < 3; from++)
			corrupt_lookup("c", ns, P_LOOKUP, key, from, kinds[k].want, kinds[k].want,
				       kinds[k].kernel_want, cases, kinds[k].what);
	}

	/* a leaf cut in half by truncate, every node above it intact */
	btree_file("c", n, 512, 3, seed, 1, &info);
	if (bcdb_open(&db, wpath("c")))
		die("bcdb_open", EINVAL);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t top = 0;

		key = bc_key_of(seed, i);
		d = path_of(&db, key, path);
		for (int l = 0; l < d - 1; l++)
			top = path[l] > top ? path[l] : top;
		if (top < path[d - 1])
			break;
	}
	bcdb_close(&db);
	if (truncate(wpath("c"), path[d - 1] + 256))
		die("truncate", errno);
	/* from the superblock the program takes its stale file_size: the kernel's check */
	for (int from = 0; from < 3; from++)
		corrupt_lookup("c", 512, P_LOOKUP, key, from, -ENXIO, from ? -ERANGE : -ENXIO, -ERANGE,
			       cases, "truncated leaf");
	key = bc_key_of(seed, 17);

	/* the superblock, walked by the program (from = 1) */
	btree_file("c", n, 512, 3, seed, 0, &info);
	poke64("c", 0, 0x1122334455667788ULL);
	corrupt_lookup("c", 512, P_LOOKUP, key, 1, -EBADMSG, -EBADMSG, 0, cases, "superblock magic");
	btree_file("c", n, 512, 3, seed, 0, &info);
	poke32("c", 8, 2);
	corrupt_lookup("c", 512, P_LOOKUP, key, 1, -EPROTO, -EPROTO, 0, cases, "superblock version");
	btree_file("c", n, 512, 3, seed, 0, &info);
	poke32("c", 16, 99);
	corrupt_lookup("c", 512, P_LOOKUP, key, 1, -EUCLEAN, -EUCLEAN, 0, cases, "superblock depth");
	btree_file("c", n, 512, 3, seed, 0, &info);
	poke64("c", 32, 100);
	corrupt_lookup("c", 512, P_LOOKUP, key, 1, -EFAULT, -EFAULT, 0, cases,
		       "superblock root misaligned");
	/* caller errors: a block length that is not the node size */
	btree_file("c", n, 512, 3, seed, 0, &info);
	corrupt_lookup("c", 1024, P_LOOKUP, key, 1, 0, -EINVAL, 0, cases,
		       "block length not the node size");
}

/* Range scans over a corrupted leaf chain: reader and chain agree on the errno. */
static void corrupt_range(long *cases)
{
	const uint64_t seed = 5, n = 300;
	static const struct { const char *what; int want; } kinds[] = {
		{ "second leaf links back to the first", -ELOOP },
		{ "second leaf links to itself", -ELOOP },
		{ "keys out of order in the first leaf", -EUCLEAN },
		{ "next leaf misaligned", -EFAULT },
		{ "next leaf past EOF", -ENXIO },
	};
	struct bc_build_info info;
	uint64_t values[BC_RANGE_MAX];

	for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
		union { struct bc_btree_node n; char b[BC_BLOCK_MAX]; } nb;
		struct bc_range_scratch *s;
		uint64_t first, second;
		struct bcdb_range rr;
		struct bcdb db;
		struct req *r;
		int err;
		long hops;

		btree_file("c", n, 512, 3, seed, 0, &info);
		if (bcdb_open(&db, wpath("c")))
			die("bcdb_open", EINVAL);
		first = db.bt.first_leaf;
		bcdb_read_block(&db, first, nb.b);
		second = nb.n.next;
		switch (k) {
		case 0: poke64("c", second + 8, first); break;
		case 1: poke64("c", second + 8, second); break;
		case 2: poke64("c", first + 16 + 16, 0); break;
		case 3: poke64("c", first + 8, second + 1); break;
		default: poke64("c", first + 8, 1ULL << 30); break;
		}
		err = bcdb_btree_range(&db, 0, UINT64_MAX, values, 56, &rr);
		CHECK(err == kinds[k].want, "%s: reader %d (%s)", kinds[k].what, err, bcdb_errname(err));
		env_file(wpath("c"), 512);
		r = batch_req(0, P_RANGE, bcdb_btree_start(&db), sizeof(*s));
		s = r[0].scratch;
		s->lo = 0;
		s->hi = UINT64_MAX;
		s->max = 56;
		s->file_size = db.file_size;
		hops = run_batch(r, 1);
		CHECK(r[0].res == kinds[k].want, "%s: chain res %d (%s)", kinds[k].what, r[0].res,
		      res_name(r[0].res));
		CHECK(hops == rr.blocks, "%s: chain read %ld blocks, reader %u", kinds[k].what, hops,
		      rr.blocks);
		bcdb_close(&db);
		(*cases)++;
	}
}

static void corrupt_hash(long *cases)
{
	const uint64_t seed = 9, n = 3000;
	static const char *const what[] = {
		"bucket block magic", "chain block magic", "chain nentries > capacity",
		"chain block of another bucket", "head misaligned", "head past EOF",
		"chain links to itself", "bucket count > capacity", "bucket block of other buckets",
		"head names a bucket block",
	};
	struct bc_build_info info;
	uint64_t key = 0, b, bb_off, slot_off, head;
	struct chain_key ck;
	struct bcdb db;

	for (int kind = 0; kind < 10; kind++) {
		int want, kernel_want;

		hash_file("h", n, 512, 10, 100, seed, 0, &info);
		if (bcdb_open(&db, wpath("h")))
			die("bcdb_open", EINVAL);
		if (chain_key_of(&db, seed, n, &ck))
			die("pread", EIO);
		key = ck.key, b = ck.bucket, bb_off = ck.bucket_block, slot_off = ck.slot;
		head = ck.head;
		bcdb_close(&db);
		kernel_want = 0;
		switch (kind) {
		case 0: poke32("h", bb_off, 0); want = -EBADMSG; break;
		case 1: poke32("h", head, 0xdead); want = -EBADMSG; break;
		case 2: poke32("h", head + 4, 31); want = -EUCLEAN; break;
		case 3: poke64("h", head + 8, b + 1); want = -EUCLEAN; break;
		case 4: poke64("h", slot_off, head + 100); want = -EFAULT; break;
		case 5: poke64("h", slot_off, 1ULL << 40); want = -ENXIO; kernel_want = -ERANGE; break;
		case 6: poke64("h", head + 16, head); want = -ELOOP; break;
		case 7: poke32("h", bb_off + 4, 1000); want = -EUCLEAN; break;
		case 8: poke64("h", bb_off + 8, 1ULL << 50); want = -EINVAL; break;
		default: poke64("h", slot_off, bb_off); want = -EBADMSG; break;
		}
		corrupt_lookup("h", 512, P_HASH, key, 0, want, want, 0, cases, what[kind]);
		if (kernel_want)
			corrupt_lookup("h", 512, P_HASH, key, 2, want, want, kernel_want, cases,
				       what[kind]);
	}
}

static void corrupt_all(long *cases)
{
	corrupt_btree(cases);
	corrupt_range(cases);
	corrupt_hash(cases);
}

/* ------------------------------------------------------------ tests */

static int finish(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("; %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

/*
 * Load each object twice: io_uring_ext_bpf_chain_load (bpf_program__set_type),
 * then plain libbpf with the io_chain section handler.
 */
static int t_load(void)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, hopts);
	struct loaded l;
	int id, err;

	require_io_chain();
	for (int i = 0; i < NR_PROGS; i++) {
		err = load_prog(prog_names[i], &l);
		CHECK(err == 0, "%s: load with io_uring_ext_bpf_chain_load: %s", prog_names[i],
		      strerror(-err));
		if (err)
			continue;
		printf("%s: loaded, %u instructions, verifier processed %u\n", prog_names[i],
		       l.insns, l.verified);
		CHECK(l.verified > 0, "%s: bpf_prog_info.verified_insns is 0", prog_names[i]);
		io_uring_ext_bpf_chain_close(l.obj);
	}
	id = libbpf_register_prog_handler("io_chain", BPF_PROG_TYPE_IO_CHAIN, 0, &hopts);
	CHECK(id > 0, "libbpf_register_prog_handler: %d", id);
	for (int i = 0; id > 0 && i < NR_PROGS; i++) {
		err = load_prog_by_handler(prog_names[i], &l);
		CHECK(err == 0, "%s: load through the io_chain section handler: %s", prog_names[i],
		      strerror(-err));
		if (!err)
			io_uring_ext_bpf_chain_close(l.obj);
	}
	if (id > 0)
		libbpf_unregister_prog_handler(id);
	return finish("load", "%d programs, two ways", NR_PROGS);
}

/* The B+-trees of the tests: node sizes 512 and 4096, depth 1 to 6. */
static const struct tree {
	uint64_t n;
	uint32_t ns, f, depth;
	int scatter;
} trees[] = {
	{ 200, 4096, 255, 1, 0 }, { 60000, 4096, 255, 2, 1 }, { 100000, 4096, 64, 3, 0 },
	{ 100000, 512, 24, 4, 1 }, { 100000, 512, 12, 5, 0 }, { 100000, 512, 8, 6, 1 },
};
/* the test-run test adds these */
static const struct tree small_trees[] = {
	{ 1, 512, 0, 1, 0 }, { 31, 512, 0, 1, 0 }, { 5000, 512, 2, 13, 1 }, { 30000, 4096, 0, 2, 0 },
};

static void lookups_on(const struct tree *t, uint64_t seed, size_t nkeys, int nranges,
		       struct stats *st, struct range_stats *rs)
{
	struct bc_build_info info;
	uint64_t *keys;
	struct bcdb db;
	char what[96];
	int err;

	snprintf(what, sizeof(what), "%s n=%llu node=%u fanout=%u", env.name,
		 (unsigned long long)t->n, t->ns, t->f);
	btree_file("t", t->n, t->ns, t->f, seed, t->scatter, &info);
	CHECK(info.depth == t->depth, "%s: depth %u, want %u", what, info.depth, t->depth);
	err = bcdb_open(&db, wpath("t"));
	if (err)
		die("bcdb_open", err);
	env_file(wpath("t"), t->ns);
	keys = make_keys(seed, t->n, nkeys);
	/* the first 200 one at a time (the counter checks each), the rest in flight together */
	check_lookups(&db, keys, nkeys < 200 ? nkeys : 200, 1, st, what);
	if (nkeys > 200)
		check_lookups(&db, keys + 200, nkeys - 200, BATCH, st, what);
	if (nranges)
		check_ranges(&db, seed, t->n, nranges, rs, what);
	free(keys);
	bcdb_close(&db);
}

static const struct htab {
	uint64_t n;
	uint32_t bs, f;
	uint64_t nb;
	int scatter;
} htabs[] = {
	{ 10000, 512, 0, 0, 0 }, { 10000, 512, 4, 300, 1 }, { 100000, 4096, 0, 0, 0 },
	{ 20000, 4096, 20, 100, 1 }, { 3000, 512, 0, 1, 0 },
};

static void hash_on(const struct htab *h, uint64_t seed, size_t nkeys, struct stats *st,
		    uint32_t *max_chain)
{
	struct bc_build_info info;
	uint64_t *keys;
	struct bcdb db;
	char what[96];
	int err;

	snprintf(what, sizeof(what), "%s hash n=%llu block=%u fanout=%u buckets=%llu", env.name,
		 (unsigned long long)h->n, h->bs, h->f, (unsigned long long)h->nb);
	hash_file("h", h->n, h->bs, h->f, h->nb, seed, h->scatter, &info);
	if (info.max_chain > *max_chain)
		*max_chain = info.max_chain;
	err = bcdb_open(&db, wpath("h"));
	if (err)
		die("bcdb_open", err);
	env_file(wpath("h"), h->bs);
	if (h->nb == 1)
		nkeys /= 5;	/* chains of up to 100 blocks: fewer lookups */
	keys = make_keys(seed, h->n, nkeys);
	check_hash(&db, keys, nkeys < 100 ? nkeys : 100, 1, st, what);
	if (nkeys > 100)
		check_hash(&db, keys + 100, nkeys - 100, BATCH, st, what);
	free(keys);
	bcdb_close(&db);
}

static int t_test_run(void)
{
	struct stats bt = { 0 }, hs = { 0 };
	struct range_stats rs = { 0 };
	uint32_t max_chain = 0;
	long cases = 0;

	load_all();
	env_init(BE_TEST_RUN, "test-run");
	make_workdir("/tmp");
	for (size_t i = 0; i < ARRAY_LEN(trees) && failures <= 40; i++)
		lookups_on(&trees[i], 100 + i, 2000, 40, &bt, &rs);
	for (size_t i = 0; i < ARRAY_LEN(small_trees) && failures <= 40; i++)
		lookups_on(&small_trees[i], 200 + i, 1000, 20, &bt, &rs);
	for (size_t i = 0; i < ARRAY_LEN(htabs) && failures <= 40; i++)
		hash_on(&htabs[i], 300 + i, 2000, &hs, &max_chain);
	CHECK(max_chain >= 3, "no hash table had a chain of 3 blocks (longest %u)", max_chain);
	corrupt_all(&cases);
	remove_workdir();
	return finish("test-run", "btree lookups %ld present %ld absent, %ld ranges in %ld calls "
		      "(%ld values, %ld resumed), hash lookups %ld present %ld absent, "
		      "%ld corruption cases, %ld BPF_PROG_TEST_RUN calls",
		      bt.present, bt.absent, rs.ranges, rs.calls, rs.values, rs.resumed,
		      hs.present, hs.absent, cases, env.hops);
}

static void chain_init(const char *dir, const char *mode, const char *name)
{
	static char label[PATH_MAX + 32];

	if (!strcmp(mode, "direct"))
		use_direct = 1;
	else if (strcmp(mode, "buffered"))
		die("mode must be direct or buffered", EINVAL);
	snprintf(label, sizeof(label), "%s %s %s", name, dir, mode);
	load_all();
	make_workdir(dir);
	env_init(BE_URING, label);
}

static int chain_finish(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	remove_workdir();
	return finish(env.name, "%s; %ld chains, %ld blocks read by the kernel (BpfChainHopsGeneric)",
		      buf, env.chains, env.hops);
}

static int t_chain_btree(const char *dir, const char *mode)
{
	struct stats st = { 0 };
	struct range_stats rs = { 0 };

	chain_init(dir, mode, "chain-btree");
	for (size_t i = 0; i < ARRAY_LEN(trees) && failures <= 40; i++)
		lookups_on(&trees[i], 400 + i, 3000, 0, &st, &rs);
	return chain_finish("depth 1-6, lookups %ld present %ld absent %ld errors",
			    st.present, st.absent, st.errors);
}

static int t_chain_range(const char *dir, const char *mode)
{
	struct stats st = { 0 };
	struct range_stats rs = { 0 };

	chain_init(dir, mode, "chain-range");
	for (size_t i = 0; i < ARRAY_LEN(trees) && failures <= 40; i++)
		lookups_on(&trees[i], 500 + i, 0, 60, &st, &rs);
	for (size_t i = 0; i < ARRAY_LEN(small_trees) && failures <= 40; i++)
		lookups_on(&small_trees[i], 600 + i, 0, 20, &st, &rs);
	return chain_finish("%ld ranges in %ld chains (%ld values, %ld resumed)",
			    rs.ranges, rs.calls, rs.values, rs.resumed);
}

static int t_chain_hash(const char *dir, const char *mode)
{
	struct stats st = { 0 };
	uint32_t max_chain = 0;

	chain_init(dir, mode, "chain-hash");
	for (size_t i = 0; i < ARRAY_LEN(htabs) && failures <= 40; i++)
		hash_on(&htabs[i], 700 + i, 3000, &st, &max_chain);
	CHECK(max_chain >= 3, "no hash table had a chain of 3 blocks (longest %u)", max_chain);
	return chain_finish("lookups %ld present %ld absent, longest chain %u blocks",
			    st.present, st.absent, max_chain);
}

static int t_chain_corrupt(const char *dir, const char *mode)
{
	long cases = 0;

	chain_init(dir, mode, "chain-corrupt");
	corrupt_all(&cases);
	return chain_finish("%ld corruption cases", cases);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	find_objdir();
	if (argc == 2 && !strcmp(argv[1], "load"))
		return t_load();
	if (argc == 2 && !strcmp(argv[1], "test-run"))
		return t_test_run();
	if (argc == 4 && !strcmp(argv[1], "chain-btree"))
		return t_chain_btree(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "chain-range"))
		return t_chain_range(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "chain-hash"))
		return t_chain_hash(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "chain-corrupt"))
		return t_chain_corrupt(argv[2], argv[3]);
	fprintf(stderr, "usage: progs-guest-test load | test-run |\n"
		"       progs-guest-test chain-btree|chain-range|chain-hash|chain-corrupt DIR direct|buffered\n");
	return 2;
}
