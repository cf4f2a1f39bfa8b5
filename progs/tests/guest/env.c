// SPDX-License-Identifier: MIT
/*
 * The two ways to run a chain (BPF_PROG_TEST_RUN, IORING_OP_BPF_CHAIN), the
 * ring, the file the chains read, and the exits every sub-command shares.
 *
 * Through io_uring, every batch runs twice: in the driver tier (no flag:
 * the kernel takes it where it can, on NVMe) and in the generic tier
 * (IORING_BPF_CHAIN_GENERIC), and the ring's counters prove which tier
 * read the blocks.  The two runs must give the same results.
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
#include <sys/sysmacros.h>

#include "guest.h"

int failures, checks;
struct env env;
int use_direct;

void skip(const char *fmt, const char *arg)
{
	printf("SKIP: ");
	printf(fmt, arg);
	putchar('\n');
	exit(SKIP_RC);
}

void die(const char *what, int err)
{
	fprintf(stderr, "FAIL: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static uint64_t rng_state = 0x243f6a8885a308d3ULL;

uint64_t rnd(void)
{
	/* xorshift64*: deterministic, so a failure can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

int finish(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("; %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

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
 * One run of the batch through io_uring in one tier: one SQE per chain,
 * all in flight at once, prepared by liburing-ext.  The counters must show
 * n more chains, one error per negative result, and the hops in the tier
 * that was asked for: with IORING_BPF_CHAIN_GENERIC all in the generic
 * tier; without it, all in the driver tier on NVMe (the test's files have
 * no holes, and their block maps stay valid while chains run) and none
 * anywhere else.  Returns the hops (both tiers' counters).
 */
static long run_tier(struct req *r, int n, int generic)
{
	struct tier_totals *tt = generic ? &env.generic : &env.driver;
	const char *tier = generic ? "generic tier" : "driver tier";
	struct io_uring_ext_bpf_chain_stats st0, st1;
	long hops, drv, gen, chains, errors, want_errors = 0;
	struct io_uring_cqe *cqe;
	int seen[BATCH] = { 0 }, ret;

	st0 = ring_stats();
	for (int i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&env.ring);

		if (!sqe)
			die("io_uring_get_sqe", EBUSY);
		/* file slot 0, program slot r[i].prog */
		io_uring_ext_prep_bpf_chain(sqe, 0, r[i].buf, env.bs, r[i].off, r[i].prog);
		io_uring_ext_sqe_set_scratch(sqe, r[i].scratch, r[i].scratch_len);
		io_uring_ext_sqe_set_chain_flags(sqe, generic ? IORING_BPF_CHAIN_GENERIC : 0);
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
	drv = st1.hops_driver - st0.hops_driver;
	gen = st1.hops_generic - st0.hops_generic;
	hops = drv + gen;
	chains = st1.chains - st0.chains;
	errors = chain_errors(&st1) - chain_errors(&st0);
	CHECK(chains == n, "%s: BpfChainChains grew by %ld for %d chains", tier, chains, n);
	CHECK(errors == want_errors, "%s: BpfChainErrors grew by %ld for %ld failed chains", tier,
	      errors, want_errors);
	if (generic)
		CHECK(drv == 0, "generic tier: BpfChainHopsDriver grew by %ld", drv);
	else if (env.nvme)
		CHECK(drv == hops, "driver tier on NVMe: %ld of %ld hops in the driver; handoffs "
		      "hole %llu boundary %llu stale %llu", drv, hops,
		      (unsigned long long)(st1.handoff_hole - st0.handoff_hole),
		      (unsigned long long)(st1.handoff_boundary - st0.handoff_boundary),
		      (unsigned long long)(st1.handoff_stale - st0.handoff_stale));
	else
		CHECK(drv == 0, "driver tier off NVMe: BpfChainHopsDriver grew by %ld", drv);
	if (n == 1)
		r[0].hops = hops;
	tt->chains += n;
	tt->hops += hops;
	tt->hops_driver += drv;
	tt->hops_generic += gen;
	return hops;
}

/*
 * Run n chains.  BPF_PROG_TEST_RUN: one after the other, each with its hop
 * count.  io_uring: the batch in the driver tier, then again from the same
 * scratch input in the generic tier (run_tier); both must give the same
 * results, scratch, last block and hops.  Only the batch's hops are known
 * (r[i].hops = -1) unless n = 1.  Returns the hops of one run.
 */
long run_batch(struct req *r, int n)
{
	static unsigned char in[BATCH][BPF_IO_CHAIN_SCRATCH_SIZE], out[BATCH][BPF_IO_CHAIN_SCRATCH_SIZE];
	static unsigned char blk[BATCH][BC_BLOCK_MAX];
	int res[BATCH];
	long hops = 0, ghops;

	if (env.be == BE_TEST_RUN) {
		for (int i = 0; i < n; i++) {
			r[i].res = test_run_chain(&r[i]);
			hops += r[i].hops;
		}
		env.chains += n;
		env.hops += hops;
		return hops;
	}

	for (int i = 0; i < n; i++)
		memcpy(in[i], r[i].scratch, r[i].scratch_len);
	hops = run_tier(r, n, 0);
	for (int i = 0; i < n; i++) {
		res[i] = r[i].res;
		memcpy(out[i], r[i].scratch, r[i].scratch_len);
		memcpy(blk[i], r[i].buf, env.bs);
		memcpy(r[i].scratch, in[i], r[i].scratch_len);
		memset(r[i].buf, 0xee, env.bs);
	}
	ghops = run_tier(r, n, 1);
	CHECK(ghops == hops, "%s: %ld hops in the driver tier, %ld in the generic tier", env.name,
	      hops, ghops);
	for (int i = 0; i < n; i++)
		CHECK(r[i].res == res[i] && !memcmp(r[i].scratch, out[i], r[i].scratch_len) &&
		      (res[i] < 0 || !memcmp(r[i].buf, blk[i], env.bs)),
		      "%s: chain %d from %llu: the tiers differ: res %d and %d%s%s", env.name, i,
		      (unsigned long long)r[i].off, res[i], r[i].res,
		      memcmp(r[i].scratch, out[i], r[i].scratch_len) ? ", scratch" : "",
		      memcmp(r[i].buf, blk[i], env.bs) ? ", last block" : "");
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

void env_init(enum backend be, const char *name)
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

/*
 * Whether the file open on fd lives on an NVMe namespace (whole or a
 * partition): its device's sysfs path goes through an nvme device.
 */
static int on_nvme(int fd)
{
	char link[64], path[PATH_MAX];
	struct stat st;
	dev_t dev;

	if (fstat(fd, &st))
		die("fstat", errno);
	dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(dev), minor(dev));
	if (!realpath(link, path))
		return 0;
	return strstr(path, "/nvme") != NULL;	/* nvme/nvme0/nvme0n1, nvme-subsystem/... */
}

void env_file(const char *path, uint32_t bs)
{
	int direct = use_direct;
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
	ret = bcdb_file_size(env.fd, &env.size);
	if (ret)
		die(path, ret);
	env.nvme = on_nvme(env.fd);
	env.bs = bs;
	if (env.be == BE_URING) {
		ret = io_uring_register_files(&env.ring, &env.fd, 1);
		if (ret)
			die("io_uring_register_files", ret);
	}
}

struct req *batch_req(int i, int prog, uint64_t off, uint32_t slen)
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
