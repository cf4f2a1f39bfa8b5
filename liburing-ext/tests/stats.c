/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_ext_bpf_chain_stats(): every counter moves when
 * the kernel says it should (program table size, chains, generic hops,
 * program errors, hop limit, bad next offset), and the refusals: NULL
 * arguments (-EINVAL), a closed fd (-EBADF), an fd without the counters
 * (-ENOTSUP).
 */
#include <errno.h>
#include <fcntl.h>
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

int main(int argc, char *argv[])
{
	struct io_uring_ext_bpf_chain_stats s0, s;
	struct io_uring ring, bad;
	struct bpf_object *obj;
	int walker, progs[3], files[2], pipefd[2], i;
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
	for (i = 0; i < 9; i++)
		T_EQ(0, s0.resv[i], "resv");

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
	io_uring_ext_bpf_chain_close(obj);
	close(files[0]);
	close(files[1]);
	free(buf);
	return t_exit();
}
