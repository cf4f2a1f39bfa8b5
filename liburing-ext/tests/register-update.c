/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_ext_register_bpf_chain_update(): replacing and
 * clearing slots, and every refusal: no table, a range out of the table,
 * an empty update, the wrong program type, bad fds, a bad pointer, a bad
 * ring.  A refused update leaves the table as it was.
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
	int walker, fail, sock, fd, fds[4], none = -1;
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

	T_EQ(-ENXIO, io_uring_ext_register_bpf_chain_update(&ring, 0, &walker, 1), "no table");

	fds[0] = walker;
	fds[1] = -1;
	fds[2] = walker;
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, fds, 3, 0), "register");

	/* fill the empty slot, replace a full one, put it back */
	T_EQ(0, io_uring_ext_register_bpf_chain_update(&ring, 1, &fail, 1), "fill slot 1");
	T_EQ(-EUCLEAN, t_chain(&ring, buf, BS, head, 1, NULL, 0), "slot 1 filled");
	fds[0] = fail;
	fds[1] = fail;
	T_EQ(0, io_uring_ext_register_bpf_chain_update(&ring, 1, fds, 2), "replace 1..2");
	T_EQ(-EUCLEAN, t_chain(&ring, buf, BS, head, 2, NULL, 0), "slot 2 replaced");
	T_EQ(NBLOCKS, t_chain(&ring, buf, BS, head, 0, NULL, 0), "slot 0 untouched");
	T_EQ(0, io_uring_ext_register_bpf_chain_update(&ring, 2, &walker, 1), "slot 2 back");
	T_EQ(NBLOCKS, t_chain(&ring, buf, BS, head, 2, NULL, 0), "slot 2 walker again");

	/* refusals; the table stays as it is */
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain_update(&ring, 3, &walker, 1), "offset 3 of 3");
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain_update(&ring, 2, fds, 2), "past the end");
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain_update(&ring, 0x80000000u, &walker, 1),
	     "huge offset");
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain_update(&ring, 1, fds, 0xffffffffu),
	     "huge nr");
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain_update(&ring, 0, fds, 0), "nr 0");
	T_EQ(-EINVAL, io_uring_ext_register_bpf_chain_update(&ring, 0, &sock, 1), "socket filter");
	fds[0] = 12345;
	T_EQ(-EBADF, io_uring_ext_register_bpf_chain_update(&ring, 0, fds, 1), "fd 12345");
	fds[0] = fail;
	fds[1] = 12345;
	T_EQ(-EBADF, io_uring_ext_register_bpf_chain_update(&ring, 0, fds, 2), "second fd bad");
	T_EQ(-EFAULT, io_uring_ext_register_bpf_chain_update(&ring, 0, NULL, 1), "NULL fds");
	T_EQ(NBLOCKS, t_chain(&ring, buf, BS, head, 0, NULL, 0), "slot 0 still walker");
	T_EQ(-EUCLEAN, t_chain(&ring, buf, BS, head, 1, NULL, 0), "slot 1 still fail_euclean");

	/* -1 clears */
	T_EQ(0, io_uring_ext_register_bpf_chain_update(&ring, 0, &none, 1), "clear slot 0");
	T_EQ(-ENOENT, t_chain(&ring, buf, BS, head, 0, NULL, 0), "cleared slot");

	bad = ring;
	bad.ring_fd = t_closed_fd();
	T_EQ(-EBADF, io_uring_ext_register_bpf_chain_update(&bad, 0, &walker, 1), "closed ring fd");

	io_uring_queue_exit(&ring);
	io_uring_ext_bpf_chain_close(obj);
	close(sock);
	close(fd);
	free(buf);
	return t_exit();
}
