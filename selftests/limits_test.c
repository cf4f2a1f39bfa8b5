// SPDX-License-Identifier: GPL-2.0
/*
 * Namespaces unlike the lab's (rig/vm-run adds them): 4096-byte LBAs, and
 * zones of 1 MiB.  A hop the device cannot read as one request continued
 * in place (not aligned to the logical block size, across a zone boundary)
 * goes to the generic tier, first hop or not: a chain's answer is the
 * generic tier's, never a block next to the one asked for, never an I/O
 * error from the device, never a split request taken for the chain's own.
 */
#include "bpf_chain_helpers.h"

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
	ret = put_string(param, pollq) || put_string(path, "1");
	put_string(param, old);
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
	EXPECT_EQ(1, ring_counter(&ring, "BpfChainHopsDriver"))
		TH_LOG("generic %ld, handoffs: boundary %ld hole %ld",
		       ring_counter(&ring, "BpfChainHopsGeneric"),
		       ring_field(&ring, "BpfChainHandoffs", "boundary"),
		       ring_field(&ring, "BpfChainHandoffs", "hole"));
	io_uring_queue_exit(&ring);
}

TEST_HARNESS_MAIN
