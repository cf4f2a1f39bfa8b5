/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_ext_bpf_chain_supported() says 1 on the patched
 * kernel, agrees with the opcode's behaviour (a chain without a program
 * table gets -ENOENT, not the -EINVAL of an unknown opcode), and returns
 * -errno for a bad ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

int main(int argc, char *argv[])
{
	struct io_uring ring, bad;
	struct io_uring_sqe *sqe;
	void *buf;
	int ret, fd;

	if (argc > 1)
		return T_EXIT_SKIP;
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret == -ENOSYS || ret == -EPERM)
		t_skip("io_uring_queue_init: %s", strerror(-ret));
	if (ret)
		t_fail("io_uring_queue_init: %s", strerror(-ret));

	ret = io_uring_ext_bpf_chain_supported(&ring);
	if (ret == 0)
		t_skip("kernel lacks IORING_OP_BPF_CHAIN");
	T_EQ(1, ret, "supported");

	/* the opcode is there: no program table gives -ENOENT */
	fd = open("/dev/zero", O_RDONLY);
	T_EQ(0, io_uring_register_files(&ring, &fd, 1), "register /dev/zero");
	if (posix_memalign(&buf, 4096, 4096))
		t_fail("posix_memalign");
	sqe = io_uring_get_sqe(&ring);
	io_uring_ext_prep_bpf_chain(sqe, 0, buf, 4096, 0, 0);
	T_EQ(-ENOENT, t_submit_wait(&ring), "chain without a program table");

	/* the same ring through another fd still answers */
	bad = ring;
	bad.ring_fd = dup(ring.ring_fd);
	T_EQ(1, io_uring_ext_bpf_chain_supported(&bad), "dup'ed ring fd");
	close(bad.ring_fd);

	bad.ring_fd = t_closed_fd();
	T_EQ(-EBADF, io_uring_ext_bpf_chain_supported(&bad), "closed ring fd");
	bad.ring_fd = fd;
	T_EQ(-EOPNOTSUPP, io_uring_ext_bpf_chain_supported(&bad), "not an io_uring fd");

	io_uring_queue_exit(&ring);
	close(fd);
	free(buf);
	return t_exit();
}
