/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_ext_register_bpf_chain(): a table that works,
 * sparse slots, the hop limit, and every refusal: double registration,
 * bad fds, the wrong program type, empty or oversized tables, a bad
 * pointer, a bad ring.  A refused registration leaves no table behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NBLOCKS	8
#define BS	4096

int main(int argc, char *argv[])
{
	struct io_uring ring, bad;
	struct bpf_object *obj;
	int walker, fail, sock, fd, fds[4];
	__u64 head;
	void *buf;

	if (argc > 1)
		return T_EXIT_SKIP;
	t_ring(&ring, 8, 0);
	walker = t_load("chain_progs.bpf.o", "walker", &obj);
	fail = t_prog_fd(obj, "fail_euclean");
	sock = t_socket_filter();
	fd = t_list_file("/tmp", BS, NBLOCKS, 0, &head);
	if (io_uring_register_files(&ring, &fd, 1))
		t_fail("io_uring_register_files");
	if (posix_memalign(&buf, 4096, BS))
		t_fail("posix_memalign");

	fds[0] = walker;
	fds[1] = fail;
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, fds, 2, 0), "register");
	T_EQ(NBLOCKS, t_chain(&ring, buf, BS, head, 0, NULL, 0), "slot 0: walker");
	T_EQ(-EUCLEAN, t_chain(&ring, buf, BS, head, 1, NULL, 0), "slot 1: fail_euclean");
	T_EQ(-ENOENT, t_chain(&ring, buf, BS, head, 2, NULL, 0), "slot 2: past the table");
	T_EQ(-EBUSY, io_uring_ext_register_bpf_chain(&ring, fds, 2, 0), "registered twice");
	T_EQ(NBLOCKS, t_chain(&ring, buf, BS, head, 0, NULL, 0), "first table still there");
	T_EQ(0, io_uring_ext_unregister_bpf_chain(&ring), "unregister");

	/* refusals; none leaves a table */
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain(&ring, fds, 0, 0), "nr 0");
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain(&ring, fds, 1025, 0), "nr 1025");
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain(&ring, fds, 1, 65537), "max_hops");
	T_EQ(-EFAULT, io_uring_ext_register_bpf_chain(&ring, NULL, 1, 0), "NULL fds");
	fds[0] = sock;
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain(&ring, fds, 1, 0), "socket filter");
	fds[0] = 12345;
	T_EQ(-EBADF, io_uring_ext_register_bpf_chain(&ring, fds, 1, 0), "fd 12345");
	fds[0] = fd;
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain(&ring, fds, 1, 0), "a file, not a program");
	fds[0] = walker;
	fds[1] = 12345;
	T_EQ(-EBADF, io_uring_ext_register_bpf_chain(&ring, fds, 2, 0), "second fd bad");
	T_EQ(-ENXIO, io_uring_ext_unregister_bpf_chain(&ring), "no table left behind");
	T_EQ(-ENOENT, t_chain(&ring, buf, BS, head, 0, NULL, 0), "no table");

	/* sparse: slot 0 empty */
	fds[0] = -1;
	fds[1] = walker;
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, fds, 2, 0), "sparse");
	T_EQ(-ENOENT, t_chain(&ring, buf, BS, head, 0, NULL, 0), "empty slot 0");
	T_EQ(NBLOCKS, t_chain(&ring, buf, BS, head, 1, NULL, 0), "slot 1");
	T_EQ(0, io_uring_ext_unregister_bpf_chain(&ring), "unregister sparse");

	/* max_hops: NBLOCKS - 1 hops are allowed, NBLOCKS are not */
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, &walker, 1, NBLOCKS - 1), "max_hops");
	T_EQ(-ELOOP, t_chain(&ring, buf, BS, head, 0, NULL, 0), "over the hop limit");
	T_EQ(NBLOCKS - 1, t_chain(&ring, buf, BS, t_list_offset(BS, NBLOCKS, 1), 0, NULL, 0),
	     "at the hop limit");
	T_EQ(0, io_uring_ext_unregister_bpf_chain(&ring), "unregister max_hops");

	bad = ring;
	bad.ring_fd = t_closed_fd();
	T_EQ(-EBADF, io_uring_ext_register_bpf_chain(&bad, &walker, 1, 0), "closed ring fd");
	bad.ring_fd = fd;
	T_EQ(-EOPNOTSUPP, io_uring_ext_register_bpf_chain(&bad, &walker, 1, 0), "not a ring");

	io_uring_queue_exit(&ring);
	io_uring_ext_bpf_chain_close(obj);
	close(sock);
	close(fd);
	free(buf);
	return t_exit();
}
