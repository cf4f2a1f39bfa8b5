/* SPDX-License-Identifier: MIT */
/*
 * Description: chains prepared with io_uring_ext_prep_bpf_chain(),
 * io_uring_ext_sqe_set_scratch() and io_uring_ext_sqe_set_chain_flags()
 * on every file system of the test guest that is there (/tmp always):
 * results, the last block, the scratch round trip, flags, program slots,
 * and the kernel's refusal of each field the helpers set wrong, so each
 * field is shown to reach the kernel where it should.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define NBLOCKS	64
#define BATCH	8

static int chain(struct io_uring *ring, void *buf, unsigned bs, __u64 off, unsigned slot,
		 void *scratch, unsigned scratch_len, unsigned flags)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		t_fail("no SQE");
	/* garbage first: prep must clear whatever the kernel checks */
	memset(sqe, 0xff, sizeof(*sqe));
	io_uring_ext_prep_bpf_chain(sqe, 0, buf, bs, off, slot);
	io_uring_ext_sqe_set_scratch(sqe, scratch, scratch_len);
	io_uring_ext_sqe_set_chain_flags(sqe, flags);
	return t_submit_wait(ring);
}

static void run(const struct t_place *w, int walker, int fail)
{
	int bs = w->bs, fd, progs[2] = { walker, fail }, i, n;
	__u64 head, sc[BPF_IO_CHAIN_SCRATCH_SIZE / 8 + 1], last[2];
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	char what[128];
	void *buf;

	snprintf(what, sizeof(what), "%s%s bs %d", w->dir, w->o_direct ? " O_DIRECT" : "", bs);
	if (access(w->dir, W_OK)) {
		printf("%s: not there, not tested\n", w->dir);
		return;
	}
	printf("%s\n", what);
	t_ring(&ring, 16, 0);
	fd = t_list_file(w->dir, bs, NBLOCKS, w->o_direct, &head);
	if (io_uring_register_files(&ring, &fd, 1))
		t_fail("io_uring_register_files");
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, progs, 2, 0), what);
	if (posix_memalign(&buf, 4096, 4096 * BATCH))
		t_fail("posix_memalign");

	/* no scratch: the result, and the last block in buf */
	memset(buf, 0, bs);
	T_EQ(NBLOCKS, chain(&ring, buf, bs, head, 0, NULL, 0, 0), what);
	memcpy(last, buf, sizeof(last));
	T_EQ(-1, (long long) last[0], "last block's link");
	T_EQ(1000 + NBLOCKS - 1, last[1], "last block's value");

	/* scratch in and out */
	memset(sc, 0, sizeof(sc));
	sc[0] = 7;
	T_EQ(NBLOCKS, chain(&ring, buf, bs, head, 0, sc, 16, 0), "with scratch");
	T_EQ(7, sc[0], "scratch in");
	T_EQ(1000 + NBLOCKS - 1 + 7, sc[1], "scratch out");
	sc[1] = 0;
	T_EQ(NBLOCKS, chain(&ring, buf, bs, head, 0, sc, 8, 0), "scratch of 8 bytes");
	T_EQ(0, sc[1], "only 8 bytes copied");
	T_EQ(NBLOCKS, chain(&ring, buf, bs, head, 0, sc, BPF_IO_CHAIN_SCRATCH_SIZE, 0),
	     "largest scratch");
	T_EQ(-EINVAL, chain(&ring, buf, bs, head, 0, sc, BPF_IO_CHAIN_SCRATCH_SIZE + 8, 0),
	     "scratch length too long");
	T_EQ(-EFAULT, chain(&ring, buf, bs, head, 0, (void *) 8, 16, 0), "scratch pointer");

	/* flags */
	T_EQ(NBLOCKS - 5, chain(&ring, buf, bs, t_list_offset(bs, NBLOCKS, 5), 0, NULL, 0,
				IORING_BPF_CHAIN_GENERIC), "IORING_BPF_CHAIN_GENERIC");
	T_EQ(-EINVAL, chain(&ring, buf, bs, head, 0, NULL, 0, 1U << 7), "unknown flag");

	/* program slots */
	T_EQ(-EUCLEAN, chain(&ring, buf, bs, head, 1, NULL, 0, 0), "slot 1");
	T_EQ(-ENOENT, chain(&ring, buf, bs, head, 2, NULL, 0, 0), "slot 2");
	T_EQ(-ENOENT, chain(&ring, buf, bs, head, 0x80000000u, NULL, 0, 0), "slot 2^31");

	/* buffer, length, offset */
	T_EQ(-EINVAL, chain(&ring, (char *) buf + 8, bs, head, 0, NULL, 0, 0), "buf alignment");
	T_EQ(-EINVAL, chain(&ring, buf, bs + 8, head, 0, NULL, 0, 0), "len");
	T_EQ(-EINVAL, chain(&ring, buf, bs, head + 8, 0, NULL, 0, 0), "offset alignment");
	T_EQ(-ERANGE, chain(&ring, buf, bs, (__u64) NBLOCKS * bs, 0, NULL, 0, 0), "offset");

	/* a batch in flight, told apart by user_data */
	for (i = 0; i < BATCH; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_ext_prep_bpf_chain(sqe, 0, (char *) buf + i * 4096, bs,
					    t_list_offset(bs, NBLOCKS, i * 7), 0);
		io_uring_sqe_set_data64(sqe, NBLOCKS - i * 7);
	}
	T_EQ(BATCH, io_uring_submit(&ring), "submit a batch");
	for (n = 0; n < BATCH; n++) {
		if (io_uring_wait_cqe(&ring, &cqe))
			t_fail("io_uring_wait_cqe");
		T_EQ((long long) cqe->user_data, cqe->res, "batch");
		io_uring_cqe_seen(&ring, cqe);
	}

	io_uring_queue_exit(&ring);
	close(fd);
	free(buf);
}

int main(int argc, char *argv[])
{
	struct bpf_object *obj;
	int walker, fail;
	unsigned i;

	if (argc > 1)
		return T_EXIT_SKIP;
	obj = t_chain_progs(&walker, &fail);
	for (i = 0; i < t_nr_places; i++)
		run(&t_places[i], walker, fail);
	io_uring_ext_bpf_chain_close(obj);
	return t_exit();
}
