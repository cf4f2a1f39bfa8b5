// SPDX-License-Identifier: GPL-2.0
/*
 * IORING_OP_BPF_CHAIN: registration, chains over linked blocks on every
 * kind of file the guest has, and every error the opcode documents; the
 * NVMe driver tier; and hardening: a fuzzer, stress, hostile programs,
 * faults injected mid-chain and an unprivileged user.  Each chain's hops
 * are counted in the ring's fdinfo, and the tests check those counters, so
 * a chain that did not run in the kernel cannot pass.
 *
 * Variants use the mount points of the bpfchain test guest (/mnt/nvme:
 * ext4 on NVMe, /mnt/nvme-xfs, /mnt/vblk: ext4 on virtio-blk, a second
 * NVMe controller for faults) and skip where they are missing; /tmp is
 * always tested.
 *
 * The files are lists of blocks: each block starts with the offset of the
 * next one (~0 ends the list) and a value.  The program walks the list and
 * returns hop + 1; it leaves value + scratch[0] in scratch[1].
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/blkzoned.h>
#include <linux/bpf.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/filter.h>
#include <linux/loop.h>
#include <linux/stddef.h>
#include <linux/io_uring.h>	/* the patched one, before liburing's copy */
#include <liburing.h>

#include "kselftest_harness.h"

#define CTX(f)		offsetof(struct bpf_io_chain, f)
#define END		(~0ULL)

static int prog_load(enum bpf_prog_type type, const struct bpf_insn *insns, size_t cnt)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = cnt;
	attr.license = (uintptr_t)"GPL";
	return syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

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

static int register_progs(struct io_uring *ring, const int *fds, unsigned int nr,
			  unsigned int max_hops)
{
	struct io_uring_bpf_chain_reg reg = {
		.prog_fds = (uintptr_t)fds, .nr = nr, .max_hops = max_hops,
	};

	return syscall(__NR_io_uring_register, ring->ring_fd,
		       IORING_REGISTER_BPF_CHAIN, &reg, 1) ? -errno : 0;
}

static int update_progs(struct io_uring *ring, unsigned int offset, const int *fds,
			unsigned int nr)
{
	struct io_uring_bpf_chain_update up = {
		.offset = offset, .nr = nr, .prog_fds = (uintptr_t)fds,
	};

	return syscall(__NR_io_uring_register, ring->ring_fd,
		       IORING_REGISTER_BPF_CHAIN_UPDATE, &up, 1) ? -errno : 0;
}

static int unregister_progs(struct io_uring *ring)
{
	return syscall(__NR_io_uring_register, ring->ring_fd,
		       IORING_UNREGISTER_BPF_CHAIN, NULL, 0) ? -errno : 0;
}

/* The ring's fdinfo line for @key ("Key:\t..."), false when absent. */
static bool fdinfo_line(struct io_uring *ring, const char *key, char *line, int size)
{
	size_t n = strlen(key);
	bool found = false;
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ring->ring_fd);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, size, f))
		found = !strncmp(line, key, n) && line[n] == ':';
	fclose(f);
	return found;
}

/* One fdinfo counter of the ring, -1 when absent. */
static long ring_counter(struct io_uring *ring, const char *key)
{
	char line[256];

	if (!fdinfo_line(ring, key, line, sizeof(line)))
		return -1;
	return strtol(line + strlen(key) + 1, NULL, 10);
}

/* One name=value field of an fdinfo line, -1 when absent. */
static long ring_field(struct io_uring *ring, const char *key, const char *name)
{
	char line[256], *at;

	if (!fdinfo_line(ring, key, line, sizeof(line)))
		return -1;
	at = strstr(line, name);
	if (!at || at[strlen(name)] != '=')
		return -1;
	return strtol(at + strlen(name) + 1, NULL, 10);
}

/* Hops the kernel took, in either tier. */
static long ring_hops(struct io_uring *ring)
{
	return ring_counter(ring, "BpfChainHopsGeneric") +
	       ring_counter(ring, "BpfChainHopsDriver");
}

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
	.dir = "/tmp", .bs = 4096,
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

#define NBLOCKS 64

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

	/* a first chain sets up what the file's tier needs (a block map) */
	ASSERT_EQ(NBLOCKS, run_chain(&self->ring, &c));
	hops = ring_hops(&self->ring);
	/* a block that links to itself: 256 hops unless cancelled */
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
		/* the first read is asynchronous: the cancel finds the chain */
		EXPECT_EQ(-ECANCELED, chain_res);
		EXPECT_LE(0, cancel_res);
		EXPECT_GT(hops + 256, ring_hops(&self->ring));
	} else {
		/* cached reads can finish the chain before the cancel runs */
		EXPECT_TRUE(chain_res == -ELOOP || chain_res == -ECANCELED)
			TH_LOG("chain %d", chain_res);
		EXPECT_TRUE(cancel_res == -ENOENT || cancel_res == -EALREADY ||
			    cancel_res >= 0) TH_LOG("cancel %d", cancel_res);
	}
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

static long fuzz_env(const char *name, long def)
{
	const char *v = getenv(name);

	return v ? strtol(v, NULL, 0) : def;
}

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

/*
 * The driver tier: on NVMe, the driver runs the program when a hop's read
 * completes and sends the next read itself.  These chains use a walker
 * that also checks a tag every block of the file carries: a block of
 * another file (freed and reused) ends the chain with -EXDEV, a hole or a
 * block of zeros with -ENODATA, so a chain that read a block that is no
 * longer the file's cannot pass for an answer.
 */
static const struct bpf_insn tagged_walker[] = {
	BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
	BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, CTX(data_end)),
	BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
	BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 24),
	BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
	BPF_MOV64_IMM(BPF_REG_0, -EBADMSG),
	BPF_EXIT_INSN(),
	/* the block's tag against scratch[2] */
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_2, 16),
	BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(scratch)),
	BPF_LDX_MEM(BPF_DW, BPF_REG_7, BPF_REG_6, 16),
	BPF_JMP_REG(BPF_JEQ, BPF_REG_5, BPF_REG_7, 4),
	BPF_MOV64_IMM(BPF_REG_0, -EXDEV),
	BPF_JMP_IMM(BPF_JNE, BPF_REG_5, 0, 1),
	BPF_MOV64_IMM(BPF_REG_0, -ENODATA),
	BPF_EXIT_INSN(),
	/* then as list_walker */
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_2, 0),
	BPF_JMP_IMM(BPF_JEQ, BPF_REG_5, -1, 3),
	BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_5, CTX(next_offset)),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_NEXT),
	BPF_EXIT_INSN(),
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_2, 8),
	BPF_LDX_MEM(BPF_DW, BPF_REG_7, BPF_REG_6, 0),
	BPF_ALU64_REG(BPF_ADD, BPF_REG_5, BPF_REG_7),
	BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_5, 8),
	BPF_LDX_MEM(BPF_W, BPF_REG_5, BPF_REG_1, CTX(hop)),
	BPF_ALU64_IMM(BPF_ADD, BPF_REG_5, 1),
	BPF_STX_MEM(BPF_W, BPF_REG_1, BPF_REG_5, CTX(result)),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
	BPF_EXIT_INSN(),
};

#define DRV_BS		4096
#define LIST_POS(i)	(((i) * 37 + 11) % NBLOCKS)

FIXTURE(driver) {
	struct io_uring ring;
	int ring_ok;
	char path[256];
	int fd;			/* the chains' file, read only */
	int wfd;		/* the same file, to rewrite it */
	int prog;
	__u64 tag;
	void *blk;
};

FIXTURE_VARIANT(driver) {
	const char *dir;	/* a file there, */
	const char *dev;	/* or this raw partition */
	int o_direct;
	int driver;		/* hops are expected in the driver */
};

FIXTURE_VARIANT_ADD(driver, nvme_ext4) {
	.dir = "/mnt/nvme", .o_direct = 1, .driver = 1,
};

FIXTURE_VARIANT_ADD(driver, nvme_ext4_buffered) {
	.dir = "/mnt/nvme", .driver = 1,
};

FIXTURE_VARIANT_ADD(driver, nvme_xfs) {
	.dir = "/mnt/nvme-xfs", .o_direct = 1, .driver = 1,
};

FIXTURE_VARIANT_ADD(driver, nvme_raw_partition) {
	.dev = "/dev/nvme0n1p3", .o_direct = 1, .driver = 1,
};

FIXTURE_VARIANT_ADD(driver, virtio_ext4) {
	.dir = "/mnt/vblk", .o_direct = 1,
};

/* Write the list element that lives at block @pos of the file. */
static int write_pos(int fd, void *blk, __u64 tag, int pos)
{
	__u64 next, val;
	int i;

	for (i = 0; LIST_POS(i) != pos; i++)
		;
	next = i + 1 < NBLOCKS ? (__u64)LIST_POS(i + 1) * DRV_BS : END;
	val = 1000 + i;
	memset(blk, 0x5a, DRV_BS);
	memcpy(blk, &next, 8);
	memcpy((char *)blk + 8, &val, 8);
	memcpy((char *)blk + 16, &tag, 8);
	return pwrite(fd, blk, DRV_BS, (off_t)pos * DRV_BS) == DRV_BS ? 0 : -1;
}

static int write_all(int fd, void *blk, __u64 tag)
{
	int pos;

	for (pos = 0; pos < NBLOCKS; pos++)
		if (write_pos(fd, blk, tag, pos))
			return -1;
	return 0;
}

FIXTURE_SETUP(driver)
{
	struct io_uring_probe *probe;
	int ret;

	self->fd = -1;
	self->wfd = -1;
	if (access(variant->dev ?: variant->dir, W_OK))
		SKIP(return, "%s: %s", variant->dev ?: variant->dir, strerror(errno));
	ret = io_uring_queue_init(16, &self->ring, 0);
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
	self->prog = prog_load(BPF_PROG_TYPE_IO_CHAIN, tagged_walker,
			       ARRAY_SIZE(tagged_walker));
	if (self->prog < 0 && errno == EPERM)
		SKIP(return, "loading IO_CHAIN programs needs CAP_BPF");
	ASSERT_LE(0, self->prog);
	ASSERT_EQ(8, getrandom(&self->tag, 8, 0));
	self->tag |= 1;
	ASSERT_EQ(0, posix_memalign(&self->blk, 4096, DRV_BS));

	if (variant->dev) {
		snprintf(self->path, sizeof(self->path), "%s", variant->dev);
		self->wfd = open(self->path, O_RDWR | O_DIRECT);
	} else {
		snprintf(self->path, sizeof(self->path), "%s/bpf_chain_driver.%d",
			 variant->dir, getpid());
		self->wfd = open(self->path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	}
	ASSERT_LE(0, self->wfd) TH_LOG("%s: %s", self->path, strerror(errno));
	ASSERT_EQ(0, write_all(self->wfd, self->blk, self->tag));
	ASSERT_EQ(0, fsync(self->wfd));
	self->fd = open(self->path, O_RDONLY | (variant->o_direct ? O_DIRECT : 0));
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, io_uring_register_files(&self->ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&self->ring, &self->prog, 1, 0));
}

FIXTURE_TEARDOWN(driver)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->wfd >= 0)
		close(self->wfd);
	if (self->path[0] && !variant->dev)
		unlink(self->path);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
}

struct drv_chain {
	__u64 scratch[3];
	void *buf;		/* the last block; aligned, as the opcode wants */
	int start;
};

static void drv_prep(struct io_uring_sqe *sqe, struct drv_chain *c, int start, __u64 tag)
{
	/* without a buffer the chain ends with -EFAULT: a failure */
	if (!c->buf && posix_memalign(&c->buf, 4096, DRV_BS))
		c->buf = NULL;
	c->start = start;
	c->scratch[0] = start;
	c->scratch[1] = 0;
	c->scratch[2] = tag;
	io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, 0, c->buf, DRV_BS,
			 (__u64)LIST_POS(start) * DRV_BS);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->bpf_chain_scratch = (uintptr_t)c->scratch;
	sqe->bpf_chain_scratch_len = sizeof(c->scratch);
	sqe->user_data = (uintptr_t)c;
}

/* The right answer for a chain from list element c->start? */
static int drv_correct(const struct drv_chain *c, int res)
{
	return res == NBLOCKS - c->start &&
	       c->scratch[1] == 1000 + NBLOCKS - 1 + (__u64)c->start;
}

static int drv_run(struct io_uring *ring, struct drv_chain *c, int start, __u64 tag)
{
	struct io_uring_cqe *cqe;
	int res;

	drv_prep(io_uring_get_sqe(ring), c, start, tag);
	if (io_uring_submit(ring) < 0 || io_uring_wait_cqe(ring, &cqe))
		return -EPIPE;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

TEST_F(driver, hops_run_in_the_driver)
{
	long generic = ring_counter(&self->ring, "BpfChainHopsGeneric");
	long driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	static struct drv_chain c;
	long want = 0;
	int i;

	ASSERT_LE(0, driver);
	for (i = 0; i < NBLOCKS; i += 7) {
		EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, i, self->tag)))
			TH_LOG("chain from %d: %lld", i, (long long)c.scratch[1]);
		want += NBLOCKS - i;
	}
	/*
	 * On NVMe every block, partition offsets included, was read and
	 * walked by the driver; elsewhere the driver tier never ran.
	 */
	EXPECT_EQ(driver + (variant->driver ? want : 0),
		  ring_counter(&self->ring, "BpfChainHopsDriver"));
	EXPECT_EQ(generic + (variant->driver ? 0 : want),
		  ring_counter(&self->ring, "BpfChainHopsGeneric"));
}

/*
 * Every hop is one read in the block layer's statistics, its sectors
 * counted, in whichever tier it ran: in the rig, nothing else reads the
 * raw partition (no udev).
 */
static int part_reads(const char *dev, long *ios, long *sectors)
{
	char path[128];
	long merges;
	int ok;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/block/%s/stat", strrchr(dev, '/') + 1);
	f = fopen(path, "r");
	if (!f)
		return -1;
	/* reads completed, reads merged, sectors read */
	ok = fscanf(f, "%ld %ld %ld", ios, &merges, sectors) == 3;
	fclose(f);
	return ok ? 0 : -1;
}

TEST_F(driver, hops_count_as_reads_in_iostat)
{
	long reads, sectors, reads2, sectors2;
	long driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	static struct drv_chain c;
	long want = 0;
	int i;

	if (!variant->dev)
		SKIP(return, "a file system may read the disk too");
	ASSERT_EQ(0, part_reads(variant->dev, &reads, &sectors));
	for (i = 0; i < NBLOCKS; i += 9) {
		EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, i, self->tag)));
		want += NBLOCKS - i;
	}
	EXPECT_EQ(driver + want, ring_counter(&self->ring, "BpfChainHopsDriver"));
	ASSERT_EQ(0, part_reads(variant->dev, &reads2, &sectors2));
	EXPECT_EQ(reads + want, reads2);
	EXPECT_EQ(sectors + want * (DRV_BS >> 9), sectors2);
}

/*
 * A file grown far past its data (4 EiB on xfs, 1 TiB on ext4), its
 * data still 256 KiB: building its block map looks at the blocks that
 * can hold data, not at every block of the size.
 */
TEST_F(driver, sparse_file_past_its_data)
{
	long driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	long generic = ring_counter(&self->ring, "BpfChainHopsGeneric");
	static struct drv_chain c;
	long want = 0;
	int i;

	if (variant->dev)
		SKIP(return, "a raw partition has no size to grow");
	/* as truncate(1) would: the writer is gone (xfs trims its preallocation) */
	close(self->wfd);
	self->wfd = open(self->path, O_RDWR);
	ASSERT_LE(0, self->wfd);
	if (ftruncate(self->wfd, 1LL << 62))
		ASSERT_EQ(0, ftruncate(self->wfd, 1LL << 40)) TH_LOG("%s", strerror(errno));
	for (i = 0; i < NBLOCKS; i += 13) {
		EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, i, self->tag)))
			TH_LOG("chain from %d", i);
		want += NBLOCKS - i;
	}
	EXPECT_EQ(driver + (variant->driver ? want : 0),
		  ring_counter(&self->ring, "BpfChainHopsDriver"));
	EXPECT_EQ(generic + (variant->driver ? 0 : want),
		  ring_counter(&self->ring, "BpfChainHopsGeneric"));
}

/* Where the file's first extent is on the device, or 0. */
static __u64 first_physical(int fd)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent fe;
	} m = { .fm = { .fm_length = ~0ULL, .fm_flags = FIEMAP_FLAG_SYNC,
			.fm_extent_count = 1 } };

	if (ioctl(fd, FS_IOC_FIEMAP, &m) || m.fm.fm_mapped_extents < 1)
		return 0;
	return m.fe.fe_physical;
}

/*
 * XFS_IOC_SWAPEXT, what xfs_fsr runs: the file's extents are swapped with
 * a copy's, and the copy's (the file's old blocks) are then rewritten with
 * another tag.  No chain, from this ring or a new one, may read them.
 */
TEST_F(driver, swapped_extents)
{
	long invalidated = ring_field(&self->ring, "BpfChainMaps", "invalidated");
	__u64 other = self->tag ^ 0xf0f0f0f0f0f0f0f0ULL;
	char donor[300], cmd[700];
	static struct drv_chain c;
	struct io_uring ring;
	__u64 before;
	int dfd;

	if (!variant->dir || strcmp(variant->dir, "/mnt/nvme-xfs"))
		SKIP(return, "XFS_IOC_SWAPEXT is xfs's");
	ASSERT_EQ(NBLOCKS, drv_run(&self->ring, &c, 0, self->tag));
	before = first_physical(self->wfd);
	ASSERT_NE(0, before);

	snprintf(donor, sizeof(donor), "%s.donor", self->path);
	dfd = open(donor, O_CREAT | O_TRUNC | O_RDWR, 0600);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, write_all(dfd, self->blk, self->tag));
	ASSERT_EQ(0, fsync(dfd));
	close(dfd);
	snprintf(cmd, sizeof(cmd), "xfs_io -c 'swapext %s' %s", donor, self->path);
	ASSERT_EQ(0, system(cmd)) TH_LOG("%s", cmd);
	/* the file's blocks moved: its old ones are the donor's now */
	EXPECT_NE(before, first_physical(self->wfd));
	dfd = open(donor, O_RDWR | O_DIRECT);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(before, first_physical(dfd));
	ASSERT_EQ(0, write_all(dfd, self->blk, other));
	ASSERT_EQ(0, fsync(dfd));
	close(dfd);

	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	EXPECT_LT(invalidated, ring_field(&self->ring, "BpfChainMaps", "invalidated"));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, io_uring_register_files(&ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
	EXPECT_TRUE(drv_correct(&c, drv_run(&ring, &c, 3, self->tag)));
	EXPECT_LT(0, ring_counter(&ring, "BpfChainHopsDriver"));
	io_uring_queue_exit(&ring);
	unlink(donor);
}

/*
 * Namespaces unlike the lab's (rig/vm-run adds them): 4096-byte LBAs, and
 * zones of 1 MiB.  A hop the device cannot read as one request continued
 * in place (not aligned to the logical block size, across a zone boundary)
 * goes to the generic tier, first hop or not: a chain's answer is the
 * generic tier's, never a block next to the one asked for, never an I/O
 * error from the device, never a split request taken for the chain's own.
 */
/* Write @val to the sysfs or module parameter file @path. */
static int put_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* Reset /sys/class/nvme/@ctrl with @pollq poll queues; wait until live. */
static int reset_with_poll_queues(const char *ctrl, const char *pollq)
{
	const char *param = "/sys/module/nvme/parameters/poll_queues";
	char path[128], old[16] = "", state[16] = "";
	int i, fd, ret;
	FILE *f;

	fd = open(param, O_RDONLY);
	if (fd < 0 || read(fd, old, sizeof(old) - 1) <= 0)
		return -1;
	close(fd);
	/* nvme reads poll_queues whenever it sets a controller's queues up */
	snprintf(path, sizeof(path), "/sys/class/nvme/%s/reset_controller", ctrl);
	ret = put_sysfs(param, pollq) || put_sysfs(path, "1");
	put_sysfs(param, old);
	snprintf(path, sizeof(path), "/sys/class/nvme/%s/state", ctrl);
	for (i = 0; !ret && i < 300; i++) {
		f = fopen(path, "r");
		if (f && fscanf(f, "%15s", state) == 1 && !strcmp(state, "live")) {
			fclose(f);
			return 0;
		}
		if (f)
			fclose(f);
		usleep(100 * 1000);
	}
	return -1;
}

/* The controller of the zoned namespace, by serial, and its io_poll. */
static int zoned_ctrl(char *ctrl, size_t len)
{
	char path[300], serial[64];
	int i, found = 0;
	FILE *f;

	for (i = 0; i < 16 && !found; i++) {
		snprintf(path, sizeof(path), "/sys/class/nvme/nvme%d/serial", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		found = fscanf(f, "%63s", serial) == 1 && !strcmp(serial, "bpfchain-zoned");
		fclose(f);
		if (found)
			snprintf(ctrl, len, "nvme%d", i);
	}
	return found ? 0 : -1;
}

static int zoned_io_poll(const char *ctrl)
{
	char path[128];
	int v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%sn1/queue/io_poll", ctrl);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

#define LIM_ZONE	(1024 * 1024)	/* rig/vm-run's zone size */
#define LIM_SIZE	(3 * LIM_ZONE)

/* the list: 512-byte aligned, across both zone boundaries; 4096 bytes each */
static const __u64 lim_list[] = {
	0, 8192, 12800, LIM_ZONE - 512, 2 * LIM_ZONE - 512, 2 * LIM_ZONE + 8192,
};

#define LIM_N	ARRAY_SIZE(lim_list)

FIXTURE(limits) {
	struct io_uring ring;
	int ring_ok;
	char path[256];
	int fd;
	int prog;
	__u64 tag;
	char *img;
	void *buf;		/* the last block; aligned, as the opcode wants */
};

FIXTURE_VARIANT(limits) {
	const char *dir;	/* a file there, */
	const char *dev;	/* or this raw device */
	int o_direct;
	int zoned;		/* the device is zoned: reset it, write by zone */
	int unaligned;		/* 512-byte aligned is not its LBA size */
};

FIXTURE_VARIANT_ADD(limits, lba4k_raw) {
	.dev = "/dev/bpfchain-4k-raw", .o_direct = 1, .unaligned = 1,
};

FIXTURE_VARIANT_ADD(limits, lba4k_ext4) {
	.dir = "/mnt/nvme-4k", .o_direct = 1, .unaligned = 1,
};

FIXTURE_VARIANT_ADD(limits, lba4k_ext4_buffered) {
	.dir = "/mnt/nvme-4k", .unaligned = 1,
};

FIXTURE_VARIANT_ADD(limits, zoned_raw) {
	.dev = "/dev/bpfchain-zoned", .o_direct = 1, .zoned = 1,
};

FIXTURE_SETUP(limits)
{
	struct blk_zone_range zones = { 0, LIM_SIZE >> 9 };
	unsigned int i;
	__u64 next;
	int wfd;

	self->fd = -1;
	if (access(variant->dev ?: variant->dir, W_OK))
		SKIP(return, "%s: %s (rig/vm-run adds it)", variant->dev ?: variant->dir,
		     strerror(errno));
	ASSERT_EQ(0, io_uring_queue_init(16, &self->ring, 0));
	self->ring_ok = 1;
	self->prog = prog_load(BPF_PROG_TYPE_IO_CHAIN, tagged_walker,
			       ARRAY_SIZE(tagged_walker));
	if (self->prog < 0 && (errno == EPERM || errno == EINVAL))
		SKIP(return, "cannot load IO_CHAIN programs: %s", strerror(errno));
	ASSERT_EQ(8, getrandom(&self->tag, 8, 0));
	self->tag |= 1;
	ASSERT_EQ(0, posix_memalign((void **)&self->img, 4096, LIM_SIZE));
	ASSERT_EQ(0, posix_memalign(&self->buf, 4096, DRV_BS));
	memset(self->img, 0, LIM_SIZE);
	for (i = 0; i < LIM_N; i++) {
		next = i + 1 < LIM_N ? lim_list[i + 1] : END;
		memcpy(self->img + lim_list[i], &next, 8);
		next = 1000 + i;
		memcpy(self->img + lim_list[i] + 8, &next, 8);
		memcpy(self->img + lim_list[i] + 16, &self->tag, 8);
	}

	if (variant->dev) {
		snprintf(self->path, sizeof(self->path), "%s", variant->dev);
		wfd = open(self->path, O_RDWR | O_DIRECT);
	} else {
		snprintf(self->path, sizeof(self->path), "%s/bpf_chain_limits.%d",
			 variant->dir, getpid());
		wfd = open(self->path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	}
	ASSERT_LE(0, wfd) TH_LOG("%s: %s", self->path, strerror(errno));
	if (variant->zoned)
		ASSERT_EQ(0, ioctl(wfd, BLKRESETZONE, &zones)) TH_LOG("%s", strerror(errno));
	/* a zone is written from its start, in order */
	for (i = 0; i < LIM_SIZE / LIM_ZONE; i++)
		ASSERT_EQ(LIM_ZONE, pwrite(wfd, self->img + i * LIM_ZONE, LIM_ZONE,
					   (off_t)i * LIM_ZONE));
	ASSERT_EQ(0, fsync(wfd));
	close(wfd);
	self->fd = open(self->path, O_RDONLY | (variant->o_direct ? O_DIRECT : 0));
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, io_uring_register_files(&self->ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&self->ring, &self->prog, 1, 0));
}

FIXTURE_TEARDOWN(limits)
{
	char ctrl[32];

	/* a failed iopoll_ring_without_poll_queues leaves none: put one back */
	if (variant->zoned && !zoned_ctrl(ctrl, sizeof(ctrl)) && zoned_io_poll(ctrl) == 0)
		reset_with_poll_queues(ctrl, "1");
	if (self->fd >= 0)
		close(self->fd);
	if (self->path[0] && !variant->dev)
		unlink(self->path);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	free(self->img);
	free(self->buf);
}

/* The chain from list element @start, in the tier @flags asks for. */
static int lim_run(struct io_uring *ring, unsigned int start, __u8 flags,
		   __u64 scratch[3], void *buf, __u64 tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	scratch[0] = start;
	scratch[1] = 0;
	scratch[2] = tag;
	io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, 0, buf, DRV_BS, lim_list[start]);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->bpf_chain_flags = flags;
	sqe->bpf_chain_scratch = (uintptr_t)scratch;
	sqe->bpf_chain_scratch_len = 3 * sizeof(__u64);
	if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe))
		return -EPIPE;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

TEST_F(limits, same_answer_as_the_generic_tier)
{
	long driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	long handoffs = ring_field(&self->ring, "BpfChainHandoffs", "boundary");
	__u64 gen[3], drv[3];
	unsigned int start;
	int res_gen, res;

	ASSERT_LE(0, driver);
	ASSERT_LE(0, handoffs);
	/* from the first element, and from the first that crosses a zone */
	for (start = 0; start < LIM_N; start += 3) {
		res_gen = lim_run(&self->ring, start, IORING_BPF_CHAIN_GENERIC, gen,
				  self->buf, self->tag);
		res = lim_run(&self->ring, start, 0, drv, self->buf, self->tag);
		EXPECT_EQ(res_gen, res) TH_LOG("chain from %#llx",
					       (unsigned long long)lim_list[start]);
		EXPECT_EQ(gen[1], drv[1]);
		/* direct reads of 512-byte aligned blocks on 4096-byte LBAs */
		if (variant->unaligned && variant->o_direct) {
			EXPECT_EQ(-EINVAL, res);
		} else {
			EXPECT_EQ((int)(LIM_N - start), res);
			EXPECT_EQ(1000 + LIM_N - 1 + start, drv[1]);
		}
	}
	/*
	 * The driver tier ran (from 0 to 12800, which is aligned to what the
	 * zoned namespace's LBAs are), and handed the rest to the generic tier.
	 */
	EXPECT_LE(driver + 2, ring_counter(&self->ring, "BpfChainHopsDriver"));
	EXPECT_LE(handoffs + 2, ring_field(&self->ring, "BpfChainHandoffs", "boundary"));
}

/*
 * An IOPOLL ring on a controller without poll queues (nvme.poll_queues=0
 * is nvme's default): the device cannot take polled bios, so the generic
 * tier reads every hop.  One block, inside a zone: on an IOPOLL ring the
 * generic tier reads synchronously without waiting, which a read the
 * block layer must split never does, so it would be tried forever.
 */
TEST_F(limits, iopoll_ring_without_poll_queues)
{
	struct io_uring ring;
	char ctrl[32];
	__u64 s[3];

	if (!variant->zoned)
		SKIP(return, "resets only the zoned namespace's controller");
	ASSERT_EQ(0, zoned_ctrl(ctrl, sizeof(ctrl)));
	ASSERT_EQ(0, reset_with_poll_queues(ctrl, "0"));
	EXPECT_EQ(0, zoned_io_poll(ctrl));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, IORING_SETUP_IOPOLL));
	ASSERT_EQ(0, io_uring_register_files(&ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
	EXPECT_EQ(1, lim_run(&ring, LIM_N - 1, 0, s, self->buf, self->tag));
	EXPECT_EQ(1000 + 2 * (LIM_N - 1), s[1]);
	EXPECT_EQ(0, ring_counter(&ring, "BpfChainHopsDriver"));
	EXPECT_EQ(1, ring_counter(&ring, "BpfChainHopsGeneric"));
	io_uring_queue_exit(&ring);
	/* as it was: with poll queues, and the driver tier polled again */
	ASSERT_EQ(0, reset_with_poll_queues(ctrl, "1"));
	EXPECT_EQ(1, zoned_io_poll(ctrl));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, IORING_SETUP_IOPOLL));
	ASSERT_EQ(0, io_uring_register_files(&ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
	EXPECT_EQ(1, lim_run(&ring, LIM_N - 1, 0, s, self->buf, self->tag));
	EXPECT_EQ(1, ring_counter(&ring, "BpfChainHopsDriver"));
	io_uring_queue_exit(&ring);
}

static int fiemap_extents(int fd)
{
	struct fiemap fm = { .fm_length = ~0ULL, .fm_flags = FIEMAP_FLAG_SYNC };

	return ioctl(fd, FS_IOC_FIEMAP, &fm) ? -1 : (int)fm.fm_mapped_extents;
}

TEST_F(driver, several_extents_and_a_changed_layout)
{
	static struct drv_chain c;
	long invalidated, driver;
	int pos, ofd, extents;
	char other[300];

	if (variant->dev)
		SKIP(return, "a raw partition has no extents");
	ASSERT_EQ(NBLOCKS, drv_run(&self->ring, &c, 0, self->tag));
	invalidated = ring_field(&self->ring, "BpfChainMaps", "invalidated");
	ASSERT_LE(0, invalidated);
	/*
	 * Truncate it (the cached map goes stale) and write it again block
	 * by block, interleaved with another file, so that its blocks end up
	 * in several extents.
	 */
	snprintf(other, sizeof(other), "%s.other", self->path);
	ofd = open(other, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ASSERT_LE(0, ofd);
	ASSERT_EQ(0, ftruncate(self->wfd, 0));
	for (pos = 0; pos < NBLOCKS; pos++) {
		ASSERT_EQ(0, write_pos(self->wfd, self->blk, self->tag, pos));
		ASSERT_EQ(0, fsync(self->wfd));
		ASSERT_EQ(0, write_pos(ofd, self->blk, ~self->tag, pos));
		ASSERT_EQ(0, fsync(ofd));
	}
	close(ofd);
	unlink(other);
	extents = fiemap_extents(self->fd);
	ASSERT_LT(1, extents) TH_LOG("the file is not fragmented");

	driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	if (variant->driver) {
		/* the old map went stale and a new one was built */
		EXPECT_LT(invalidated, ring_field(&self->ring, "BpfChainMaps", "invalidated"));
		EXPECT_EQ(driver + NBLOCKS, ring_counter(&self->ring, "BpfChainHopsDriver"))
			TH_LOG("%d extents", extents);
	} else {
		EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
	}
}

/* Rewrites the file under running chains; see layout_changes_race_chains. */
struct drv_writer {
	const char *path;
	int fd;
	void *blk;
	__u64 tag;
	int stop;
	int ops;
	int err;
};

static void *drv_writer(void *arg)
{
	struct drv_writer *w = arg;
	unsigned int seed = 1;
	char noise[300];
	int pos, nfd, i;

	snprintf(noise, sizeof(noise), "%s.noise", w->path);
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		pos = rand_r(&seed) % NBLOCKS;
		switch (w->ops++ % 5) {
		case 0:	/* truncate it all away, write it again */
			if (ftruncate(w->fd, 0) || write_all(w->fd, w->blk, w->tag))
				goto fail;
			break;
		case 1:	/* punch a hole, fill it */
			if (fallocate(w->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				      (off_t)pos * DRV_BS, DRV_BS) ||
			    write_pos(w->fd, w->blk, w->tag, pos))
				goto fail;
			break;
		case 2:	/* shrink to half, grow back */
			if (ftruncate(w->fd, (off_t)NBLOCKS / 2 * DRV_BS))
				goto fail;
			for (i = NBLOCKS / 2; i < NBLOCKS; i++)
				if (write_pos(w->fd, w->blk, w->tag, i))
					goto fail;
			break;
		case 3:	/* another file takes the freed blocks, with its own tag */
			nfd = open(noise, O_CREAT | O_TRUNC | O_WRONLY, 0600);
			if (nfd < 0 || write_all(nfd, w->blk, ~w->tag) || fsync(nfd))
				goto fail;
			close(nfd);
			unlink(noise);
			break;
		case 4:	/* rewrite in place and leave it dirty */
			if (write_pos(w->fd, w->blk, w->tag, pos))
				goto fail;
			continue;
		}
		if (fsync(w->fd))
			goto fail;
		/* let some chains through between changes */
		usleep(5000);
	}
	return NULL;
fail:
	w->err = errno ?: EIO;
	return NULL;
}

#define DRV_RACE_CHAINS	2000
#define DRV_RACE_CHANGES	10
#define DRV_RACE_SECONDS	300
#define DRV_BATCH	8

/*
 * Chains run while another thread truncates, punches, rewrites and
 * re-extends the file, and a third file reuses the freed blocks.  Every
 * chain must give the right answer or say the list changed under it
 * (-ERANGE: a block past the end; -ENODATA: a hole); data from a block the
 * file no longer owns (-EXDEV) or a wrong answer fails the test, and so
 * does any kernel warning in the guest's log.
 */
TEST_F_TIMEOUT(driver, layout_changes_race_chains, 600)
{
	static struct drv_chain c[DRV_BATCH];
	struct drv_writer w = {
		.path = self->path, .fd = self->wfd, .blk = self->blk, .tag = self->tag,
	};
	long driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	long invalidated = ring_field(&self->ring, "BpfChainMaps", "invalidated");
	int done, ok = 0, changed = 0, bad = 0, i, res;
	struct timespec t0, t1;
	unsigned int seed = 2;
	struct io_uring_cqe *cqe;
	struct drv_chain *cc;
	pthread_t writer;

	if (variant->dev)
		SKIP(return, "a raw partition has no layout to change");
	ASSERT_LE(0, invalidated);
	ASSERT_EQ(0, pthread_create(&writer, NULL, drv_writer, &w));
	/*
	 * Chains that end early (the file shrank) are fast: on a slow machine
	 * 2000 of them can be over before the writer changed anything, so
	 * go on until it has made a few changes too, within a time bound.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (done = 0; (done < DRV_RACE_CHAINS ||
			__atomic_load_n(&w.ops, __ATOMIC_RELAXED) < DRV_RACE_CHANGES) && !bad;
	     done += DRV_BATCH) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > DRV_RACE_SECONDS)
			break;
		for (i = 0; i < DRV_BATCH; i++)
			drv_prep(io_uring_get_sqe(&self->ring), &c[i],
				 rand_r(&seed) % NBLOCKS, self->tag);
		if (io_uring_submit(&self->ring) != DRV_BATCH) {
			bad++;
			break;
		}
		for (i = 0; i < DRV_BATCH; i++) {
			if (io_uring_wait_cqe(&self->ring, &cqe)) {
				bad++;
				break;
			}
			cc = (struct drv_chain *)(uintptr_t)cqe->user_data;
			res = cqe->res;
			io_uring_cqe_seen(&self->ring, cqe);
			if (drv_correct(cc, res)) {
				ok++;
			} else if (res == -ERANGE || res == -ENODATA) {
				changed++;
			} else {
				bad++;
				TH_LOG("chain from %d: %d, value %lld", cc->start, res,
				       (long long)cc->scratch[1]);
			}
		}
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	pthread_join(writer, NULL);

	TH_LOG("%d chains: %d answers, %d ended by a change; %d changes",
	       done, ok, changed, w.ops);
	EXPECT_EQ(0, w.err);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, ok);
	EXPECT_LE(DRV_RACE_CHANGES, w.ops) TH_LOG("the writer made too few changes");
	if (variant->driver) {
		EXPECT_LT(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
		EXPECT_LT(invalidated, ring_field(&self->ring, "BpfChainMaps", "invalidated"));
	}
}

/*
 * Stress: submitter threads, each with a ring of its own that it tears
 * down and builds again (interrupts or, with O_DIRECT, IOPOLL), keep
 * chains in flight in both tiers and cancel some; a meddler thread empties
 * and refills their program and file slots; on a file system a writer
 * changes the file's layout.  A ring's life ends with all its chains
 * reaped, or with the ring closed (its programs unregistered first, or
 * not) while chains still run.  Every reaped CQE must be the right answer
 * or a documented errno.  Bounded by STRESS_LIVES ring lives per thread
 * and BPFCHAIN_STRESS_SECONDS (default 15).
 */
#define STRESS_THREADS	3
#define STRESS_LIVES	30
#define STRESS_ROUNDS	6
#define STRESS_CANCEL	1ULL	/* user_data of the cancel SQEs */

struct stress {
	pthread_mutex_t lock[STRESS_THREADS];
	int ring_fd[STRESS_THREADS];	/* -1 between lives */
	int prog, fd, o_direct;
	__u64 tag;
	time_t end;
	/* counts, updated with atomics */
	int chains, ok, wrong, abandoned, meddled, lives;
	long hops_driver, hops_generic;
	int errs[160];
};

struct stress_arg {
	struct stress *st;
	int id;
};

static bool stress_over(struct stress *st)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec >= __atomic_load_n(&st->end, __ATOMIC_RELAXED);
}

static void stress_check(struct stress *st, struct drv_chain *c, int res)
{
	__atomic_add_fetch(&st->chains, 1, __ATOMIC_RELAXED);
	if (drv_correct(c, res)) {
		__atomic_add_fetch(&st->ok, 1, __ATOMIC_RELAXED);
		return;
	}
	switch (-res) {
	case ERANGE: case ENODATA:	/* the layout changed under the chain */
	case ECANCELED:			/* cancelled */
	case ENOENT: case EBADF:	/* a slot the meddler emptied */
		__atomic_add_fetch(&st->errs[-res], 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(&st->wrong, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "# stress: chain from %d: %d, value %lld\n", c->start, res,
		(long long)c->scratch[1]);
}

/* One life of a ring; false when it could not be set up. */
static bool stress_life(struct stress *st, int id, unsigned int *seed)
{
	/* never freed: a ring closed with chains in flight may still write them */
	struct drv_chain *c = calloc(DRV_BATCH, sizeof(*c));
	unsigned int flags = st->o_direct && rand_r(seed) % 2 ? IORING_SETUP_IOPOLL : 0;
	/* SUBMIT_ALL: a chain that fails at submission must not hold back the rest */
	unsigned int setup = flags | IORING_SETUP_SUBMIT_ALL;
	int round, i, n, end = rand_r(seed) % 3;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;

	if (!c || io_uring_queue_init(2 * DRV_BATCH, &ring, setup))
		return false;
	if (io_uring_register_files(&ring, &st->fd, 1) ||
	    register_progs(&ring, &st->prog, 1, 0)) {
		io_uring_queue_exit(&ring);
		return false;
	}
	pthread_mutex_lock(&st->lock[id]);
	st->ring_fd[id] = ring.ring_fd;
	pthread_mutex_unlock(&st->lock[id]);

	for (round = 0; round < STRESS_ROUNDS; round++) {
		for (i = 0; i < DRV_BATCH; i++) {
			sqe = io_uring_get_sqe(&ring);
			drv_prep(sqe, &c[i], rand_r(seed) % NBLOCKS, st->tag);
			if (rand_r(seed) % 2)
				sqe->bpf_chain_flags = IORING_BPF_CHAIN_GENERIC;
		}
		n = DRV_BATCH;
		/* IOPOLL rings cannot cancel (-EINVAL) */
		if (!flags && rand_r(seed) % 4 == 0) {
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_cancel64(sqe, (uintptr_t)&c[rand_r(seed) % DRV_BATCH], 0);
			sqe->user_data = STRESS_CANCEL;
			n++;
		}
		if (io_uring_submit(&ring) != n)
			break;
		/* the last round of a life that ends abruptly is not reaped */
		if (round == STRESS_ROUNDS - 1 && end) {
			__atomic_add_fetch(&st->abandoned, DRV_BATCH, __ATOMIC_RELAXED);
			break;
		}
		for (i = 0; i < n; i++) {
			if (io_uring_wait_cqe(&ring, &cqe))
				break;
			if (cqe->user_data != STRESS_CANCEL)
				stress_check(st, (struct drv_chain *)(uintptr_t)cqe->user_data,
					     cqe->res);
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	pthread_mutex_lock(&st->lock[id]);
	st->ring_fd[id] = -1;
	pthread_mutex_unlock(&st->lock[id]);
	__atomic_add_fetch(&st->hops_driver, ring_counter(&ring, "BpfChainHopsDriver"),
			   __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->hops_generic, ring_counter(&ring, "BpfChainHopsGeneric"),
			   __ATOMIC_RELAXED);
	if (end == 1)
		unregister_progs(&ring);
	io_uring_queue_exit(&ring);
	__atomic_add_fetch(&st->lives, 1, __ATOMIC_RELAXED);
	return true;
}

static void *stress_submitter(void *arg)
{
	struct stress_arg *a = arg;
	unsigned int seed = 100 + a->id;
	int life;

	for (life = 0; life < STRESS_LIVES && !stress_over(a->st); life++)
		if (!stress_life(a->st, a->id, &seed))
			break;
	return NULL;
}

/* Empties and refills the program and file slots of the live rings. */
static void *stress_meddler(void *arg)
{
	struct stress *st = arg;
	int id, ret, step = 0, empty = -1;
	unsigned int seed = 7;
	struct io_uring r;

	while (!stress_over(st) && __atomic_load_n(&st->lives, __ATOMIC_RELAXED) <
	       STRESS_THREADS * STRESS_LIVES) {
		id = rand_r(&seed) % STRESS_THREADS;
		pthread_mutex_lock(&st->lock[id]);
		if (st->ring_fd[id] >= 0) {
			/* in turn: empty the program slot, fill it, the same for the file */
			r.ring_fd = st->ring_fd[id];
			step = (step + 1) % 4;
			if (step < 2)
				ret = update_progs(&r, 0, step ? &st->prog : &empty, 1);
			else
				ret = io_uring_register_files_update(&r, 0, step == 2 ?
								     &empty : &st->fd, 1);
			if (ret >= 0)
				st->meddled++;
		}
		pthread_mutex_unlock(&st->lock[id]);
		usleep(1000);
	}
	return NULL;
}

TEST_F_TIMEOUT(driver, stress, 300)
{
	struct stress st = {
		.prog = self->prog, .fd = self->fd, .o_direct = variant->o_direct,
		.tag = self->tag,
	};
	struct drv_writer w = {
		.path = self->path, .fd = self->wfd, .blk = self->blk, .tag = self->tag,
	};
	pthread_t threads[STRESS_THREADS], meddler, writer;
	struct stress_arg args[STRESS_THREADS];
	struct timespec now;
	char line[400];
	int i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	st.end = now.tv_sec + fuzz_env("BPFCHAIN_STRESS_SECONDS", 15);
	for (i = 0; i < STRESS_THREADS; i++) {
		pthread_mutex_init(&st.lock[i], NULL);
		st.ring_fd[i] = -1;
	}
	if (!variant->dev)
		ASSERT_EQ(0, pthread_create(&writer, NULL, drv_writer, &w));
	ASSERT_EQ(0, pthread_create(&meddler, NULL, stress_meddler, &st));
	for (i = 0; i < STRESS_THREADS; i++) {
		args[i] = (struct stress_arg){ .st = &st, .id = i };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, stress_submitter, &args[i]));
	}
	for (i = 0; i < STRESS_THREADS; i++)
		pthread_join(threads[i], NULL);
	__atomic_store_n(&st.end, 0, __ATOMIC_RELAXED);
	pthread_join(meddler, NULL);
	if (!variant->dev) {
		__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
		pthread_join(writer, NULL);
	}

	snprintf(line, sizeof(line),
		 "stats: %s: %d ring lives, %d chains reaped: %d answers, %d wrong; %d left running at close; hops %ld driver, %ld generic; %d slot changes, %d layout changes;",
		 variant->dev ?: variant->dir, st.lives, st.chains, st.ok, st.wrong,
		 st.abandoned, st.hops_driver, st.hops_generic, st.meddled, w.ops);
	for (i = 1; i < 160; i++)
		if (st.errs[i])
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s %d",
				 strerror(i), st.errs[i]);
	TH_LOG("%s", line);
	EXPECT_EQ(0, st.wrong);
	EXPECT_EQ(0, w.err);
	EXPECT_LT(STRESS_THREADS, st.lives);
	EXPECT_LT(0, st.ok);
	EXPECT_LT(0, st.meddled);
	/* both tiers ran: the driver's only on NVMe */
	EXPECT_LT(0, st.hops_generic);
	EXPECT_EQ(!!variant->driver, st.hops_driver > 0);
}

/*
 * A hostile program: unless the block starts with the secret in scratch[3]
 * (then it stops with result 1), it asks for scratch[0] next, then moves
 * scratch[0] by scratch[1] and multiplies scratch[1] by scratch[2].  So it
 * can stride past the end of the file, jump anywhere, bounce between two
 * blocks or point at itself.
 */
static const struct bpf_insn hostile_prog[] = {
	BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
	BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, CTX(data_end)),
	BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
	BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 8),
	BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
	BPF_MOV64_IMM(BPF_REG_0, -EBADMSG),
	BPF_EXIT_INSN(),
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_2, 0),
	BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(scratch)),
	BPF_LDX_MEM(BPF_DW, BPF_REG_7, BPF_REG_6, 24),
	BPF_JMP_REG(BPF_JNE, BPF_REG_5, BPF_REG_7, 4),
	BPF_MOV64_IMM(BPF_REG_5, 1),
	BPF_STX_MEM(BPF_W, BPF_REG_1, BPF_REG_5, CTX(result)),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
	BPF_EXIT_INSN(),
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_6, 0),
	BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_5, CTX(next_offset)),
	BPF_LDX_MEM(BPF_DW, BPF_REG_7, BPF_REG_6, 8),
	BPF_ALU64_REG(BPF_ADD, BPF_REG_5, BPF_REG_7),
	BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_5, 0),
	BPF_LDX_MEM(BPF_DW, BPF_REG_8, BPF_REG_6, 16),
	BPF_ALU64_REG(BPF_MUL, BPF_REG_7, BPF_REG_8),
	BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_7, 8),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_NEXT),
	BPF_EXIT_INSN(),
};

/* Writes 0xab over the whole scratch area, whatever the SQE asked for. */
static const struct bpf_insn scratch_filler[] = {
	BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(scratch)),
	BPF_MOV64_IMM(BPF_REG_7, 0),
	BPF_LD_IMM64(BPF_REG_8, 0xababababababababULL),
	BPF_JMP_IMM(BPF_JGE, BPF_REG_7, BPF_IO_CHAIN_SCRATCH_SIZE, 5),
	BPF_MOV64_REG(BPF_REG_2, BPF_REG_6),
	BPF_ALU64_REG(BPF_ADD, BPF_REG_2, BPF_REG_7),
	BPF_STX_MEM(BPF_DW, BPF_REG_2, BPF_REG_8, 0),
	BPF_ALU64_IMM(BPF_ADD, BPF_REG_7, 8),
	BPF_JMP_IMM(BPF_JA, 0, 0, -6),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
	BPF_EXIT_INSN(),
};

/* A chain of program @slot from offset 0 of fixed file @file: result, hops. */
static int hostile_run(struct io_uring *ring, void *buf, int file, int slot,
		       __u64 *scratch, long *hops)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	long before = ring_hops(ring);
	int res;

	io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, file, buf, DRV_BS, 0);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->bpf_chain_prog = slot;
	sqe->bpf_chain_scratch = (uintptr_t)scratch;
	sqe->bpf_chain_scratch_len = 4 * sizeof(__u64);
	if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe))
		return -EPIPE;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	*hops = ring_hops(ring) - before;
	return res;
}

/*
 * Hostile programs get their documented errors, and none of them reads a
 * byte the file does not own: a file of secrets is written right after the
 * chains' file (on a file system its blocks follow the file's on disk),
 * and a chain that reached one would say so.  The same program finds the
 * secret at once when pointed at the secrets' file, so the check can fail.
 */
TEST_F(driver, hostile_programs)
{
	const __u64 size = lseek(self->fd, 0, SEEK_END), bs = DRV_BS;
	const struct {
		__u64 next, step, mult;
		int res;
		long hops;
		const char *what;
	} cases[] = {
		{ size - 7 * bs, bs, 1, -ERANGE, 8, "the last blocks, then past EOF" },
		{ size, 0, 0, -ERANGE, 1, "the block right after EOF" },
		{ size + 8 * bs, bs, 1, -ERANGE, 1, "where the secrets lie" },
		{ -bs, 0, 0, -ERANGE, 1, "a negative offset" },
		{ 1ULL << 62, 0, 0, -ERANGE, 1, "far past EOF" },
		{ bs + 8, 0, 0, -EINVAL, 1, "an unaligned offset" },
		{ bs, bs, -1ULL, -ELOOP, 256, "two blocks, back and forth" },
		{ 0, 0, 0, -ELOOP, 256, "itself" },
	};
	int fds[2] = { self->fd, -1 }, progs[2], sfd = -1, res, right = 0, found = 0;
	long total = 0;
	__u64 scratch[64], magic;
	char secrets[300];
	struct io_uring ring;
	unsigned int i;
	long hops;
	void *buf;

	ASSERT_EQ(0, posix_memalign(&buf, 4096, DRV_BS));
	ASSERT_EQ(8, getrandom(&magic, 8, 0));
	magic |= 1;
	if (!variant->dev) {
		snprintf(secrets, sizeof(secrets), "%s.secrets", self->path);
		sfd = open(secrets, O_CREAT | O_TRUNC | O_RDWR, 0600);
		ASSERT_LE(0, sfd);
		for (i = 0; i < DRV_BS / 8; i++)
			((__u64 *)buf)[i] = magic;
		for (i = 0; i < 2 * NBLOCKS; i++)
			ASSERT_EQ(DRV_BS, pwrite(sfd, buf, DRV_BS, (off_t)i * DRV_BS));
		ASSERT_EQ(0, fsync(sfd));
		fds[1] = open(secrets, O_RDONLY | (variant->o_direct ? O_DIRECT : 0));
		ASSERT_LE(0, fds[1]);
	}
	progs[0] = prog_load(BPF_PROG_TYPE_IO_CHAIN, hostile_prog, ARRAY_SIZE(hostile_prog));
	ASSERT_LE(0, progs[0]);
	progs[1] = prog_load(BPF_PROG_TYPE_IO_CHAIN, scratch_filler, ARRAY_SIZE(scratch_filler));
	ASSERT_LE(0, progs[1]) TH_LOG("scratch_filler: %s", strerror(errno));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, io_uring_register_files(&ring, fds, fds[1] < 0 ? 1 : 2));
	ASSERT_EQ(0, register_progs(&ring, progs, 2, 0));

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		scratch[0] = cases[i].next;
		scratch[1] = cases[i].step;
		scratch[2] = cases[i].mult;
		scratch[3] = magic;
		res = hostile_run(&ring, buf, 0, 0, scratch, &hops);
		EXPECT_EQ(cases[i].res, res) TH_LOG("%s", cases[i].what);
		EXPECT_EQ(cases[i].hops, hops) TH_LOG("%s", cases[i].what);
		right += res == cases[i].res && hops == cases[i].hops;
		found += res == 1;
		total += hops;
	}
	if (fds[1] >= 0) {
		scratch[0] = 0;
		scratch[3] = magic;
		EXPECT_EQ(1, hostile_run(&ring, buf, 1, 0, scratch, &hops))
			TH_LOG("the program cannot see the secrets");
	}

	/*
	 * A program that fills the whole scratch area: the SQE's 32 bytes
	 * come back filled, the rest of the caller's buffer is untouched.
	 */
	memset(scratch, 0x11, sizeof(scratch));
	EXPECT_EQ(0, hostile_run(&ring, buf, 0, 1, scratch, &hops));
	EXPECT_EQ(1, hops);
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0xababababababababULL, scratch[i]);
	for (; i < ARRAY_SIZE(scratch); i++)
		EXPECT_EQ(0x1111111111111111ULL, scratch[i]) TH_LOG("scratch[%u]", i);
	TH_LOG("stats: %s: %u hostile chains, %ld hops: %d got their errno, %d saw a secret",
	       variant->dev ?: variant->dir, (unsigned int)ARRAY_SIZE(cases), total, right, found);

	io_uring_queue_exit(&ring);
	close(progs[0]);
	close(progs[1]);
	if (fds[1] >= 0) {
		close(fds[1]);
		close(sfd);
		unlink(secrets);
	}
	free(buf);
}

/* Interrupts taken so far by nvme0's I/O queues, -1 if none are listed. */
static long nvme_io_interrupts(void)
{
	char line[1024], *p, *end;
	long total = -1, n;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "nvme0q") || strstr(line, "nvme0q0"))
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		for (p++; (n = strtol(p, &end, 10)), end != p; p = end)
			total = (total < 0 ? 0 : total) + n;
	}
	fclose(f);
	return total;
}

/*
 * An IOPOLL ring: on NVMe the chains' reads go to a poll queue and the
 * driver continues them while io_uring polls; elsewhere the hops are
 * generic reads.  The answers are the same.
 */
TEST_F(driver, iopoll_ring)
{
	static struct drv_chain c[DRV_BATCH];
	long irqs = nvme_io_interrupts(), want = 0;
	struct io_uring_cqe *cqe;
	struct drv_chain *cc;
	struct io_uring ring;
	int i, ret;

	ret = io_uring_queue_init(16, &ring, IORING_SETUP_IOPOLL);
	if (ret)
		SKIP(return, "IOPOLL ring: %s", strerror(-ret));
	ASSERT_EQ(0, io_uring_register_files(&ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
	for (i = 0; i < NBLOCKS; i += 7) {
		EXPECT_TRUE(drv_correct(&c[0], drv_run(&ring, &c[0], i, self->tag)))
			TH_LOG("chain from %d", i);
		want += NBLOCKS - i;
	}
	/* several in flight, completed by polling */
	for (i = 0; i < DRV_BATCH; i++) {
		drv_prep(io_uring_get_sqe(&ring), &c[i], i * 5, self->tag);
		want += NBLOCKS - i * 5;
	}
	ASSERT_EQ(DRV_BATCH, io_uring_submit(&ring));
	for (i = 0; i < DRV_BATCH; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		cc = (struct drv_chain *)(uintptr_t)cqe->user_data;
		EXPECT_TRUE(drv_correct(cc, cqe->res))
			TH_LOG("chain from %d: %d", cc->start, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	EXPECT_EQ(variant->driver ? want : 0, ring_counter(&ring, "BpfChainHopsDriver"));
	EXPECT_EQ(variant->driver ? 0 : want, ring_counter(&ring, "BpfChainHopsGeneric"));
	if (variant->driver) {
		/* with nvme.poll_queues=0 there is no poll queue to check */
		/* polled: a hop on an interrupt driven queue takes an interrupt */
		ASSERT_LE(0, irqs) TH_LOG("no nvme0 I/O queue in /proc/interrupts");
		EXPECT_GT(want / 4, nvme_io_interrupts() - irqs);
	}
	io_uring_queue_exit(&ring);
}

/*
 * Faults in the middle of chains, injected on the second NVMe controller
 * (serial "bpfchain-faults", a raw disk nothing else uses, so a failed
 * I/O there cannot hurt a file system): nvme's fault injection fails the
 * completion of one hop, fail_io_timeout loses one, fail_make_request
 * fails the submission of one.  Each knob's "space" lets FAULT_HOP - 1
 * hops through, so the fault hits the middle of the chain, and "times"
 * read back as 0 proves it fired.  After each, the same disk must give the
 * right answer again.
 */
#define FAULT_HOP	5

FIXTURE(faults) {
	struct io_uring ring;
	int ring_ok;
	char disk[32];		/* nvmeXn1 */
	char nvme_knobs[96];	/* its nvme fault_inject directory */
	int fd;
	int prog;
	__u64 tag;
	void *blk;
};

static int knob_write(const char *dir, const char *name, long val)
{
	char path[160];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	ret = dprintf(fd, "%ld\n", val) > 0 ? 0 : -errno;
	close(fd);
	return ret;
}

static long knob_read(const char *dir, const char *name)
{
	char path[160];
	long val = -1000;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1000;
	if (fscanf(f, "%ld", &val) != 1)
		val = -1000;
	fclose(f);
	return val;
}

/* Fail once, after @space units (calls, or bytes for fail_make_request). */
static int fault_arm(const char *dir, long space)
{
	return knob_write(dir, "probability", 100) ?:
	       knob_write(dir, "interval", 1) ?:
	       knob_write(dir, "verbose", 1) ?:
	       knob_write(dir, "space", space) ?:
	       knob_write(dir, "times", 1);
}

static void fault_disarm(const char *dir)
{
	knob_write(dir, "times", 0);
	knob_write(dir, "probability", 0);
}

/* Echo @val into /sys/block/<disk>/@name. */
static int disk_knob(const char *disk, const char *name, long val)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "/sys/block/%s", disk);
	return knob_write(dir, name, val);
}

FIXTURE_SETUP(faults)
{
	static struct drv_chain first;
	char path[64], serial[64];
	int i, ret;
	FILE *f;

	self->fd = -1;
	for (i = 0; i < 8 && !self->disk[0]; i++) {
		snprintf(path, sizeof(path), "/sys/class/nvme/nvme%d/serial", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		/* the serial is space-padded to its 20 bytes */
		if (fscanf(f, "%63s", serial) == 1 && !strcmp(serial, "bpfchain-faults"))
			snprintf(self->disk, sizeof(self->disk), "nvme%dn1", i);
		fclose(f);
	}
	if (!self->disk[0])
		SKIP(return, "no NVMe controller with serial bpfchain-faults (rig/vm-run adds it)");
	snprintf(self->nvme_knobs, sizeof(self->nvme_knobs),
		 "/sys/kernel/debug/%s/fault_inject", self->disk);
	if (access(self->nvme_knobs, W_OK) || access("/sys/kernel/debug/fail_io_timeout", W_OK) ||
	    access("/sys/kernel/debug/fail_make_request", W_OK))
		SKIP(return, "needs FAULT_INJECTION_DEBUG_FS, FAIL_IO_TIMEOUT, FAIL_MAKE_REQUEST");
	ret = io_uring_queue_init(16, &self->ring, 0);
	ASSERT_EQ(0, ret);
	self->ring_ok = 1;
	self->prog = prog_load(BPF_PROG_TYPE_IO_CHAIN, tagged_walker,
			       ARRAY_SIZE(tagged_walker));
	ASSERT_LE(0, self->prog) TH_LOG("IO_CHAIN program: %s", strerror(errno));
	ASSERT_EQ(8, getrandom(&self->tag, 8, 0));
	self->tag |= 1;
	ASSERT_EQ(0, posix_memalign(&self->blk, 4096, DRV_BS));

	snprintf(path, sizeof(path), "/dev/%s", self->disk);
	self->fd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, write_all(self->fd, self->blk, self->tag));
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(0, io_uring_register_files(&self->ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&self->ring, &self->prog, 1, 0));
	/* a first chain builds the block map, without faults */
	ASSERT_EQ(NBLOCKS, drv_run(&self->ring, &first, 0, self->tag));
}

FIXTURE_TEARDOWN(faults)
{
	if (self->disk[0]) {
		fault_disarm(self->nvme_knobs);
		fault_disarm("/sys/kernel/debug/fail_io_timeout");
		fault_disarm("/sys/kernel/debug/fail_make_request");
		disk_knob(self->disk, "io-timeout-fail", 0);
		disk_knob(self->disk, "make-it-fail", 0);
	}
	if (self->fd >= 0)
		close(self->fd);
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
}

/*
 * One chain from list element 0 on @ring, @flags in the SQE: its result,
 * and in *hops how many hops of @counter it took.
 */
static int fault_chain(struct io_uring *ring, __u32 flags, const char *counter,
		       __u64 tag, long *hops)
{
	static struct drv_chain c;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	long before = ring_counter(ring, counter);
	int res;

	sqe = io_uring_get_sqe(ring);
	drv_prep(sqe, &c, 0, tag);
	sqe->bpf_chain_flags = flags;
	if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe))
		return -EPIPE;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	*hops = ring_counter(ring, counter) - before;
	if (res == NBLOCKS && !drv_correct(&c, res))
		return -EBADMSG;	/* a wrong answer */
	return res;
}

/* An IOPOLL ring with the fixture's file and program registered. */
static int fault_poll_ring(struct io_uring *ring, int fd, int prog)
{
	if (io_uring_queue_init(16, ring, IORING_SETUP_IOPOLL))
		return -1;
	if (io_uring_register_files(ring, &fd, 1) || register_progs(ring, &prog, 1, 0)) {
		io_uring_queue_exit(ring);
		return -1;
	}
	return 0;
}

/*
 * The device fails hop FAULT_HOP with an internal error (no retry): the
 * chain ends with -EIO after FAULT_HOP - 1 hops, in the driver tier on an
 * interrupt-driven queue and on a poll queue, and in the generic tier.
 */
TEST_F(faults, device_error_mid_chain)
{
	static const struct {
		int polled;
		__u32 flags;
		const char *counter;
	} cases[] = {
		{ 0, 0, "BpfChainHopsDriver" },
		{ 1, 0, "BpfChainHopsDriver" },
		{ 0, IORING_BPF_CHAIN_GENERIC, "BpfChainHopsGeneric" },
	};
	struct io_uring poll, *ring;
	int res, ended = 0;
	long hops, errs;
	unsigned int i;

	ASSERT_EQ(0, knob_write(self->nvme_knobs, "status", 0x6));
	ASSERT_EQ(0, knob_write(self->nvme_knobs, "dont_retry", 1));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ring = &self->ring;
		if (cases[i].polled) {
			ring = &poll;
			ASSERT_EQ(0, fault_poll_ring(ring, self->fd, self->prog));
		}
		/* the IOPOLL ring's first chain builds its map: no fault yet */
		ASSERT_EQ(NBLOCKS, fault_chain(ring, cases[i].flags, cases[i].counter,
					       self->tag, &hops));
		errs = ring_field(ring, "BpfChainErrors", "read");
		ASSERT_EQ(0, fault_arm(self->nvme_knobs, FAULT_HOP));
		res = fault_chain(ring, cases[i].flags, cases[i].counter, self->tag, &hops);
		EXPECT_EQ(-EIO, res) TH_LOG("case %u", i);
		EXPECT_EQ(FAULT_HOP - 1, hops) TH_LOG("case %u", i);
		EXPECT_EQ(0, knob_read(self->nvme_knobs, "times")) TH_LOG("the fault did not fire");
		ended += res == -EIO && hops == FAULT_HOP - 1;
		EXPECT_EQ(errs + 1, ring_field(ring, "BpfChainErrors", "read"));
		fault_disarm(self->nvme_knobs);
		/* the device still works */
		EXPECT_EQ(NBLOCKS, fault_chain(ring, cases[i].flags, cases[i].counter,
					       self->tag, &hops)) TH_LOG("case %u", i);
		EXPECT_EQ(NBLOCKS, hops);
		if (cases[i].polled)
			io_uring_queue_exit(ring);
	}
	TH_LOG("stats: %s: %u device errors injected at hop %d, %d chains ended -EIO there",
	       self->disk, (unsigned int)ARRAY_SIZE(cases), FAULT_HOP, ended);
}

/*
 * The completion of hop FAULT_HOP is lost (fail_io_timeout): the request
 * times out, nvme-pci aborts it and then resets the controller, and the
 * block layer retries the hop as it retries any I/O the reset cancelled.
 * The chain then goes on and gives the right answer, having waited for
 * the timeouts, with every hop in the driver.
 */
TEST_F_TIMEOUT(faults, lost_completion_mid_chain, 240)
{
	const char *knobs = "/sys/kernel/debug/fail_io_timeout";
	struct io_uring poll, *ring;
	struct timespec t0, t1;
	int polled, res, answered = 0;
	long hops, generic, waited[2];

	ASSERT_EQ(0, disk_knob(self->disk, "queue/io_timeout", 1000));
	ASSERT_EQ(0, disk_knob(self->disk, "io-timeout-fail", 1));
	for (polled = 0; polled < 2; polled++) {
		ring = &self->ring;
		if (polled) {
			ring = &poll;
			ASSERT_EQ(0, fault_poll_ring(ring, self->fd, self->prog));
		}
		ASSERT_EQ(NBLOCKS, fault_chain(ring, 0, "BpfChainHopsDriver", self->tag, &hops));
		ASSERT_EQ(0, fault_arm(knobs, FAULT_HOP));
		generic = ring_counter(ring, "BpfChainHopsGeneric");
		clock_gettime(CLOCK_MONOTONIC, &t0);
		res = fault_chain(ring, 0, "BpfChainHopsDriver", self->tag, &hops);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		EXPECT_EQ(NBLOCKS, res) TH_LOG("polled %d", polled);
		answered += res == NBLOCKS;
		waited[polled] = t1.tv_sec - t0.tv_sec;
		/*
		 * Every hop ran once; those before the fault in the driver.
		 * The reset freezes the queue, and the block layer does not
		 * continue a request meanwhile: such hops go on from task
		 * context.
		 */
		EXPECT_EQ(NBLOCKS, hops + ring_counter(ring, "BpfChainHopsGeneric") - generic);
		EXPECT_LE(FAULT_HOP, hops);
		EXPECT_EQ(0, knob_read(knobs, "times")) TH_LOG("the fault did not fire");
		/* the lost hop waited for at least one timeout */
		EXPECT_LE(1, t1.tv_sec - t0.tv_sec) TH_LOG("polled %d", polled);
		fault_disarm(knobs);
		EXPECT_EQ(NBLOCKS, fault_chain(ring, 0, "BpfChainHopsDriver", self->tag, &hops));
		if (polled)
			io_uring_queue_exit(ring);
	}
	TH_LOG("stats: %s: 2 completions lost at hop %d: %d chains answered, after %ld s, %ld s",
	       self->disk, FAULT_HOP, answered, waited[0], waited[1]);
}

/*
 * The submission of a hop's bio fails (fail_make_request): in the generic
 * tier, where every hop is a new bio, at hop FAULT_HOP; in the driver
 * tier, where only the first hop is submitted as a bio, at once.
 */
TEST_F(faults, submission_error)
{
	const char *knobs = "/sys/kernel/debug/fail_make_request";
	int res, failed = 0;
	long hops;

	ASSERT_EQ(0, disk_knob(self->disk, "make-it-fail", 1));
	ASSERT_EQ(0, fault_arm(knobs, (long)FAULT_HOP * DRV_BS));
	res = fault_chain(&self->ring, IORING_BPF_CHAIN_GENERIC, "BpfChainHopsGeneric",
			  self->tag, &hops);
	EXPECT_EQ(-EIO, res);
	EXPECT_EQ(FAULT_HOP - 1, hops);
	EXPECT_EQ(0, knob_read(knobs, "times")) TH_LOG("the fault did not fire");
	failed += res == -EIO && hops == FAULT_HOP - 1;
	ASSERT_EQ(0, fault_arm(knobs, DRV_BS));
	res = fault_chain(&self->ring, 0, "BpfChainHopsDriver", self->tag, &hops);
	EXPECT_EQ(-EIO, res);
	EXPECT_EQ(0, hops);
	EXPECT_EQ(0, knob_read(knobs, "times")) TH_LOG("the fault did not fire");
	failed += res == -EIO && hops == 0;
	fault_disarm(knobs);
	EXPECT_EQ(NBLOCKS, fault_chain(&self->ring, 0, "BpfChainHopsDriver", self->tag, &hops));
	EXPECT_EQ(NBLOCKS, hops);
	TH_LOG("stats: %s: 2 bio submissions failed (hop %d, generic; hop 1, driver): %d -EIO",
	       self->disk, FAULT_HOP, failed);
}

TEST_HARNESS_MAIN
