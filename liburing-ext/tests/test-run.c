/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_ext_bpf_chain_test_run() answers what a ring's
 * chain answers on the same file and program: on /tmp and, where they are
 * there, NVMe ext4 and xfs and virtio-blk (t_places), the result, the blocks read
 * (the ring's hop counters), the last block and the scratch area; the
 * hop limit (a ring registered with the same one), the program's errno,
 * and each of the kernel's refusals (misaligned buffer, length and
 * offsets, lengths too large, a block past the end, no scratch); a block
 * device's size.  The call's own errors: NULL res, max_hops too large, a
 * closed program fd, a file that is no program, a socket filter.
 *
 * With --host, only what needs no IO_CHAIN program (the host's kernel has
 * none): the refusals before the first block runs, and a closed program
 * fd after it was read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#include "helpers.h"

#define NBLOCKS	32
#define LOOP	10	/* a small hop limit */

/* io_uring_ext_bpf_chain_test_run(): its return value; res and hops filled */
static int test_run(int fd, void *buf, unsigned len, __u64 off, int prog, void *sc,
		    unsigned slen, unsigned max_hops, int *res, unsigned *hops)
{
	*res = -100000;
	*hops = 12345;
	return io_uring_ext_bpf_chain_test_run(fd, buf, len, off, prog, sc, slen, max_hops,
					       res, hops);
}

/* A chain's error before any program ran: 0 returned, *res err, no hop. */
static void refused(const char *what, int want, int fd, void *buf, unsigned len, __u64 off,
		    int prog, void *sc, unsigned slen)
{
	unsigned hops;
	int res;

	T_EQ(0, test_run(fd, buf, len, off, prog, sc, slen, 0, &res, &hops), what);
	T_EQ(want, res, what);
	T_EQ(0, hops, what);
}

/* What needs no IO_CHAIN program: run on the host and in the guest. */
static void no_program(void)
{
	int bs = 4096, fd, wfd, closed = t_closed_fd(), res, ret;
	__u64 head, blk[2], sc[2] = { 0, 0 };
	char path[] = "/tmp/liburing-ext-test-run.XXXXXX";
	unsigned hops;
	void *buf;

	fd = t_list_file("/tmp", bs, NBLOCKS, 0, &head);
	wfd = mkstemp(path);
	if (wfd < 0 || pwrite(wfd, "x", 1, 0) != 1 || ftruncate(wfd, 4 * bs))
		t_fail("writing %s", path);
	close(wfd);
	wfd = open(path, O_WRONLY);
	unlink(path);
	if (wfd < 0 || posix_memalign(&buf, 4096, 2 * 4096))
		t_fail("write-only file, buffer");

	/* the call's own refusals */
	T_EQ(-EINVAL, io_uring_ext_bpf_chain_test_run(fd, buf, bs, head, closed, NULL, 0, 0,
						      NULL, &hops), "res NULL");
	T_EQ(-EINVAL, test_run(fd, buf, bs, head, closed, NULL, 0, 65537, &res, &hops),
	     "max_hops 65537");
	T_EQ(-100000, res, "res untouched");
	T_EQ(0, hops, "hops of a refused call");

	/* the kernel's, in res: no program is run, so none is needed */
	refused("buf alignment", -EINVAL, fd, (char *) buf + 8, bs, head, closed, NULL, 0);
	refused("len 0", -EINVAL, fd, buf, 0, head, closed, NULL, 0);
	refused("len not a multiple of 512", -EINVAL, fd, buf, bs + 8, head, closed, NULL, 0);
	refused("len above the page size", -EINVAL, fd, buf, 2 * 4096, head, closed, NULL, 0);
	refused("offset alignment", -EINVAL, fd, buf, bs, head + 8, closed, NULL, 0);
	refused("scratch_len 520", -EINVAL, fd, buf, bs, head, closed, sc,
		BPF_IO_CHAIN_SCRATCH_SIZE + 8);
	refused("scratch NULL", -EFAULT, fd, buf, bs, head, closed, NULL, 16);
	refused("offset at the end", -ERANGE, fd, buf, bs, (__u64) NBLOCKS * bs, closed, NULL, 0);
	refused("block across the end", -ERANGE, fd, buf, bs, (__u64) NBLOCKS * bs - 512,
		closed, NULL, 0);
	refused("offset near 2^64", -ERANGE, fd, buf, bs, ~0ULL << 9, closed, NULL, 0);
	refused("closed file", -EBADF, closed, buf, bs, head, closed, NULL, 0);
	refused("write-only file", -EBADF, wfd, buf, bs, 0, closed, NULL, 0);

	/* the first block is read, then the program fd is used */
	memset(buf, 0, bs);
	ret = test_run(fd, buf, bs, head, closed, NULL, 0, 0, &res, &hops);
	T_EQ(-EBADF, ret, "closed program fd");
	T_EQ(-100000, res, "res untouched");
	T_EQ(0, hops, "hops, closed program fd");
	memcpy(blk, buf, sizeof(blk));
	T_EQ(t_list_offset(bs, NBLOCKS, 1), blk[0], "first block read into buf");
	T_EQ(1000, blk[1], "first block read into buf");
	T_EQ(-EINVAL, test_run(fd, buf, bs, head, fd, NULL, 0, 0, &res, &hops),
	     "a file as the program");
	T_EQ(0, io_uring_ext_bpf_chain_test_run(fd, buf, bs, head + 8, closed, NULL, 0, 0,
						&res, NULL), "hops NULL");
	T_EQ(-EINVAL, res, "hops NULL");

	close(fd);
	close(wfd);
	free(buf);
}

static __u64 ring_hops(struct io_uring *ring)
{
	struct io_uring_ext_bpf_chain_stats st;
	int ret = io_uring_ext_bpf_chain_stats(ring, &st);

	if (ret)
		t_fail("io_uring_ext_bpf_chain_stats: %s", strerror(-ret));
	return st.hops_generic + st.hops_driver;
}

/*
 * The same chain on the ring (fixed file 0, program slot) and through
 * BPF_PROG_TEST_RUN (fd, prog): same result, blocks read, last block
 * (when it succeeded) and scratch.  Returns the result.
 */
static int same(const char *what, struct io_uring *ring, unsigned slot, int fd, int prog,
		unsigned max_hops, void *buf, unsigned bs, __u64 off, const void *sc_in,
		unsigned slen)
{
	unsigned char rsc[BPF_IO_CHAIN_SCRATCH_SIZE + 8], tsc[BPF_IO_CHAIN_SCRATCH_SIZE + 8];
	void *tbuf = (char *) buf + 4096;
	unsigned hops;
	__u64 h0, rhops;
	int rres, tres, ret;

	memcpy(rsc, sc_in, slen);
	memcpy(tsc, sc_in, slen);
	memset(buf, 0xee, bs);
	memset(tbuf, 0xdd, bs);
	h0 = ring_hops(ring);
	rres = t_chain(ring, buf, bs, off, slot, slen ? rsc : NULL, slen);
	rhops = ring_hops(ring) - h0;
	ret = test_run(fd, tbuf, bs, off, prog, slen ? tsc : NULL, slen, max_hops, &tres, &hops);
	T_EQ(0, ret, what);
	T_EQ(rres, tres, what);
	T_EQ(rhops, hops, what);
	if (rres >= 0) {
		T_CHECK(!memcmp(buf, tbuf, bs), "%s: last block differs", what);
		T_CHECK(!memcmp(rsc, tsc, slen), "%s: scratch differs", what);
	}
	return tres;
}

static void run(const struct t_place *w, int walker, int fail)
{
	int bs = w->bs, fd, progs[2] = { walker, fail }, res;
	__u64 head, sc[BPF_IO_CHAIN_SCRATCH_SIZE / 8 + 1], blk[2];
	struct io_uring ring, loop;
	unsigned hops;
	char what[160];
	void *buf;

	if (access(w->dir, W_OK)) {
		printf("%s: not there, not tested\n", w->dir);
		return;
	}
	printf("%s%s bs %d\n", w->dir, w->o_direct ? " O_DIRECT" : "", bs);
	fd = t_list_file(w->dir, bs, NBLOCKS, w->o_direct, &head);
	t_ring(&ring, 4, 0);
	t_ring(&loop, 4, 0);
	if (io_uring_register_files(&ring, &fd, 1) || io_uring_register_files(&loop, &fd, 1))
		t_fail("io_uring_register_files");
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, progs, 2, 0), "register");
	T_EQ(0, io_uring_ext_register_bpf_chain(&loop, progs, 2, LOOP), "register, hop limit");
	if (posix_memalign(&buf, 4096, 2 * 4096))
		t_fail("posix_memalign");
	memset(sc, 0, sizeof(sc));

#define SAME(want, r, slot, prog, max, off, slen) do {				\
	snprintf(what, sizeof(what), "%s bs %d: %s", w->dir, bs, #off " " #slen);	\
	T_EQ(want, same(what, r, slot, fd, prog, max, buf, bs, off, sc, slen), what);	\
} while (0)

	/* results, hops, last block, scratch */
	SAME(NBLOCKS, &ring, 0, walker, 0, head, 0);
	SAME(NBLOCKS - 5, &ring, 0, walker, 0, t_list_offset(bs, NBLOCKS, 5), 0);
	SAME(1, &ring, 0, walker, 0, t_list_offset(bs, NBLOCKS, NBLOCKS - 1), 0);
	sc[0] = 7;
	SAME(NBLOCKS, &ring, 0, walker, 0, head, 16);
	SAME(NBLOCKS, &ring, 0, walker, 0, head, 8);
	SAME(NBLOCKS, &ring, 0, walker, 0, head, BPF_IO_CHAIN_SCRATCH_SIZE);
	/* the scratch's round trip, and the last block */
	sc[1] = 0;
	T_EQ(0, test_run(fd, buf, bs, head, walker, sc, 16, 0, &res, &hops), "scratch");
	T_EQ(NBLOCKS, res, "scratch");
	T_EQ(1000 + NBLOCKS - 1 + 7, sc[1], "scratch out");
	memcpy(blk, buf, sizeof(blk));
	T_EQ(-1, (long long) blk[0], "last block's link");
	T_EQ(1000 + NBLOCKS - 1, blk[1], "last block's value");
	sc[1] = 0;
	T_EQ(0, test_run(fd, buf, bs, head, walker, sc, 8, 0, &res, &hops), "scratch of 8");
	T_EQ(0, sc[1], "only 8 bytes copied");

	/* the program's errno, the hop limit */
	SAME(-EUCLEAN, &ring, 1, fail, 0, head, 0);
	T_EQ(0, test_run(fd, buf, bs, head, fail, NULL, 0, 0, &res, &hops), "program's errno");
	T_EQ(1, hops, "program's errno: hops");
	SAME(-ELOOP, &loop, 0, walker, LOOP, head, 0);
	SAME(LOOP, &loop, 0, walker, LOOP, t_list_offset(bs, NBLOCKS, NBLOCKS - LOOP), 0);
	SAME(NBLOCKS, &ring, 0, walker, NBLOCKS, head, 0);
	T_EQ(0, test_run(fd, buf, bs, head, walker, NULL, 0, NBLOCKS - 1, &res, &hops), "limit");
	T_EQ(-ELOOP, res, "hop limit NBLOCKS - 1");
	T_EQ(NBLOCKS - 1, hops, "hop limit NBLOCKS - 1: hops");

	/* the kernel's refusals, as the ring gives them */
	SAME(-EINVAL, &ring, 0, walker, 0, head + 8, 0);
	SAME(-ERANGE, &ring, 0, walker, 0, (__u64) NBLOCKS * bs, 0);
	SAME(-EINVAL, &ring, 0, walker, 0, head, BPF_IO_CHAIN_SCRATCH_SIZE + 8);
	snprintf(what, sizeof(what), "%s: buf alignment", w->dir);
	T_EQ(0, test_run(fd, (char *) buf + 8, bs, head, walker, NULL, 0, 0, &res, &hops), what);
	T_EQ(t_chain(&ring, (char *) buf + 8, bs, head, 0, NULL, 0), res, what);
	snprintf(what, sizeof(what), "%s: len", w->dir);
	T_EQ(0, test_run(fd, buf, bs + 8, head, walker, NULL, 0, 0, &res, &hops), what);
	T_EQ(t_chain(&ring, buf, bs + 8, head, 0, NULL, 0), res, what);

#undef SAME
	io_uring_queue_exit(&ring);
	io_uring_queue_exit(&loop);
	close(fd);
	free(buf);
}

/* A block device: its size is the device's; read only, one hop. */
static void block_device(int fail)
{
	static const char *const devs[] = { "/dev/vda", "/dev/nvme0n1" };
	__u64 size;
	unsigned hops, i;
	int fd, res;
	void *buf;

	if (posix_memalign(&buf, 4096, 4096))
		t_fail("posix_memalign");
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		fd = open(devs[i], O_RDONLY);
		if (fd < 0) {
			printf("%s: not there, not tested\n", devs[i]);
			continue;
		}
		if (ioctl(fd, BLKGETSIZE64, &size) || size < 4096)
			t_fail("%s: BLKGETSIZE64", devs[i]);
		printf("%s: %llu bytes\n", devs[i], (unsigned long long) size);
		T_EQ(0, test_run(fd, buf, 4096, (size - 4096) & ~4095ULL, fail, NULL, 0, 0,
				 &res, &hops), devs[i]);
		T_EQ(-EUCLEAN, res, "a block device's last block");
		T_EQ(1, hops, "a block device's last block");
		T_EQ(0, test_run(fd, buf, 4096, (size + 4095) & ~4095ULL, fail, NULL, 0, 0,
				 &res, &hops), devs[i]);
		T_EQ(-ERANGE, res, "past a block device's end");
		close(fd);
	}
	free(buf);
}

int main(int argc, char *argv[])
{
	struct bpf_object *obj;
	int walker, fail, sock, fd, res, ret;
	__u64 head;
	unsigned hops, i;
	void *buf;

	if (argc > 1 && strcmp(argv[1], "--host"))
		return T_EXIT_SKIP;
	no_program();
	if (argc > 1) {
		printf("the checks that need no IO_CHAIN program\n");
		return t_exit();
	}
	obj = t_chain_progs(&walker, &fail);
	for (i = 0; i < t_nr_places; i++)
		run(&t_places[i], walker, fail);
	block_device(fail);

	/* a program of another type: refused by its test run, or by the checks */
	sock = t_socket_filter();
	fd = t_list_file("/tmp", 4096, 4, 0, &head);
	if (posix_memalign(&buf, 4096, 4096))
		t_fail("posix_memalign");
	ret = io_uring_ext_bpf_chain_test_run(fd, buf, 4096, head, sock, NULL, 0, 0, &res, &hops);
	T_CHECK(ret == -EINVAL || ret == -EPROTO, "a socket filter: %d (%s)", ret, t_errname(ret));
	close(fd);
	close(sock);
	free(buf);
	io_uring_ext_bpf_chain_close(obj);
	return t_exit();
}
