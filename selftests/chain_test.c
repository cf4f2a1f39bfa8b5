// SPDX-License-Identifier: GPL-2.0
/*
 * IORING_OP_BPF_CHAIN: registration, chains over linked blocks on every
 * kind of file the guest has (on NVMe the driver tier runs their hops),
 * every error the opcode documents, a fuzzer of the SQE and of the
 * registration calls, and an unprivileged user.  Each chain's hops are
 * counted in the ring's fdinfo, and the tests check those counters, so
 * a chain that did not run in the kernel cannot pass.
 *
 * Variants use the mount points of the bpfchain test guest (/mnt/nvme:
 * ext4 on NVMe, /mnt/nvme-xfs, /mnt/vblk: ext4 on virtio-blk) and skip
 * where they are missing; /tmp is always tested.
 */
#include "bpf_chain_helpers.h"

static const struct bpf_insn list_walker[] = {
	/* r2 = data, r3 = data_end; a block shorter than 16 bytes: -EBADMSG */
	BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
	BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, CTX(data_end)),
	BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
	BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 16),
	BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
	BPF_MOV64_IMM(BPF_REG_0, -EBADMSG),
	BPF_EXIT_INSN(),
	/* not the end: next_offset = next, NEXT */
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_2, 0),
	BPF_JMP_IMM(BPF_JEQ, BPF_REG_5, -1, 3),
	BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_5, CTX(next_offset)),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_NEXT),
	BPF_EXIT_INSN(),
	/* the end: scratch[1] = value + scratch[0], result = hop + 1 */
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_2, 8),
	BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(scratch)),
	BPF_LDX_MEM(BPF_DW, BPF_REG_7, BPF_REG_6, 0),
	BPF_ALU64_REG(BPF_ADD, BPF_REG_5, BPF_REG_7),
	BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_5, 8),
	BPF_LDX_MEM(BPF_W, BPF_REG_5, BPF_REG_1, CTX(hop)),
	BPF_ALU64_IMM(BPF_ADD, BPF_REG_5, 1),
	BPF_STX_MEM(BPF_W, BPF_REG_1, BPF_REG_5, CTX(result)),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
	BPF_EXIT_INSN(),
};

static const struct bpf_insn fails_euclean[] = {
	BPF_MOV64_IMM(BPF_REG_0, -EUCLEAN),
	BPF_EXIT_INSN(),
};

static const struct bpf_insn socket_filter[] = {
	BPF_MOV64_IMM(BPF_REG_0, 0),
	BPF_EXIT_INSN(),
};

struct chain {
	int fixed;		/* registered file slot */
	void *buf;
	__u32 len;
	__u64 off;
	__u32 slot;
	__u32 flags;
	__u64 *scratch;
	__u32 scratch_len;
	__u8 sqe_flags;
	__u16 buf_index;
};

static int run_chain(struct io_uring *ring, const struct chain *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, c->fixed, c->buf, c->len, c->off);
	sqe->flags = c->sqe_flags;
	sqe->bpf_chain_flags = c->flags;
	sqe->bpf_chain_scratch = (uintptr_t)c->scratch;
	sqe->bpf_chain_scratch_len = c->scratch_len;
	sqe->bpf_chain_prog = c->slot;
	sqe->buf_index = c->buf_index;
	/* with SQPOLL the count may be 0: the SQ thread took the entry first */
	ret = io_uring_submit(ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

FIXTURE(chain) {
	struct io_uring ring;
	int ring_ok;
	int loop_fd;		/* the loop device, for the raw variant */
	char path[256];
	int fd;
	int progs[3];		/* walker, -EUCLEAN, empty */
	int bs;
	void *buf;
	__u64 scratch[64];
	off_t size;
};

FIXTURE_VARIANT(chain) {
	const char *dir;
	int loop;		/* chain over a loop device backed by the file */
	int o_direct;
	unsigned int ring_flags;
	int bs;
	int iowq_only;		/* no nowait reads (tmpfs): io-wq reads every hop */
	int driver;		/* NVMe: the driver runs the hops */
};

FIXTURE_VARIANT_ADD(chain, nvme_ext4_direct) {
	.dir = "/mnt/nvme", .o_direct = 1, .bs = 4096, .driver = 1,
};

FIXTURE_VARIANT_ADD(chain, nvme_ext4_buffered) {
	.dir = "/mnt/nvme", .bs = 4096, .driver = 1,
};

FIXTURE_VARIANT_ADD(chain, nvme_xfs_direct_512) {
	.dir = "/mnt/nvme-xfs", .o_direct = 1, .bs = 512, .driver = 1,
};

FIXTURE_VARIANT_ADD(chain, virtio_ext4_direct) {
	.dir = "/mnt/vblk", .o_direct = 1, .bs = 4096,
};

FIXTURE_VARIANT_ADD(chain, tmpfs) {
	.dir = "/tmp", .bs = 4096, .iowq_only = 1,
};

FIXTURE_VARIANT_ADD(chain, loop_blockdev_direct) {
	.dir = "/tmp", .loop = 1, .o_direct = 1, .bs = 512,
};

FIXTURE_VARIANT_ADD(chain, sqpoll) {
	.dir = "/mnt/nvme", .o_direct = 1, .bs = 4096, .driver = 1,
	.ring_flags = IORING_SETUP_SQPOLL,
};

FIXTURE_VARIANT_ADD(chain, defer_taskrun) {
	.dir = "/mnt/nvme", .o_direct = 1, .bs = 4096, .driver = 1,
	.ring_flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
};

/* Block i of the file links to block perm[i + 1]; values are 1000 + i. */
static int write_list(int fd, int bs, const int *order, int n, off_t size)
{
	unsigned char *blk = calloc(1, bs);
	int i;

	if (ftruncate(fd, size))
		return -1;
	for (i = 0; i < n; i++) {
		__u64 next = i + 1 < n ? (__u64)order[i + 1] * bs : END;
		__u64 val = 1000 + i;

		memset(blk, 0x5a, bs);
		memcpy(blk, &next, 8);
		memcpy(blk + 8, &val, 8);
		if (pwrite(fd, blk, bs, (off_t)order[i] * bs) != bs)
			return -1;
	}
	free(blk);
	return fsync(fd);
}

FIXTURE_SETUP(chain)
{
	int order[NBLOCKS], i, wfd, fds[3];
	struct io_uring_probe *probe;
	int ret;

	self->fd = -1;
	self->loop_fd = -1;
	self->bs = variant->bs;
	if (access(variant->dir, W_OK))
		SKIP(return, "%s: %s (mount a file system there to test it)",
		     variant->dir, strerror(errno));
	ret = io_uring_queue_init(8, &self->ring, variant->ring_flags);
	if (ret)
		SKIP(return, "io_uring_queue_init: %s", strerror(-ret));
	self->ring_ok = 1;
	probe = io_uring_get_probe_ring(&self->ring);
	ASSERT_NE(NULL, probe);
	if (!io_uring_opcode_supported(probe, IORING_OP_BPF_CHAIN)) {
		io_uring_free_probe(probe);
		SKIP(return, "kernel lacks IORING_OP_BPF_CHAIN");
	}
	io_uring_free_probe(probe);

	self->progs[0] = prog_load(BPF_PROG_TYPE_IO_CHAIN, list_walker, ARRAY_SIZE(list_walker));
	if (self->progs[0] < 0 && errno == EPERM)
		SKIP(return, "loading IO_CHAIN programs needs CAP_BPF");
	ASSERT_LE(0, self->progs[0]);
	self->progs[1] = prog_load(BPF_PROG_TYPE_IO_CHAIN, fails_euclean,
				   ARRAY_SIZE(fails_euclean));
	ASSERT_LE(0, self->progs[1]);
	self->progs[2] = -1;

	/* blocks in a scrambled order, so each hop really follows the link */
	for (i = 0; i < NBLOCKS; i++)
		order[i] = (i * 37 + 11) % NBLOCKS;
	snprintf(self->path, sizeof(self->path), "%s/bpf_chain_list.%d", variant->dir, getpid());
	self->size = (off_t)NBLOCKS * self->bs;
	wfd = open(self->path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	ASSERT_LE(0, wfd) TH_LOG("%s: %s", self->path, strerror(errno));
	ASSERT_EQ(0, write_list(wfd, self->bs, order, NBLOCKS, self->size));
	close(wfd);
	if (variant->loop) {
		char dev[32];
		int ctl, n;

		ctl = open("/dev/loop-control", O_RDWR);
		if (ctl < 0)
			SKIP(return, "/dev/loop-control: %s", strerror(errno));
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		close(ctl);
		ASSERT_LE(0, n);
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		self->loop_fd = open(dev, O_RDWR);
		ASSERT_LE(0, self->loop_fd);
		wfd = open(self->path, O_RDWR);
		ASSERT_EQ(0, ioctl(self->loop_fd, LOOP_SET_FD, wfd));
		close(wfd);
		self->fd = open(dev, O_RDONLY | (variant->o_direct ? O_DIRECT : 0));
	} else {
		self->fd = open(self->path, O_RDONLY | (variant->o_direct ? O_DIRECT : 0));
	}
	ASSERT_LE(0, self->fd);

	fds[0] = self->fd;
	fds[1] = -1;
	fds[2] = open(self->path, O_WRONLY);
	ASSERT_EQ(0, io_uring_register_files(&self->ring, fds, 3));
	close(fds[2]);
	ASSERT_EQ(0, register_progs(&self->ring, self->progs, 3, 0));
	ASSERT_EQ(0, posix_memalign(&self->buf, 4096, 8192));
	/* list order: order[0] is the head */
	self->scratch[0] = 7;
}

FIXTURE_TEARDOWN(chain)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->loop_fd >= 0) {
		ioctl(self->loop_fd, LOOP_CLR_FD);
		close(self->loop_fd);
	}
	if (self->path[0])
		unlink(self->path);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
}

/* a chain over the list from its i-th element: NBLOCKS - i hops */
static struct chain chain_from(void *buf, int bs, __u64 *scratch, int i)
{
	struct chain c = {
		.fixed = 0, .buf = buf, .len = bs,
		.off = (__u64)((i * 37 + 11) % NBLOCKS) * bs,
		.slot = 0, .scratch = scratch, .scratch_len = 16,
		.sqe_flags = IOSQE_FIXED_FILE,
	};
	return c;
}

TEST_F(chain, walks_the_whole_list)
{
	struct chain c = chain_from(self->buf, self->bs, self->scratch, 0);
	long hops = ring_hops(&self->ring);
	long driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	long chains = ring_counter(&self->ring, "BpfChainChains");
	__u64 next, val;

	ASSERT_LE(0, driver);
	EXPECT_EQ(NBLOCKS, run_chain(&self->ring, &c));
	/* counters prove the kernel took every hop, and which tier did */
	EXPECT_EQ(hops + NBLOCKS, ring_hops(&self->ring));
	EXPECT_EQ(driver + (variant->driver ? NBLOCKS : 0),
		  ring_counter(&self->ring, "BpfChainHopsDriver"));
	EXPECT_EQ(chains + 1, ring_counter(&self->ring, "BpfChainChains"));
	/* the buffer holds the last block, the scratch the program's answer */
	memcpy(&next, self->buf, 8);
	memcpy(&val, (char *)self->buf + 8, 8);
	EXPECT_EQ(END, next);
	EXPECT_EQ(1000 + NBLOCKS - 1, val);
	EXPECT_EQ(7, self->scratch[0]);
	EXPECT_EQ(1000 + NBLOCKS - 1 + 7, self->scratch[1]);
}

TEST_F(chain, every_start)
{
	int i;

	for (i = 0; i < NBLOCKS; i++) {
		struct chain c = chain_from(self->buf, self->bs, self->scratch, i);

		self->scratch[0] = i;
		self->scratch[1] = 0;
		ASSERT_EQ(NBLOCKS - i, run_chain(&self->ring, &c)) TH_LOG("start %d", i);
		ASSERT_EQ(1000 + NBLOCKS - 1 + i, self->scratch[1]);
	}
}

TEST_F(chain, many_in_flight)
{
	struct io_uring_cqe *cqe;
	int i, n = 0, seen = 0;

	for (i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		if (!sqe)
			break;
		io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, 0, (char *)self->buf, self->bs,
				 (__u64)((i * 8 * 37 + 11) % NBLOCKS) * self->bs);
		sqe->flags = IOSQE_FIXED_FILE;
		sqe->bpf_chain_prog = 0;
		sqe->user_data = NBLOCKS - i * 8;
		n++;
	}
	ASSERT_LE(0, io_uring_submit(&self->ring));
	while (seen < n) {
		ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
		EXPECT_EQ((int)cqe->user_data, cqe->res);
		io_uring_cqe_seen(&self->ring, cqe);
		seen++;
	}
}

TEST_F(chain, issued_from_io_wq)
{
	struct chain c = chain_from(self->buf, self->bs, self->scratch, 0);
	long hops = ring_hops(&self->ring);

	/* IOSQE_ASYNC: issued by an io-wq worker, the hops in either tier */
	c.sqe_flags |= IOSQE_ASYNC;
	EXPECT_EQ(NBLOCKS, run_chain(&self->ring, &c));
	EXPECT_EQ(hops + NBLOCKS, ring_hops(&self->ring));
	EXPECT_EQ(1000 + NBLOCKS - 1 + 7, self->scratch[1]);
}

TEST_F(chain, registered_buffer)
{
	struct chain c = chain_from(self->buf, self->bs, self->scratch, 0);
	struct iovec iov = { .iov_base = self->buf, .iov_len = 8192 };
	__u64 next;

	ASSERT_EQ(0, io_uring_register_buffers(&self->ring, &iov, 1));
	memset(self->buf, 0, 8192);
	c.flags = IORING_BPF_CHAIN_FIXED_BUF;
	c.buf = (char *)self->buf + 4096;
	EXPECT_EQ(NBLOCKS, run_chain(&self->ring, &c));
	memcpy(&next, (char *)self->buf + 4096, sizeof(next));
	EXPECT_EQ(END, next) TH_LOG("the last block, in the registered buffer");
	EXPECT_EQ(1000 + NBLOCKS - 1 + 7, self->scratch[1]);

	c.buf = (char *)self->buf + 8192;
	EXPECT_EQ(-EFAULT, run_chain(&self->ring, &c)) TH_LOG("past the buffer");
	c.buf = self->buf;
	c.buf_index = 1;
	EXPECT_EQ(-EFAULT, run_chain(&self->ring, &c)) TH_LOG("no such buffer");
	c.flags = 0;
	EXPECT_EQ(-EINVAL, run_chain(&self->ring, &c)) TH_LOG("buf_index, no flag");
}

TEST_F(chain, forced_generic_tier)
{
	struct chain c = chain_from(self->buf, self->bs, self->scratch, NBLOCKS - 3);
	long generic = ring_counter(&self->ring, "BpfChainHopsGeneric");
	long driver = ring_counter(&self->ring, "BpfChainHopsDriver");

	c.flags = IORING_BPF_CHAIN_GENERIC;
	EXPECT_EQ(3, run_chain(&self->ring, &c));
	EXPECT_EQ(generic + 3, ring_counter(&self->ring, "BpfChainHopsGeneric"));
	EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
}

TEST_F(chain, bad_sqes)
{
	struct chain c;

	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.sqe_flags = 0;
	EXPECT_EQ(-EBADF, run_chain(&self->ring, &c)) TH_LOG("not a fixed file");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.fixed = 1;
	EXPECT_EQ(-EBADF, run_chain(&self->ring, &c)) TH_LOG("empty file slot");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.fixed = 2;
	EXPECT_EQ(-EBADF, run_chain(&self->ring, &c)) TH_LOG("file not open for reading");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.slot = 2;
	EXPECT_EQ(-ENOENT, run_chain(&self->ring, &c)) TH_LOG("empty program slot");
	c.slot = 3;
	EXPECT_EQ(-ENOENT, run_chain(&self->ring, &c)) TH_LOG("program slot out of range");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.off += 100;
	EXPECT_EQ(-EINVAL, run_chain(&self->ring, &c)) TH_LOG("misaligned offset");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.buf = (char *)self->buf + 8;
	EXPECT_EQ(-EINVAL, run_chain(&self->ring, &c)) TH_LOG("misaligned buffer");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.len = 1000;
	EXPECT_EQ(-EINVAL, run_chain(&self->ring, &c)) TH_LOG("block length");
	c.len = 8192;
	EXPECT_EQ(-EINVAL, run_chain(&self->ring, &c)) TH_LOG("block longer than a page");
	c.len = 0;
	EXPECT_EQ(-EINVAL, run_chain(&self->ring, &c)) TH_LOG("empty block");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.flags = 1U << 7;
	EXPECT_EQ(-EINVAL, run_chain(&self->ring, &c)) TH_LOG("unknown flag");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.scratch_len = BPF_IO_CHAIN_SCRATCH_SIZE + 8;
	EXPECT_EQ(-EINVAL, run_chain(&self->ring, &c)) TH_LOG("scratch too long");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.scratch = (void *)8;
	EXPECT_EQ(-EFAULT, run_chain(&self->ring, &c)) TH_LOG("bad scratch pointer");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.off = self->size;
	EXPECT_EQ(-ERANGE, run_chain(&self->ring, &c)) TH_LOG("first block past EOF");
	c.off = -4096ULL;
	EXPECT_EQ(-ERANGE, run_chain(&self->ring, &c)) TH_LOG("first block wraps");
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	c.slot = 1;
	EXPECT_EQ(-EUCLEAN, run_chain(&self->ring, &c)) TH_LOG("program's own error");
}

/* Rewrites block @blk's link; the chain from the head must then fail. */
static int relink(const char *path, int bs, int blk, __u64 next)
{
	int fd = open(path, O_WRONLY);
	int ret;

	if (fd < 0)
		return -1;
	ret = pwrite(fd, &next, 8, (off_t)blk * bs) == 8 ? fsync(fd) : -1;
	close(fd);
	return ret;
}

TEST_F(chain, bad_next_offsets)
{
	struct chain c = chain_from(self->buf, self->bs, self->scratch, 0);
	int head = 11;	/* order[0] */
	long hops;

	ASSERT_EQ(0, relink(self->path, self->bs, head, self->size));
	EXPECT_EQ(-ERANGE, run_chain(&self->ring, &c)) TH_LOG("next block past EOF");
	ASSERT_EQ(0, relink(self->path, self->bs, head, END - 4095));
	EXPECT_EQ(-ERANGE, run_chain(&self->ring, &c)) TH_LOG("offset + len wraps");
	ASSERT_EQ(0, relink(self->path, self->bs, head, 512 * 3 + 8));
	EXPECT_EQ(-EINVAL, run_chain(&self->ring, &c)) TH_LOG("misaligned next block");
	ASSERT_EQ(0, relink(self->path, self->bs, head, (__u64)head * self->bs));
	hops = ring_hops(&self->ring);
	EXPECT_EQ(-ELOOP, run_chain(&self->ring, &c)) TH_LOG("block links to itself");
	/* the default limit: 256 hops, then the chain stops */
	EXPECT_EQ(hops + 256, ring_hops(&self->ring));
}

TEST_F(chain, cancel)
{
	struct chain c = chain_from(self->buf, self->bs, self->scratch, 0);
	int head = 11, chain_res = 1, cancel_res = 1, i;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	long hops;

	/*
	 * An asynchronous first read (direct, or the driver tier) returns to
	 * the submitter, which issues the cancel before it looks at another
	 * CQE: the chain cannot end first if its limit is more hops than the
	 * device can read meanwhile.  Cached reads walk 32 hops inline and
	 * the rest in io-wq, possibly before the cancel is issued, so those
	 * keep the default of 256.
	 */
	if (variant->o_direct || variant->driver) {
		ASSERT_EQ(0, unregister_progs(&self->ring));
		ASSERT_EQ(0, register_progs(&self->ring, self->progs, 3, 65536));
	}
	/* a first chain sets up what the file's tier needs (a block map) */
	ASSERT_EQ(NBLOCKS, run_chain(&self->ring, &c));
	hops = ring_hops(&self->ring);
	/* a block that links to itself: it goes on until the limit */
	ASSERT_EQ(0, relink(self->path, self->bs, head, (__u64)head * self->bs));
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, 0, self->buf, self->bs,
			 (__u64)head * self->bs);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	ASSERT_LE(0, io_uring_submit(&self->ring));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
		if (cqe->user_data == 1)
			chain_res = cqe->res;
		else
			cancel_res = cqe->res;
		io_uring_cqe_seen(&self->ring, cqe);
	}
	if (variant->o_direct || variant->driver) {
		/*
		 * The first read is asynchronous: the cancel finds the chain,
		 * or its worker running it in io-wq (-EALREADY: a file whose
		 * block map must be built again first, as on xfs after the
		 * write above), and the chain ends.
		 */
		EXPECT_EQ(-ECANCELED, chain_res);
		EXPECT_TRUE(cancel_res >= 0 || cancel_res == -EALREADY)
			TH_LOG("cancel %d", cancel_res);
		EXPECT_GT(hops + 65536, ring_hops(&self->ring));
	} else {
		/* cached reads can finish the chain before the cancel runs */
		EXPECT_TRUE(chain_res == -ELOOP || chain_res == -ECANCELED)
			TH_LOG("chain %d", chain_res);
		EXPECT_TRUE(cancel_res == -ENOENT || cancel_res == -EALREADY ||
			    cancel_res >= 0) TH_LOG("cancel %d", cancel_res);
	}
}

/* io_uring/bpf_chain.c's IO_BPF_CHAIN_INLINE_HOPS */
#define INLINE_HOPS	32

/*
 * A chain reads at most INLINE_HOPS hops in a row from the submitting
 * system call and from task_work; io-wq reads the rest.  The ring's only
 * bounded io-wq worker is first held by an open of a FIFO that has no
 * writer (IORING_OP_OPENAT with IOSQE_ASYNC, bounded work like the
 * chain's), so the chain waits for it with exactly INLINE_HOPS hops read
 * while its submitter is back in user space; opening the FIFO's other
 * end lets io-wq read the rest.  Without the limit the chain ends inside
 * io_uring_submit() (cached variants) or in the task_work that the waits
 * below run, and its CQE comes first.  tmpfs files cannot be read
 * without blocking: io-wq reads all their hops, from the first.
 */
TEST_F(chain, submitter_returns_during_a_long_chain)
{
	struct chain c = chain_from(self->buf, self->bs, self->scratch, 0);
	unsigned int workers[2] = { 1, 0 };	/* bounded, unbounded: as is */
	int inline_hops = variant->iowq_only ? 0 : INLINE_HOPS;
	struct __kernel_timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	int wfd, i, res[3] = { 0, -1, 1 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	long hops, limits;
	char fifo[64];

	/* before io-wq has a worker: it never has more than one */
	ASSERT_EQ(0, io_uring_register_iowq_max_workers(&self->ring, workers));
	c.flags = IORING_BPF_CHAIN_GENERIC;
	/* a first chain caches the blocks of the buffered variants */
	ASSERT_EQ(NBLOCKS, run_chain(&self->ring, &c));
	snprintf(fifo, sizeof(fifo), "/tmp/bpf_chain_fifo.%d", getpid());
	unlink(fifo);
	ASSERT_EQ(0, mkfifo(fifo, 0600)) TH_LOG("%s: %s", fifo, strerror(errno));
	hops = ring_counter(&self->ring, "BpfChainHopsGeneric");
	limits = ring_counter(&self->ring, "BpfChainInlineLimits");
	ASSERT_LE(0, limits) TH_LOG("no BpfChainInlineLimits in fdinfo");

	self->scratch[1] = 0;
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, fifo, O_RDONLY, 0);
	sqe->flags = IOSQE_ASYNC;
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, 0, self->buf, self->bs, c.off);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->bpf_chain_flags = IORING_BPF_CHAIN_GENERIC;
	sqe->bpf_chain_scratch = (uintptr_t)self->scratch;
	sqe->bpf_chain_scratch_len = 16;
	sqe->user_data = 2;
	ASSERT_LE(0, io_uring_submit(&self->ring));
	/* the waits run the chain's task_work: a bound, not a timing */
	for (i = 0; i < 1000 && inline_hops; i++) {
		if (ring_counter(&self->ring, "BpfChainInlineLimits") != limits)
			break;
		ASSERT_EQ(-ETIME, io_uring_wait_cqe_timeout(&self->ring, &cqe, &ts))
			TH_LOG("CQE %llu (%d) while the worker is held",
			       (unsigned long long)cqe->user_data, cqe->res);
	}
	ASSERT_EQ(limits + !!inline_hops, ring_counter(&self->ring, "BpfChainInlineLimits"));
	EXPECT_EQ(hops + inline_hops, ring_counter(&self->ring, "BpfChainHopsGeneric"));
	EXPECT_EQ(-EAGAIN, io_uring_peek_cqe(&self->ring, &cqe));

	/* a reader is there, or on its way: this open waits for it */
	wfd = open(fifo, O_WRONLY);
	ASSERT_LE(0, wfd);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
		ASSERT_GT(3, cqe->user_data);
		res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(&self->ring, cqe);
	}
	EXPECT_LE(0, res[1]) TH_LOG("open of the FIFO: %s", strerror(-res[1]));
	EXPECT_EQ(NBLOCKS, res[2]);
	EXPECT_EQ(1000 + NBLOCKS - 1 + 7, self->scratch[1]);
	EXPECT_EQ(hops + NBLOCKS, ring_counter(&self->ring, "BpfChainHopsGeneric"));
	EXPECT_EQ(limits + !!inline_hops, ring_counter(&self->ring, "BpfChainInlineLimits"));
	if (res[1] >= 0)
		close(res[1]);
	close(wfd);
	unlink(fifo);
}

TEST_F(chain, hop_limit)
{
	struct chain c = chain_from(self->buf, self->bs, self->scratch, 0);

	ASSERT_EQ(0, unregister_progs(&self->ring));
	ASSERT_EQ(0, register_progs(&self->ring, self->progs, 3, NBLOCKS - 1));
	EXPECT_EQ(-ELOOP, run_chain(&self->ring, &c));
	c = chain_from(self->buf, self->bs, self->scratch, 1);
	EXPECT_EQ(NBLOCKS - 1, run_chain(&self->ring, &c));
}

TEST_F(chain, registration)
{
	int sock = prog_load(BPF_PROG_TYPE_SOCKET_FILTER, socket_filter, ARRAY_SIZE(socket_filter));
	struct io_uring_bpf_chain_reg reg = { .nr = 1 };
	struct chain c = chain_from(self->buf, self->bs, self->scratch, NBLOCKS - 1);
	int fds[2];

	ASSERT_LE(0, sock);
	EXPECT_EQ(-EBUSY, register_progs(&self->ring, self->progs, 3, 0));
	EXPECT_EQ(0, unregister_progs(&self->ring));
	EXPECT_EQ(-ENXIO, unregister_progs(&self->ring));
	EXPECT_EQ(-ENOENT, run_chain(&self->ring, &c)) TH_LOG("no table");
	EXPECT_EQ(-ENXIO, update_progs(&self->ring, 0, self->progs, 1));

	fds[0] = sock;
	EXPECT_EQ(-EINVAL, register_progs(&self->ring, fds, 1, 0)) TH_LOG("wrong type");
	fds[0] = 12345;
	EXPECT_EQ(-EBADF, register_progs(&self->ring, fds, 1, 0)) TH_LOG("not an fd");
	EXPECT_EQ(-EINVAL, register_progs(&self->ring, self->progs, 0, 0)) TH_LOG("empty");
	EXPECT_EQ(-EINVAL, register_progs(&self->ring, self->progs, 3, 1 << 20)) TH_LOG("hops");
	EXPECT_EQ(-EFAULT, register_progs(&self->ring, (int *)8, 3, 0));
	reg.prog_fds = (uintptr_t)self->progs;
	reg.resv[1] = 1;
	EXPECT_EQ(-1, syscall(__NR_io_uring_register, self->ring.ring_fd,
			      IORING_REGISTER_BPF_CHAIN, &reg, 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("reserved field");

	/* sparse table: slot 1 only, then updated */
	fds[0] = -1;
	fds[1] = self->progs[0];
	ASSERT_EQ(0, register_progs(&self->ring, fds, 2, 0));
	EXPECT_EQ(-ENOENT, run_chain(&self->ring, &c));
	c.slot = 1;
	EXPECT_EQ(1, run_chain(&self->ring, &c));
	EXPECT_EQ(0, update_progs(&self->ring, 1, &self->progs[1], 1));
	EXPECT_EQ(-EUCLEAN, run_chain(&self->ring, &c)) TH_LOG("replaced program");
	EXPECT_EQ(0, update_progs(&self->ring, 0, self->progs, 1));
	c.slot = 0;
	EXPECT_EQ(1, run_chain(&self->ring, &c));
	EXPECT_EQ(-EINVAL, update_progs(&self->ring, 1, self->progs, 2)) TH_LOG("past the end");
	EXPECT_EQ(-EINVAL, update_progs(&self->ring, 0, &sock, 1)) TH_LOG("wrong type");
	fds[0] = -1;
	EXPECT_EQ(0, update_progs(&self->ring, 0, fds, 1));
	EXPECT_EQ(-ENOENT, run_chain(&self->ring, &c)) TH_LOG("cleared slot");
	close(sock);
}

TEST_F(chain, unregister_and_exit_with_chains_in_flight)
{
	int i, n = 0;

	for (i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		if (!sqe)
			break;
		io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, 0, self->buf, self->bs,
				 (__u64)11 * self->bs);
		sqe->flags = IOSQE_FIXED_FILE;
		n++;
	}
	ASSERT_LE(0, io_uring_submit(&self->ring));
	/* the programs stay alive for the chains that use them */
	EXPECT_EQ(0, unregister_progs(&self->ring));
	/* teardown (FIXTURE_TEARDOWN) with the chains still running */
}

/*
 * What a user without privileges can do.  Loading an IO_CHAIN program
 * needs CAP_BPF (CAP_SYS_ADMIN), like every program type that is not a
 * socket filter; a program fd, once loaded, is a capability: whoever holds
 * it may register it with a ring.  A chain reads only through a file the
 * user opened for reading, so it reads nothing the user could not read
 * with pread(2).  The steps run in a child that is nobody, with no
 * capability; its exit code says which step failed.
 */
static int unprivileged_steps(const char *path, const char *secret, int prog,
			      int wfd, int o_direct, int bs)
{
	const struct bpf_insn done[] = {
		BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
		BPF_EXIT_INSN(),
	};
	__u64 scratch[2] = { 7, 0 };
	struct io_uring ring;
	struct chain c;
	int fds[2];
	void *buf;

	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 10;
	if (prog_load(BPF_PROG_TYPE_IO_CHAIN, done, ARRAY_SIZE(done)) != -1 || errno != EPERM)
		return 11;	/* loaded a program */
	if (open(secret, O_RDONLY) != -1 || errno != EACCES)
		return 12;	/* opened a file it may not read */
	fds[0] = open(path, O_RDONLY | (o_direct ? O_DIRECT : 0));
	fds[1] = wfd;
	if (fds[0] < 0 || posix_memalign(&buf, 4096, 8192))
		return 13;
	if (io_uring_queue_init(4, &ring, 0))
		return 14;
	if (io_uring_register_files(&ring, fds, 2))
		return 18;
	if (register_progs(&ring, &prog, 1, 0))
		return 15;	/* could not register a program fd it was given */
	c = chain_from(buf, bs, scratch, 0);
	if (run_chain(&ring, &c) != NBLOCKS || scratch[1] != 1000 + NBLOCKS - 1 + 7)
		return 16;	/* no right answer from its read-only file */
	c.fixed = 1;
	if (run_chain(&ring, &c) != -EBADF)
		return 17;	/* read through a descriptor open for writing only */
	io_uring_queue_exit(&ring);
	return 0;
}

TEST_F(chain, unprivileged_user)
{
	char secret[300];
	int status, fd, wfd;
	pid_t pid;

	if (getuid() != 0)
		SKIP(return, "needs root to drop privileges");
	snprintf(secret, sizeof(secret), "%s.secret", self->path);
	fd = open(secret, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, chmod(self->path, 0644));
	/* a descriptor it is given, open for writing only */
	wfd = open(self->path, O_WRONLY);
	ASSERT_LE(0, wfd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(unprivileged_steps(self->path, secret, self->progs[0], wfd,
					 variant->o_direct, self->bs));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	close(wfd);
	unlink(secret);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("step %d failed", WEXITSTATUS(status));
}

/*
 * A bounded fuzzer of the opcode's SQE and of the registration calls: every
 * field gets edge and random values (BPFCHAIN_FUZZ_ITERS SQEs per variant,
 * BPFCHAIN_FUZZ_SEED to replay).  Each SQE must complete once, with a
 * documented errno or a result; an SQE that is a valid chain over the list
 * must give exactly the right answer.  IOSQE_CQE_SKIP_SUCCESS is left out:
 * a chain that succeeds would post nothing to wait for.
 */
static __u64 fuzz_next(__u64 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#define FUZZ_END	0x5eed5eed5eed5eedULL

/* Mostly v[0] (a valid value); else another of v (up to FUZZ_END), or anything. */
static __u64 fuzz_pick(__u64 *x, const __u64 *v)
{
	__u64 r = fuzz_next(x);
	unsigned int n = 0;

	if (r % 8)
		return v[0];
	if (r % 16 == 8)
		return fuzz_next(x);
	while (v[n] != FUZZ_END)
		n++;
	return v[fuzz_next(x) % n];
}

#define FUZZ_PICK(x, ...) fuzz_pick(x, (const __u64[]){ __VA_ARGS__, FUZZ_END })

static bool fuzz_errno_ok(int res)
{
	switch (-res) {
	case EBADF: case ENOENT: case EFAULT: case EINVAL: case ERANGE:
	case ELOOP: case ECANCELED: case EOPNOTSUPP:
	/* the programs' own: a short block, fails_euclean */
	case EBADMSG: case EUCLEAN:
		return true;
	}
	return false;
}

TEST_F_TIMEOUT(chain, fuzz_sqes_and_registration, 600)
{
	long iters = fuzz_env("BPFCHAIN_FUZZ_ITERS", 1500);
	__u64 x = fuzz_env("BPFCHAIN_FUZZ_SEED", 0), seed;
	int checked = 0, results = 0, errs[160] = { 0 }, i, k, res, sock;
	const __u64 bs = self->bs, size = self->size;
	struct io_uring_bpf_chain_reg reg;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_sec = 30 };
	struct io_uring other;
	char line[400];
	struct chain c;
	int fds[4];

	if (!x)
		ASSERT_EQ(8, getrandom(&x, 8, 0));
	x |= 1;
	seed = x;
	/* first, so that a run that dies can be replayed (BPFCHAIN_FUZZ_SEED) */
	TH_LOG("seed %#llx", (long long)seed);
	for (i = 0; i < iters; i++) {
		bool canonical;
		__u8 flags;

		k = fuzz_next(&x) % NBLOCKS;
		sqe = io_uring_get_sqe(&self->ring);
		ASSERT_NE(NULL, sqe);
		memset(sqe, 0, sizeof(*sqe));
		sqe->opcode = IORING_OP_BPF_CHAIN;
		flags = FUZZ_PICK(&x, IOSQE_FIXED_FILE, IOSQE_FIXED_FILE | IOSQE_ASYNC,
				  IOSQE_FIXED_FILE | IOSQE_IO_DRAIN,
				  IOSQE_FIXED_FILE | IOSQE_IO_LINK,
				  IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT, 0, 1U << 7);
		sqe->flags = flags & ~IOSQE_CQE_SKIP_SUCCESS;
		sqe->fd = FUZZ_PICK(&x, 0, 0, 0, 1, 2, 3, -1, self->fd, self->ring.ring_fd);
		sqe->off = FUZZ_PICK(&x, ((k * 37 + 11) % NBLOCKS) * bs, k * bs, size, size - bs,
				     -bs, 1ULL << 63, k * 512, 1);
		sqe->addr = FUZZ_PICK(&x, (uintptr_t)self->buf, (uintptr_t)self->buf,
				      (uintptr_t)self->buf + 8, (uintptr_t)self->buf + 4096, 0, 8,
				      0xffff888000000000ULL, -4096ULL);
		sqe->len = FUZZ_PICK(&x, bs, bs, 512, 4096, 0, 8192, 1000, ~0U);
		sqe->bpf_chain_flags = FUZZ_PICK(&x, 0, 0, IORING_BPF_CHAIN_GENERIC,
						 IORING_BPF_CHAIN_FIXED_BUF, 3,
						 1U << (fuzz_next(&x) % 32), ~0U);
		sqe->bpf_chain_scratch = FUZZ_PICK(&x, (uintptr_t)self->scratch,
						   (uintptr_t)self->scratch, 0, 8,
						   0xffff888000000000ULL);
		sqe->bpf_chain_scratch_len = FUZZ_PICK(&x, 16, 16, 0, 8, 512, 513, ~0U);
		sqe->bpf_chain_prog = FUZZ_PICK(&x, 0, 0, 0, 1, 2, 3, ~0U);
		sqe->buf_index = FUZZ_PICK(&x, 0, 1, 0xffff);
		sqe->ioprio = FUZZ_PICK(&x, 0, 1, 0xffff);
		sqe->splice_fd_in = FUZZ_PICK(&x, 0, 1, -1);
		sqe->personality = FUZZ_PICK(&x, 0, 1, 0xffff);
		sqe->user_data = i;
		canonical = (sqe->flags & ~(IOSQE_ASYNC | IOSQE_IO_DRAIN | IOSQE_IO_LINK)) ==
			    IOSQE_FIXED_FILE && sqe->fd == 0 &&
			    sqe->off < size && sqe->off % bs == 0 &&
			    sqe->addr == (uintptr_t)self->buf && sqe->len == bs &&
			    (sqe->bpf_chain_flags & ~IORING_BPF_CHAIN_GENERIC) == 0 &&
			    sqe->bpf_chain_scratch == (uintptr_t)self->scratch &&
			    sqe->bpf_chain_scratch_len >= 16 &&
			    sqe->bpf_chain_scratch_len <= BPF_IO_CHAIN_SCRATCH_SIZE &&
			    sqe->bpf_chain_prog == 0 &&
			    !sqe->buf_index && !sqe->ioprio && !sqe->splice_fd_in &&
			    !sqe->personality;
		self->scratch[0] = 7;
		ASSERT_LE(0, io_uring_submit(&self->ring));
		ASSERT_EQ(0, io_uring_wait_cqe_timeout(&self->ring, &cqe, &ts))
			TH_LOG("seed %#llx, SQE %d: no completion", (long long)seed, i);
		ASSERT_EQ(i, cqe->user_data);
		res = cqe->res;
		io_uring_cqe_seen(&self->ring, cqe);
		if (res >= 0) {
			results++;
		} else {
			EXPECT_TRUE(fuzz_errno_ok(res))
				TH_LOG("seed %#llx, SQE %d: %d (%s)", (long long)seed, i, res,
				       strerror(-res));
			errs[-res < 160 ? -res : 0]++;
		}
		if (canonical) {
			/* the list element at this offset: NBLOCKS - its index hops */
			int idx;

			for (idx = 0; ((idx * 37 + 11) % NBLOCKS) * bs != sqe->off; idx++)
				;
			checked++;
			EXPECT_EQ(NBLOCKS - idx, res)
				TH_LOG("seed %#llx, SQE %d at %llu", (long long)seed, i,
				       (unsigned long long)sqe->off);
			EXPECT_EQ(1000 + NBLOCKS - 1 + 7, self->scratch[1]);
		}
		if (_metadata->exit_code)
			break;
	}
	snprintf(line, sizeof(line),
		 "stats: %s%s, ring flags %#x: %d SQEs (seed %#llx): %d results, %d answers checked;",
		 variant->dir, variant->loop ? " (loop)" : "", variant->ring_flags, i,
		 (long long)seed, results, checked);
	for (k = 1; k < 160; k++)
		if (errs[k])
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s %d",
				 strerror(k), errs[k]);
	TH_LOG("%s", line);
	EXPECT_LT(0, checked);

	/* registration calls on a second ring, then one that must work */
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_LE(0, sock);
	ASSERT_EQ(0, io_uring_queue_init(4, &other, 0));
	for (i = 0; i < iters / 4; i++) {
		static const int ops[] = { IORING_REGISTER_BPF_CHAIN,
			IORING_UNREGISTER_BPF_CHAIN, IORING_REGISTER_BPF_CHAIN_UPDATE };
		int op = ops[fuzz_next(&x) % ARRAY_SIZE(ops)];
		struct io_uring_bpf_chain_update up;
		void *arg = &reg;

		for (k = 0; k < 4; k++)
			fds[k] = FUZZ_PICK(&x, self->progs[0], self->progs[1], -1, sock,
					   other.ring_fd, 12345, -2);
		memset(&reg, 0, sizeof(reg));
		reg.prog_fds = FUZZ_PICK(&x, (uintptr_t)fds, (uintptr_t)fds, 0, 8);
		reg.nr = FUZZ_PICK(&x, 1, 2, 4, 0, 1 << 20);
		reg.max_hops = FUZZ_PICK(&x, 0, 0, 1, 256, 1 << 16, 1 << 20);
		if (fuzz_next(&x) % 16 == 0)
			reg.resv[fuzz_next(&x) % 2] = fuzz_next(&x);
		if (op == IORING_REGISTER_BPF_CHAIN_UPDATE) {
			up = (struct io_uring_bpf_chain_update) {
				.offset = FUZZ_PICK(&x, 0, 1, 3, ~0U),
				.nr = FUZZ_PICK(&x, 1, 2, 4, 0, ~0U),
				.prog_fds = FUZZ_PICK(&x, (uintptr_t)fds, (uintptr_t)fds, 0),
			};
			arg = &up;
		}
		if (fuzz_next(&x) % 16 == 0)
			arg = NULL;
		res = syscall(__NR_io_uring_register, other.ring_fd, op, arg,
			      (unsigned int)FUZZ_PICK(&x, 1, 1, 0, 2)) ? -errno : 0;
		switch (-res) {
		case 0: case EINVAL: case EFAULT: case EBADF: case EBUSY: case ENXIO:
		case ENOMEM: case EOVERFLOW:
			break;
		default:
			EXPECT_EQ(0, res) TH_LOG("seed %#llx, register op %d", (long long)seed, op);
		}
	}
	unregister_progs(&other);
	ASSERT_EQ(0, io_uring_register_files(&other, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&other, self->progs, 2, 0));
	c = chain_from(self->buf, self->bs, self->scratch, 0);
	EXPECT_EQ(NBLOCKS, run_chain(&other, &c));
	io_uring_queue_exit(&other);
	close(sock);
}

TEST_HARNESS_MAIN
