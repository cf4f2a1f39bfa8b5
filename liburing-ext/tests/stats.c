/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_ext_bpf_chain_stats(): every counter moves when
 * the kernel says it should (program table size, chains, generic hops,
 * program errors, hop limit, bad next offset; on NVMe (/mnt/nvme) the
 * driver tier's hops, block maps built and invalidated, a hole handed to
 * the generic tier, an IOPOLL ring's hops given to io-wq, and a chain that
 * goes on in io-wq after 32 hops without blocking), and the
 * refusals: NULL arguments (-EINVAL), a closed fd (-EBADF), an fd without
 * the counters (-ENOTSUP).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NBLOCKS	16
#define BS	4096

static struct io_uring_ext_bpf_chain_stats get(struct io_uring *ring)
{
	struct io_uring_ext_bpf_chain_stats st;
	int ret;

	memset(&st, 0xff, sizeof(st));
	ret = io_uring_ext_bpf_chain_stats(ring, &st);
	if (ret)
		t_fail("io_uring_ext_bpf_chain_stats: %s", strerror(-ret));
	return st;
}

/* A one-block file whose block links to a misaligned offset. */
static int misaligned_file(void)
{
	char path[] = "/tmp/liburing-ext-stats.XXXXXX";
	__u64 blk[BS / 8] = { 8 * BS + 8, 0 };
	int fd = mkstemp(path);

	if (fd < 0 || pwrite(fd, blk, BS, 0) != BS || ftruncate(fd, 16 * BS))
		t_fail("writing %s", path);
	unlink(path);
	return fd;
}

/* One chain of the list from off, IORING_BPF_CHAIN_* flags: the CQE's res. */
static int chain_flags(struct io_uring *ring, void *buf, __u64 off, unsigned flags)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_ext_prep_bpf_chain(sqe, 0, buf, BS, off, 0);
	io_uring_ext_sqe_set_chain_flags(sqe, flags);
	return t_submit_wait(ring);
}

/* Polls the IOPOLL ring for one CQE: its res. */
static void *reap(void *arg)
{
	struct io_uring *ring = arg;
	struct io_uring_cqe *cqe;
	long res;

	res = io_uring_wait_cqe(ring, &cqe);
	if (!res) {
		res = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return (void *)res;
}

/* The kernel's own BpfChainPollWaits line of @ring's fdinfo, -1 if none. */
static long long fdinfo_poll_waits(struct io_uring *ring)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ring->ring_fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "BpfChainPollWaits: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * Generic-tier chains on an IOPOLL ring, each submitted by this thread and
 * reaped by another: the poll loop runs in the reaper, which is not the
 * chain's submitter, so a hop it polls goes to io-wq, to be read as the
 * submitter (poll_waits), at most NBLOCKS - 1 per chain (the first hop is
 * read at submission).  Whether any hop of a chain is polled at all is
 * the kernel's choice: a hop that io-wq reads synchronously (one the
 * submission could not start without waiting, on a busy machine) never
 * reaches the poll loop.  So chains are run until the kernel's fdinfo
 * counts a hand-off (at most 20; each alone on an idle guest did), then
 * the library must read the kernel's number.
 */
static void poll_waits(int fd, int walker, __u64 head, void *buf)
{
	struct io_uring_ext_bpf_chain_stats s0, s;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	long long raw = 0;
	pthread_t t;
	void *res;
	int i;

	t_ring(&ring, 8, IORING_SETUP_IOPOLL);
	if (io_uring_register_files(&ring, &fd, 1))
		t_fail("io_uring_register_files (IOPOLL)");
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, &walker, 1, 64), "register (IOPOLL)");
	s0 = get(&ring);
	T_EQ(0, s0.poll_waits, "poll_waits of a new ring");
	for (i = 0; i < 20 && raw < 1; i++) {
		sqe = io_uring_get_sqe(&ring);
		io_uring_ext_prep_bpf_chain(sqe, 0, buf, BS, head, 0);
		io_uring_ext_sqe_set_chain_flags(sqe, IORING_BPF_CHAIN_GENERIC);
		T_EQ(1, io_uring_submit(&ring), "submit (IOPOLL)");
		if (pthread_create(&t, NULL, reap, &ring) || pthread_join(t, &res))
			t_fail("the reaping thread");
		T_EQ(NBLOCKS, (long)res, "a chain reaped by another thread");
		raw = fdinfo_poll_waits(&ring);
	}
	s = get(&ring);
	T_EQ(s0.hops_generic + i * NBLOCKS, s.hops_generic, "IOPOLL: hops_generic");
	if (raw < 1) {
		printf("%d chains reaped by another thread, none polled a hop (fdinfo %lld): "
		       "poll_waits not checked\n", i, raw);
	} else {
		T_EQ(raw, s.poll_waits, "poll_waits, as the kernel's fdinfo says");
		T_EQ(1, s.poll_waits <= (__u64)i * (NBLOCKS - 1), "at most one per polled hop");
		printf("IOPOLL ring reaped by another thread: %d chains, %llu hops, %llu given to io-wq\n",
		       i, (unsigned long long)(s.hops_generic - s0.hops_generic),
		       (unsigned long long)s.poll_waits);
	}
	io_uring_queue_exit(&ring);
}

/*
 * A ring with the walker (hop limit 64) and one registered file: a list of
 * NBLOCKS blocks on /mnt/nvme, read with O_DIRECT.  Returns the list's fd;
 * *wfd is the same file opened for writing, *buf a block-sized buffer.
 */
static int nvme_list_ring(struct io_uring *ring, int walker, __u64 *head, int *wfd,
			  void **buf)
{
	char self[64];
	int fd;

	t_ring(ring, 8, 0);
	fd = t_list_file("/mnt/nvme", BS, NBLOCKS, 1, head);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	*wfd = open(self, O_WRONLY);
	if (*wfd < 0 || posix_memalign(buf, 4096, BS))
		t_fail("reopening the list file for writing");
	if (io_uring_register_files(ring, &fd, 1))
		t_fail("io_uring_register_files");
	T_EQ(0, io_uring_ext_register_bpf_chain(ring, &walker, 1, 64), "register");
	return fd;
}

/*
 * A chain reads at most 32 hops in a row without blocking, then io-wq
 * reads its next hop (inline_limits).  On /mnt/nvme, since tmpfs cannot
 * be read without blocking (io-wq reads every hop of a /tmp chain): a
 * list whose last block links back to its head, in the generic tier, to
 * the hop limit of 64.  Its direct reads complete through task_work, so
 * 32 hops are read from there and io-wq reads the other 32, one limit.
 */
static void inline_limit(int walker)
{
	struct io_uring_ext_bpf_chain_stats s0, s;
	__u64 head, last = t_list_offset(BS, NBLOCKS, NBLOCKS - 1);
	struct io_uring ring;
	int fd, wfd;
	void *buf;

	if (access("/mnt/nvme", W_OK)) {
		printf("/mnt/nvme not there: inline_limits not checked\n");
		return;
	}
	fd = nvme_list_ring(&ring, walker, &head, &wfd, &buf);
	if (pwrite(wfd, &head, 8, last) != 8 || fsync(wfd))
		t_fail("linking the list's last block to its head");
	s0 = get(&ring);
	T_EQ(-ELOOP, chain_flags(&ring, buf, head, IORING_BPF_CHAIN_GENERIC), "a cycle");
	s = get(&ring);
	T_EQ(s0.hops_generic + 64, s.hops_generic, "64 hops");
	T_EQ(s0.inline_limits + 1, s.inline_limits, "inline_limits: 32 hops, then io-wq");
	printf("a 64-hop chain: %llu hops, inline limit reached %llu time(s)\n",
	       (unsigned long long)(s.hops_generic - s0.hops_generic),
	       (unsigned long long)(s.inline_limits - s0.inline_limits));
	io_uring_queue_exit(&ring);
	close(wfd);
	close(fd);
	free(buf);
}

/*
 * On NVMe: the driver tier's hops, the file's block map built once, the
 * forced generic tier counted apart, then a hole punched in the list's last
 * block: the map is invalidated and rebuilt, and the driver tier hands the
 * hole to the generic tier (the zero block links to block 0, back into the
 * list, until the hop limit).
 */
static void driver_tier(int walker)
{
	struct io_uring_ext_bpf_chain_stats s0, s;
	struct io_uring ring;
	__u64 head, last = t_list_offset(BS, NBLOCKS, NBLOCKS - 1);
	int fd, wfd;
	void *buf;

	if (access("/mnt/nvme", W_OK)) {
		printf("/mnt/nvme not there: driver tier counters not checked\n");
		return;
	}
	fd = nvme_list_ring(&ring, walker, &head, &wfd, &buf);

	s0 = get(&ring);
	T_EQ(NBLOCKS, chain_flags(&ring, buf, head, 0), "driver tier chain");
	s = get(&ring);
	T_EQ(s0.hops_driver + NBLOCKS, s.hops_driver, "hops_driver");
	T_EQ(s0.hops_generic, s.hops_generic, "hops_generic unchanged");
	T_EQ(s0.maps_built + 1, s.maps_built, "maps_built");

	s0 = s;
	T_EQ(NBLOCKS, chain_flags(&ring, buf, head, IORING_BPF_CHAIN_GENERIC), "generic chain");
	s = get(&ring);
	T_EQ(s0.hops_generic + NBLOCKS, s.hops_generic, "forced generic: hops_generic");
	T_EQ(s0.hops_driver, s.hops_driver, "forced generic: hops_driver unchanged");
	T_EQ(s0.maps_built, s.maps_built, "the map is kept");

	poll_waits(fd, walker, head, buf);

	s0 = s;
	if (fallocate(wfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, last, BS))
		t_fail("punching a hole: %s", strerror(errno));
	T_EQ(-ELOOP, chain_flags(&ring, buf, head, 0), "a chain through the hole");
	s = get(&ring);
	T_EQ(s0.maps_invalidated + 1, s.maps_invalidated, "maps_invalidated after the punch");
	T_EQ(s0.maps_built + 1, s.maps_built, "the map rebuilt");
	T_EQ(1, s.handoff_hole > s0.handoff_hole, "handoff_hole");
	T_EQ(s0.hops_driver + s0.hops_generic + 64, s.hops_driver + s.hops_generic,
	     "64 hops in the two tiers");
	T_EQ(1, s.hops_driver > s0.hops_driver && s.hops_generic > s0.hops_generic,
	     "hops in both tiers");
	T_EQ(s0.err_loop + 1, s.err_loop, "err_loop");
	printf("driver tier: hops %llu driver %llu generic, maps built %llu invalidated %llu, "
	       "handoffs hole %llu boundary %llu stale %llu\n",
	       (unsigned long long)s.hops_driver, (unsigned long long)s.hops_generic,
	       (unsigned long long)s.maps_built, (unsigned long long)s.maps_invalidated,
	       (unsigned long long)s.handoff_hole, (unsigned long long)s.handoff_boundary,
	       (unsigned long long)s.handoff_stale);
	io_uring_queue_exit(&ring);
	close(wfd);
	close(fd);
	free(buf);
}

int main(int argc, char *argv[])
{
	struct io_uring_ext_bpf_chain_stats s0, s;
	struct io_uring ring, bad;
	struct bpf_object *obj;
	int walker, progs[3], files[2], pipefd[2];
	__u64 head;
	void *buf;

	if (argc > 1)
		return T_EXIT_SKIP;
	t_ring(&ring, 8, 0);
	walker = t_load("chain_progs.bpf.o", "walker", &obj);
	files[0] = t_list_file("/tmp", BS, NBLOCKS, 0, &head);
	files[1] = misaligned_file();
	if (io_uring_register_files(&ring, files, 2))
		t_fail("io_uring_register_files");
	if (posix_memalign(&buf, 4096, BS))
		t_fail("posix_memalign");

	s0 = get(&ring);
	T_EQ(0, s0.progs, "progs, no table");
	T_EQ(0, s0.chains, "chains");
	T_EQ(0, s0.hops_generic, "hops");
	T_EQ(0, s0.err_read + s0.err_prog + s0.err_loop + s0.err_offset, "errors");
	T_EQ(0, s0.hops_driver + s0.handoff_hole + s0.handoff_boundary + s0.handoff_stale,
	     "driver tier counters");
	T_EQ(0, s0.maps_built + s0.maps_invalidated, "maps");
	T_EQ(0, s0.poll_waits, "poll_waits");
	T_EQ(0, s0.inline_limits, "inline_limits");
	T_EQ(128, sizeof(s0), "the structure's size");
	T_EQ(0, s0.resv[0], "resv");

	progs[0] = walker;
	progs[1] = t_prog_fd(obj, "fail_euclean");
	progs[2] = -1;
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, progs, 3, NBLOCKS - 1), "register");
	T_EQ(3, get(&ring).progs, "progs");

	/* NBLOCKS - 2 hops, under the limit */
	T_EQ(NBLOCKS - 2, t_chain(&ring, buf, BS, t_list_offset(BS, NBLOCKS, 2), 0, NULL, 0),
	     "chain");
	s = get(&ring);
	T_EQ(s0.chains + 1, s.chains, "chains after a chain");
	T_EQ(s0.hops_generic + NBLOCKS - 2, s.hops_generic, "hops after a chain");
	T_EQ(0, s.err_read + s.err_prog + s.err_loop + s.err_offset, "no errors");
	/* tmpfs: no block device, no map, the generic tier only */
	T_EQ(0, s.hops_driver + s.maps_built, "tmpfs: driver hops and maps");

	s0 = s;
	T_EQ(-EUCLEAN, t_chain(&ring, buf, BS, head, 1, NULL, 0), "program error");
	s = get(&ring);
	T_EQ(s0.err_prog + 1, s.err_prog, "err_prog");
	T_EQ(s0.hops_generic + 1, s.hops_generic, "one hop");
	T_EQ(s0.chains + 1, s.chains, "chains after an error");

	s0 = s;
	T_EQ(-ELOOP, t_chain(&ring, buf, BS, head, 0, NULL, 0), "hop limit");
	s = get(&ring);
	T_EQ(s0.err_loop + 1, s.err_loop, "err_loop");
	T_EQ(s0.hops_generic + NBLOCKS - 1, s.hops_generic, "hops up to the limit");

	s0 = s;
	{
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_ext_prep_bpf_chain(sqe, 1, buf, BS, 0, 0);
		T_EQ(-EINVAL, t_submit_wait(&ring), "misaligned next offset");
	}
	s = get(&ring);
	T_EQ(s0.err_offset + 1, s.err_offset, "err_offset");
	T_EQ(s0.err_read, s.err_read, "err_read unchanged");

	/* a prep-time refusal is no chain */
	s0 = s;
	T_EQ(-ENOENT, t_chain(&ring, buf, BS, head, 2, NULL, 0), "empty slot");
	T_EQ(s0.chains, get(&ring).chains, "refused at prep: not counted");

	T_EQ(0, io_uring_ext_unregister_bpf_chain(&ring), "unregister");
	T_EQ(0, get(&ring).progs, "progs after unregister");

	/* refusals */
	T_EQ(-EINVAL, io_uring_ext_bpf_chain_stats(&ring, NULL), "NULL stats");
	T_EQ(-EINVAL, io_uring_ext_bpf_chain_stats(NULL, &s), "NULL ring");
	bad = ring;
	bad.ring_fd = t_closed_fd();
	T_EQ(-EBADF, io_uring_ext_bpf_chain_stats(&bad, &s), "closed ring fd");
	if (pipe(pipefd))
		t_fail("pipe");
	bad.ring_fd = pipefd[0];
	memset(&s, 0x5a, sizeof(s));
	T_EQ(-ENOTSUP, io_uring_ext_bpf_chain_stats(&bad, &s), "a pipe");
	T_EQ(0x5a5a5a5a5a5a5a5aULL, s.chains, "untouched on error");
	close(pipefd[0]);
	close(pipefd[1]);

	io_uring_queue_exit(&ring);
	driver_tier(walker);
	inline_limit(walker);
	io_uring_ext_bpf_chain_close(obj);
	close(files[0]);
	close(files[1]);
	free(buf);
	return t_exit();
}
