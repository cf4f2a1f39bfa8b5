/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_ext_unregister_bpf_chain(): no table (-ENXIO),
 * twice, chains after it, a new table after it, chains in flight while
 * it runs (they keep their program), a bad ring.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NBLOCKS	32
#define BS	4096
#define INFLIGHT 8

int main(int argc, char *argv[])
{
	struct io_uring ring, bad;
	struct io_uring_cqe *cqe;
	struct bpf_object *obj;
	int walker, fd, i, ret;
	__u64 head;
	void *buf;

	if (argc > 1)
		return T_EXIT_SKIP;
	t_ring(&ring, 16, 0);
	walker = t_load("chain_progs.bpf.o", "walker", &obj);
	fd = t_list_file("/tmp", BS, NBLOCKS, 0, &head);
	if (io_uring_register_files(&ring, &fd, 1))
		t_fail("io_uring_register_files");
	if (posix_memalign(&buf, 4096, BS * INFLIGHT))
		t_fail("posix_memalign");

	T_EQ(-ENXIO, io_uring_ext_unregister_bpf_chain(&ring), "no table");
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, &walker, 1, 0), "register");
	T_EQ(NBLOCKS, t_chain(&ring, buf, BS, head, 0, NULL, 0), "chain");
	T_EQ(0, io_uring_ext_unregister_bpf_chain(&ring), "unregister");
	T_EQ(-ENOENT, t_chain(&ring, buf, BS, head, 0, NULL, 0), "chain after unregister");
	T_EQ(-ENXIO, io_uring_ext_unregister_bpf_chain(&ring), "unregister twice");
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, &walker, 1, 0), "register again");

	/* chains in flight hold their program */
	for (i = 0; i < INFLIGHT; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_ext_prep_bpf_chain(sqe, 0, (char *) buf + i * BS, BS,
					    t_list_offset(BS, NBLOCKS, i), 0);
		sqe->user_data = NBLOCKS - i;
	}
	T_EQ(INFLIGHT, io_uring_submit(&ring), "submit");
	T_EQ(0, io_uring_ext_unregister_bpf_chain(&ring), "unregister with chains in flight");
	for (i = 0; i < INFLIGHT; i++) {
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret)
			t_fail("io_uring_wait_cqe: %s", strerror(-ret));
		T_EQ((int) cqe->user_data, cqe->res, "chain in flight");
		io_uring_cqe_seen(&ring, cqe);
	}

	bad = ring;
	bad.ring_fd = t_closed_fd();
	T_EQ(-EBADF, io_uring_ext_unregister_bpf_chain(&bad), "closed ring fd");

	io_uring_queue_exit(&ring);
	io_uring_ext_bpf_chain_close(obj);
	close(fd);
	free(buf);
	return t_exit();
}
