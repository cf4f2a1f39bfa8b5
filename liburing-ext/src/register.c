/* SPDX-License-Identifier: MIT */
/*
 * The program table of IORING_OP_BPF_CHAIN: register, update, unregister,
 * and the feature probe.  Each call returns 0 or -errno, like liburing's
 * own register calls, and never sets errno.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "liburing-ext.h"

int io_uring_ext_register_bpf_chain(struct io_uring *ring, const int *prog_fds,
				    unsigned nr, unsigned max_hops)
{
	struct io_uring_bpf_chain_reg reg;

	memset(&reg, 0, sizeof(reg));
	reg.prog_fds = (unsigned long) prog_fds;
	reg.nr = nr;
	reg.max_hops = max_hops;
	return io_uring_register(ring->ring_fd, IORING_REGISTER_BPF_CHAIN, &reg, 1);
}

int io_uring_ext_register_bpf_chain_update(struct io_uring *ring,
					   unsigned offset, const int *prog_fds,
					   unsigned nr)
{
	struct io_uring_bpf_chain_update up;

	memset(&up, 0, sizeof(up));
	up.offset = offset;
	up.nr = nr;
	up.prog_fds = (unsigned long) prog_fds;
	return io_uring_register(ring->ring_fd, IORING_REGISTER_BPF_CHAIN_UPDATE,
				 &up, 1);
}

int io_uring_ext_unregister_bpf_chain(struct io_uring *ring)
{
	return io_uring_register(ring->ring_fd, IORING_UNREGISTER_BPF_CHAIN,
				 NULL, 0);
}

/*
 * The opcode number is only ours on the bpfchain kernel: upstream kernels
 * after 6.12 give the same number to other opcodes (6.15: IORING_OP_RECV_ZC),
 * so the probe saying "supported" is not enough.  A chain submitted on a
 * private ring with no program table tells them apart without side
 * effects: the bpfchain kernel refuses it with -ENOENT in prep, before
 * looking at the file or the buffer; any other opcode refuses it
 * otherwise (its fields are all zero but addr and len).
 */
static int chain_opcode_answers(void)
{
	static char block[512] __attribute__((aligned(512)));
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring priv;
	int ret;

	ret = io_uring_queue_init(1, &priv, 0);
	if (ret)
		return ret;
	sqe = io_uring_get_sqe(&priv);
	io_uring_ext_prep_bpf_chain(sqe, 0, block, sizeof(block), 0, 0);
	ret = io_uring_submit(&priv);
	if (ret == 1)
		ret = io_uring_wait_cqe(&priv, &cqe);
	else if (ret >= 0)
		ret = -EIO;
	if (!ret)
		ret = cqe->res == -ENOENT;
	io_uring_queue_exit(&priv);
	return ret;
}

/*
 * 1 if IORING_OP_BPF_CHAIN works on this ring, 0 if the kernel lacks it,
 * -errno if the probe itself failed.
 * The probe is sized for every possible opcode, not for the ones liburing
 * knows.
 */
int io_uring_ext_bpf_chain_supported(struct io_uring *ring)
{
	const unsigned nr_ops = 256;
	struct io_uring_probe *p;
	int ret;

	p = calloc(1, sizeof(*p) + nr_ops * sizeof(struct io_uring_probe_op));
	if (!p)
		return -ENOMEM;
	ret = io_uring_register_probe(ring, p, nr_ops);
	if (!ret)
		ret = p->last_op >= IORING_OP_BPF_CHAIN &&
		      (p->ops[IORING_OP_BPF_CHAIN].flags & IO_URING_OP_SUPPORTED);
	free(p);
	if (ret != 1)
		return ret;
	return chain_opcode_answers();
}
