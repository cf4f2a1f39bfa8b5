// SPDX-License-Identifier: GPL-2.0
/*
 * Namespaces unlike the lab's (rig/vm-run adds them): 4096-byte LBAs,
 * zones of 1 MiB, metadata with and without protection information (each
 * format the kernel handles differently), a controller with a small
 * maximum data transfer size, and a namespace shared by the two
 * controllers of one subsystem (a multipath head).  A hop the device cannot
 * read as one request continued in place (not aligned to the logical block
 * size, across a zone boundary) goes to the generic tier, first hop or
 * not: a chain's answer is the generic
 * tier's, never a block next to the one asked for, never an I/O error from
 * the device, never a split request taken for the chain's own.  The ring's
 * counters tell which tier read each hop.
 */
#include "bpf_chain_helpers.h"
#include <endian.h>
#include <limits.h>
#include <linux/nvme_ioctl.h>

/*
 * Reset /sys/class/nvme/@ctrl with @pollq poll queues (NULL: as many as
 * nvme's parameter says now); wait until live.
 */
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
	ret = (pollq && put_string(param, pollq)) || put_string(path, "1");
	if (pollq)
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

/*
 * The @nth (from 0) controller whose serial is @want, in the order of
 * their instance numbers ("nvme3"): 0, or -1 when there is none.
 */
static int ctrl_by_serial(const char *want, int nth, char *ctrl, size_t len)
{
	char path[300], serial[64];
	int i, found;
	FILE *f;

	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/sys/class/nvme/nvme%d/serial", i);
		f = fopen(path, "r");
		if (!f)
			continue;
		found = fscanf(f, "%63s", serial) == 1 && !strcmp(serial, want);
		fclose(f);
		if (found && nth-- == 0) {
			snprintf(ctrl, len, "nvme%d", i);
			return 0;
		}
	}
	return -1;
}

/* The controller of the zoned namespace, by serial, and its io_poll. */
static int zoned_ctrl(char *ctrl, size_t len)
{
	return ctrl_by_serial("bpfchain-zoned", 0, ctrl, len);
}

/* Read /sys/class/block/<@dev's disk>/@attr into @out: 0, or -1. */
static int disk_attr(const char *dev, const char *attr, char *out, size_t len)
{
	char real[PATH_MAX], path[PATH_MAX + 64];
	const char *name;
	FILE *f;
	int ok;

	if (!realpath(dev, real))
		return -1;
	name = strrchr(real, '/') + 1;
	snprintf(path, sizeof(path), "/sys/class/block/%s/%s", name, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = !!fgets(out, len, f);
	fclose(f);
	if (!ok)
		return -1;
	out[strcspn(out, "\n")] = 0;
	return 0;
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
/* hops of the chains same_answer_as_the_generic_tier runs in each tier */
#define LIM_HOPS	(LIM_N + LIM_N - 3)

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

/*
 * A namespace with metadata (rig/vm-run's bpfchain-pi controller): its
 * integrity profile as integrity/format names it ("nop": metadata without
 * protection information; "none": the controller inserts and strips it,
 * PRACT), its bytes of metadata per LBA, the bits of its guard tag (0: no
 * protection information), and whether the metadata is at the end of each
 * LBA rather than in a buffer of its own.
 */
struct lim_metadata {
	const char *integrity;
	int ms;
	int guard;
	int extended;
};

FIXTURE_VARIANT(limits) {
	const char *dir;	/* a file there, */
	const char *dev;	/* or this raw device */
	int o_direct;
	int zoned;		/* the device is zoned: reset it, write by zone */
	int unaligned;		/* 512-byte aligned is not its LBA size */
	/*
	 * Whether the driver tier must read hops of the chains (1) or none
	 * (0).  Where it must and the device can read every hop of the list
	 * as one request continued in place (not unaligned, not zoned), it
	 * must read every hop.
	 */
	int driver;
	struct lim_metadata md;	/* .integrity NULL: no metadata */
	int max_transfer;	/* the controller's limit in bytes (rig/vm-run's mdts) */
	const char *mpath;	/* serial of the two controllers sharing the namespace */
};

FIXTURE_VARIANT_ADD(limits, lba4k_raw) {
	.dev = "/dev/bpfchain-4k-raw", .o_direct = 1, .unaligned = 1, .driver = 1,
};

FIXTURE_VARIANT_ADD(limits, lba4k_ext4) {
	.dir = "/mnt/nvme-4k", .o_direct = 1, .unaligned = 1, .driver = 1,
};

FIXTURE_VARIANT_ADD(limits, lba4k_ext4_buffered) {
	.dir = "/mnt/nvme-4k", .unaligned = 1, .driver = 1,
};

FIXTURE_VARIANT_ADD(limits, zoned_raw) {
	.dev = "/dev/bpfchain-zoned", .o_direct = 1, .zoned = 1, .driver = 1,
};

/*
 * 8 bytes of metadata per 512-byte LBA, PI type 1: the block layer adds
 * and checks the protection information of every read.  The device checks
 * each hop against the reference tag of its LBA, which the driver sets
 * for every hop it continues, and the block layer checks each hop before
 * the program sees it; a wrong tag anywhere fails the chain.
 */
FIXTURE_VARIANT_ADD(limits, pi_raw) {
	.dev = "/dev/bpfchain-pi", .o_direct = 1, .driver = 1,
	.md = { "T10-DIF-TYPE1-CRC", 8, 16 },
};

/*
 * Metadata that is not protection information: the block layer gives
 * every read a buffer for it, and checks nothing.
 */
FIXTURE_VARIANT_ADD(limits, metadata_raw) {
	.dev = "/dev/bpfchain-md", .o_direct = 1, .driver = 1, .md = { "nop", 8 },
};

/* PI type 3: the guard is checked, the reference tag is not */
FIXTURE_VARIANT_ADD(limits, pi_type3_raw) {
	.dev = "/dev/bpfchain-pi3", .o_direct = 1, .driver = 1,
	.md = { "T10-DIF-TYPE3-CRC", 8, 16 },
};

/* PI type 1 with the 64-bit guard (CRC-64/NVME) and 48-bit reference tags */
FIXTURE_VARIANT_ADD(limits, pi_guard64_raw) {
	.dev = "/dev/bpfchain-pi64", .o_direct = 1, .driver = 1,
	.md = { "EXT-DIF-TYPE1-CRC64", 16, 64 },
};

/* PI type 1 on 4096-byte LBAs: one tuple per 4096 bytes */
FIXTURE_VARIANT_ADD(limits, pi_lba4k_raw) {
	.dev = "/dev/bpfchain-pi4k", .o_direct = 1, .unaligned = 1, .driver = 1,
	.md = { "T10-DIF-TYPE1-CRC", 8, 16 },
};

/*
 * PI type 1 at the end of each LBA (mset=1): the kernel has no profile
 * for it and asks the controller to insert the protection information on
 * writes, check and strip it on reads (PRACT), each hop against the
 * reference tag the driver sets.
 */
FIXTURE_VARIANT_ADD(limits, pi_extended_raw) {
	.dev = "/dev/bpfchain-pract", .o_direct = 1, .driver = 1,
	.md = { "none", 8, 16, 1 },
};

/*
 * A controller that transfers at most 8 KiB per command (mdts=1): every
 * hop (at most a page) fits, so the driver tier reads them all.
 */
FIXTURE_VARIANT_ADD(limits, mdts_raw) {
	.dev = "/dev/bpfchain-mdts", .o_direct = 1, .driver = 1, .max_transfer = 8192,
};

/*
 * The multipath head over two controllers (the first controller's
 * namespace on a kernel without NVME_MULTIPATH).  .driver: the driver
 * tier continues hops on a head's paths.
 */
FIXTURE_VARIANT_ADD(limits, multipath_raw) {
	.dev = "/dev/bpfchain-mp", .o_direct = 1, .driver = 1, .mpath = "bpfchain-mp",
};

/* protection information type 1 behind the multipath head */
FIXTURE_VARIANT_ADD(limits, multipath_pi_raw) {
	.dev = "/dev/bpfchain-mp-pi", .o_direct = 1, .driver = 1, .mpath = "bpfchain-mp",
	.md = { "T10-DIF-TYPE1-CRC", 8, 16 },
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

/*
 * A CQE of @ring within @secs seconds, or -ETIME.  io_uring_enter() does
 * not time out waits on an IOPOLL ring: ask it to poll once, again and
 * again, without waiting.
 */
static int lim_wait(struct io_uring *ring, struct io_uring_cqe **cqe, int secs)
{
	time_t end = time(NULL) + secs;

	while (io_uring_peek_cqe(ring, cqe)) {
		if (time(NULL) > end)
			return -ETIME;
		if (io_uring_enter(ring->ring_fd, 0, 0, IORING_ENTER_GETEVENTS, NULL) < 0 &&
		    errno != EINTR && errno != EAGAIN)
			return -errno;
	}
	return 0;
}

/*
 * The chain from list element @start, in the tier @flags asks for: its
 * result, or -ETIME when it has not ended after 30 seconds.
 */
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
	if (io_uring_submit(ring) != 1)
		return -EPIPE;
	res = lim_wait(ring, &cqe, 30);
	if (res)
		return res;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

TEST_F(limits, same_answer_as_the_generic_tier)
{
	long driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	long generic = ring_counter(&self->ring, "BpfChainHopsGeneric");
	long handoffs = ring_field(&self->ring, "BpfChainHandoffs", "boundary");
	__u64 gen[3], drv[3];
	unsigned int start;
	int res_gen, res;

	ASSERT_LE(0, driver);
	ASSERT_LE(0, generic);
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
	if (!variant->driver) {
		/* every hop in the generic tier, the forced and the others */
		EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
		EXPECT_EQ(generic + 2 * LIM_HOPS,
			  ring_counter(&self->ring, "BpfChainHopsGeneric"));
	} else if (!variant->unaligned && !variant->zoned) {
		/* every hop the driver tier could read, it read */
		EXPECT_EQ(driver + LIM_HOPS, ring_counter(&self->ring, "BpfChainHopsDriver"))
			TH_LOG("generic %ld (%ld before), handoffs: boundary %ld hole %ld",
			       ring_counter(&self->ring, "BpfChainHopsGeneric"), generic,
			       ring_field(&self->ring, "BpfChainHandoffs", "boundary"),
			       ring_field(&self->ring, "BpfChainHandoffs", "hole"));
		EXPECT_EQ(generic + LIM_HOPS, ring_counter(&self->ring, "BpfChainHopsGeneric"));
	} else {
		/*
		 * The driver tier ran (from 0 to 12800, which is aligned to
		 * what the zoned namespace's LBAs are), and handed the rest to
		 * the generic tier.
		 */
		EXPECT_LE(driver + 2, ring_counter(&self->ring, "BpfChainHopsDriver"));
		EXPECT_LE(handoffs + 2, ring_field(&self->ring, "BpfChainHandoffs", "boundary"));
	}
	/* metadata takes nothing from the driver tier */
	if (variant->md.integrity && !variant->unaligned)
		EXPECT_EQ(handoffs, ring_field(&self->ring, "BpfChainHandoffs", "boundary"));
}

/*
 * The chains of same_answer_as_the_generic_tier on an IOPOLL ring, in
 * both tiers.  Its poll loop must never wait: a hop that it cannot read
 * without waiting goes to io-wq (BpfChainPollWaits).  On the zoned
 * namespace every hop across a zone boundary is one: the block layer
 * would have to split it, which it never does for a nowait read.  Fails
 * if such a chain does not end (-ETIME) or ends with an error.
 */
TEST_F_TIMEOUT(limits, same_answer_on_an_iopoll_ring, 300)
{
	struct io_uring ring;
	unsigned int start;
	char ctrl[32];
	__u64 s[3];
	int i, res;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, IORING_SETUP_IOPOLL));
	ASSERT_EQ(0, io_uring_register_files(&ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
	for (start = 0; start < LIM_N; start += 3) {
		for (i = 0; i < 2; i++) {
			res = lim_run(&ring, start, i ? 0 : IORING_BPF_CHAIN_GENERIC, s,
				      self->buf, self->tag);
			ASSERT_NE(-ETIME, res)
				TH_LOG("chain from %#llx (%s tier): no CQE after 30 s",
				       (unsigned long long)lim_list[start], i ? "auto" : "generic");
			if (variant->unaligned && variant->o_direct) {
				EXPECT_EQ(-EINVAL, res);
			} else {
				EXPECT_EQ((int)(LIM_N - start), res);
				EXPECT_EQ(1000 + LIM_N - 1 + start, s[1]);
			}
		}
	}
	if (variant->zoned) {
		/*
		 * Each of the 4 chains meets a boundary in the poll loop;
		 * io-wq then reads on until the chain is back in a bio.
		 */
		EXPECT_LE(4, ring_counter(&ring, "BpfChainPollWaits"));
		/* and the driver tier ran, where the device polls */
		if (!zoned_ctrl(ctrl, sizeof(ctrl)) && zoned_io_poll(ctrl) == 1)
			EXPECT_LE(2, ring_counter(&ring, "BpfChainHopsDriver"));
	}
	io_uring_queue_exit(&ring);
}

/* Is @res, @s the answer of the chain from list element @start? */
static int lim_correct(unsigned int start, int res, const __u64 s[3])
{
	return res == (int)(LIM_N - start) && s[1] == 1000 + LIM_N - 1 + start;
}

/*
 * The device is what rig/vm-run made, so that each variant tests what it
 * says: its metadata and integrity profile, the transfer limit, two paths.
 */
TEST_F(limits, device_is_what_the_rig_made)
{
	char v[64], ctrl[32];

	if (!variant->md.integrity && !variant->max_transfer && !variant->mpath)
		SKIP(return, "checked by rig/tests/disks.sh");
	if (variant->md.integrity) {
		ASSERT_EQ(0, disk_attr(self->path, "integrity/format", v, sizeof(v)))
			TH_LOG("%s: no integrity profile (CONFIG_BLK_DEV_INTEGRITY?)",
			       self->path);
		EXPECT_STREQ(variant->md.integrity, v);
		/* the generic tier's reads are checked against it */
		if (variant->md.guard && !variant->md.extended) {
			ASSERT_EQ(0, disk_attr(self->path, "integrity/read_verify", v,
					       sizeof(v)));
			EXPECT_STREQ("1", v);
		}
		ASSERT_EQ(0, disk_attr(self->path, "metadata_bytes", v, sizeof(v)));
		EXPECT_EQ(variant->md.ms, atoi(v));
		ASSERT_EQ(0, disk_attr(self->path, "queue/logical_block_size", v, sizeof(v)));
		EXPECT_EQ(variant->unaligned ? 4096 : 512, atoi(v));
	}
	if (variant->max_transfer) {
		ASSERT_EQ(0, disk_attr(self->path, "queue/max_hw_sectors_kb", v, sizeof(v)));
		EXPECT_EQ(variant->max_transfer / 1024, atoi(v));
	}
	if (variant->mpath) {
		EXPECT_EQ(0, ctrl_by_serial(variant->mpath, 1, ctrl, sizeof(ctrl)))
			TH_LOG("no second controller with serial %s", variant->mpath);
		/*
		 * A head is a disk of the subsystem (which has no cntlid),
		 * not of a controller; without NVME_MULTIPATH there is none.
		 */
		if (access("/sys/module/nvme_core/parameters/multipath", F_OK) == 0) {
			ASSERT_EQ(0, disk_attr(self->path, "device/subsysnqn", v, sizeof(v)));
			EXPECT_EQ(0, strcmp(v + strlen(v) - strlen(variant->mpath), variant->mpath))
				TH_LOG("subsystem %s", v);
			EXPECT_NE(0, disk_attr(self->path, "device/cntlid", v, sizeof(v)))
				TH_LOG("%s is a controller's namespace, not a multipath head",
				       self->path);
		}
	}
}

/*
 * No hop is ever larger than the smallest transfer limit an NVMe
 * controller can have (mdts=1: two 4 KiB pages; 0 means no limit): the
 * opcode takes at most a page per hop.  Where a hop is larger than the
 * limit (pages larger than the limit), the block layer would split it,
 * so the generic tier must read it, with the generic tier's answer.
 */
TEST_F(limits, hop_larger_than_the_transfer_limit)
{
	long driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	unsigned int len = 2 * variant->max_transfer, i;
	struct io_uring_cqe *cqe;
	__u64 s[2][3];
	void *buf;
	int res[2];

	if (!variant->max_transfer)
		SKIP(return, "only the small-MDTS controller has a transfer limit below a page");
	ASSERT_EQ(0, posix_memalign(&buf, 4096, len));
	for (i = 0; i < 2; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		s[i][0] = 0;
		s[i][1] = 0;
		s[i][2] = self->tag;
		io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, 0, buf, len, 0);
		sqe->flags = IOSQE_FIXED_FILE;
		sqe->bpf_chain_flags = i ? IORING_BPF_CHAIN_GENERIC : 0;
		sqe->bpf_chain_scratch = (uintptr_t)s[i];
		sqe->bpf_chain_scratch_len = sizeof(s[i]);
		ASSERT_EQ(1, io_uring_submit(&self->ring));
		ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
		res[i] = cqe->res;
		io_uring_cqe_seen(&self->ring, cqe);
	}
	free(buf);
	if (len > (unsigned int)getpagesize()) {
		EXPECT_EQ(-EINVAL, res[0]);
		EXPECT_EQ(-EINVAL, res[1]);
	} else {
		EXPECT_TRUE(lim_correct(0, res[0], s[0])) TH_LOG("%d", res[0]);
		EXPECT_TRUE(lim_correct(0, res[1], s[1])) TH_LOG("%d", res[1]);
	}
	EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
	/* a hop of a page fits, and the driver tier reads it */
	EXPECT_TRUE(lim_correct(LIM_N - 1, lim_run(&self->ring, LIM_N - 1, 0, s[0],
						   self->buf, self->tag), s[0]));
	EXPECT_EQ(driver + 1, ring_counter(&self->ring, "BpfChainHopsDriver"));
}

#define LIM_INFLIGHT	4

/*
 * Reset each of the two controllers under the multipath head in turn,
 * between chains and while chains are in flight: a hop on the path whose
 * controller resets is retried there or on the other path, so every
 * answer stays right; afterwards the driver tier reads hops again.
 */
TEST_F_TIMEOUT(limits, answers_right_while_a_path_resets, 600)
{
	struct {
		__u64 s[3];
		void *buf;
		int res;
	} c[LIM_INFLIGHT];
	struct io_uring_cqe *cqe;
	char ctrl[2][32];
	__u64 s[3];
	long driver;
	int k, i;

	if (!variant->mpath)
		SKIP(return, "only the multipath namespace has two controllers");
	/* braced: the harness's TH_LOG is a statement of its own */
	for (k = 0; k < 2; k++) {
		ASSERT_EQ(0, ctrl_by_serial(variant->mpath, k, ctrl[k], sizeof(ctrl[k])))
			TH_LOG("no controller %d with serial %s (rig/vm-run adds it)", k,
			       variant->mpath);
	}
	for (i = 0; i < LIM_INFLIGHT; i++)
		ASSERT_EQ(0, posix_memalign(&c[i].buf, 4096, DRV_BS));
	for (k = 0; k < 2; k++) {
		/* between chains */
		ASSERT_EQ(0, reset_with_poll_queues(ctrl[k], NULL)) TH_LOG("%s", ctrl[k]);
		EXPECT_TRUE(lim_correct(0, lim_run(&self->ring, 0, 0, s, self->buf,
						   self->tag), s));
		EXPECT_TRUE(lim_correct(0, lim_run(&self->ring, 0, IORING_BPF_CHAIN_GENERIC,
						   s, self->buf, self->tag), s));
		/* while chains, in both tiers, are in flight */
		for (i = 0; i < LIM_INFLIGHT; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

			c[i].s[0] = i;
			c[i].s[1] = 0;
			c[i].s[2] = self->tag;
			io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, 0, c[i].buf, DRV_BS,
					 lim_list[i]);
			sqe->flags = IOSQE_FIXED_FILE;
			sqe->bpf_chain_flags = i & 1 ? IORING_BPF_CHAIN_GENERIC : 0;
			sqe->bpf_chain_scratch = (uintptr_t)c[i].s;
			sqe->bpf_chain_scratch_len = sizeof(c[i].s);
			sqe->user_data = i;
		}
		ASSERT_EQ(LIM_INFLIGHT, io_uring_submit(&self->ring));
		EXPECT_EQ(0, reset_with_poll_queues(ctrl[k], NULL)) TH_LOG("%s", ctrl[k]);
		for (i = 0; i < LIM_INFLIGHT; i++) {
			ASSERT_EQ(0, io_uring_wait_cqe(&self->ring, &cqe));
			ASSERT_GT(LIM_INFLIGHT, cqe->user_data);
			c[cqe->user_data].res = cqe->res;
			io_uring_cqe_seen(&self->ring, cqe);
		}
		for (i = 0; i < LIM_INFLIGHT; i++) {
			EXPECT_TRUE(lim_correct(i, c[i].res, c[i].s))
				TH_LOG("reset of %s: chain from %#llx: %d, %llu", ctrl[k],
				       (unsigned long long)lim_list[i], c[i].res,
				       (unsigned long long)c[i].s[1]);
		}
	}
	for (i = 0; i < LIM_INFLIGHT; i++)
		free(c[i].buf);
	/*
	 * Both paths live again: the tier the variant wants reads the hops.
	 * Not at once: the namespace scan each reset queues freezes the
	 * queues after the reset itself ended (nvme_update_ns_info()), and
	 * a hop is not continued on a queue being frozen but read by the
	 * generic tier.  So chains run until one is read wholly in the
	 * driver, 100 ms apart, for at most 10 s: a bound, not a timing.
	 */
	for (k = 0; k < 100; k++) {
		driver = ring_counter(&self->ring, "BpfChainHopsDriver");
		EXPECT_TRUE(lim_correct(0, lim_run(&self->ring, 0, 0, s, self->buf,
						   self->tag), s));
		driver = ring_counter(&self->ring, "BpfChainHopsDriver") - driver;
		if (!variant->driver || driver == (long)LIM_N)
			break;
		usleep(100 * 1000);
	}
	EXPECT_EQ(variant->driver ? (long)LIM_N : 0, driver)
		TH_LOG("driver hops of the last of %d chains after the resets",
		       k < 100 ? k + 1 : k);
}

/* CRC-16 T10-DIF (polynomial 0x8bb7, MSB first, no inversion): the guard */
static __u16 t10dif_crc(const unsigned char *p, size_t len)
{
	__u16 crc = 0;
	int bit;

	while (len--) {
		crc ^= *p++ << 8;
		for (bit = 0; bit < 8; bit++)
			crc = crc & 0x8000 ? (crc << 1) ^ 0x8bb7 : crc << 1;
	}
	return crc;
}

/*
 * CRC-64/NVME, the 64-bit guard (NVM Command Set specification, "64b
 * CRC"): polynomial 0xad93d23594c93659 reflected, initial value and final
 * XOR all ones.
 */
static __u64 nvme_crc64(const unsigned char *p, size_t len)
{
	__u64 crc = ~0ULL;
	int bit;

	while (len--) {
		crc ^= *p++;
		for (bit = 0; bit < 8; bit++)
			crc = crc & 1 ? (crc >> 1) ^ 0x9a6c9329ac4bc9b5ULL : crc >> 1;
	}
	return ~crc;
}

/*
 * Write LBA @lba of @fd, a namespace of the variant's format, with the
 * @lbs bytes of @data and their protection information (type 1 and 3
 * alike): the guard XORed with @flip, application tag 0, reference tag
 * @lba; big-endian, at the start of the metadata.  An NVMe passthrough
 * write that asks the controller neither to check nor to insert it
 * (PRINFO 0), the metadata in a buffer of its own or after the data in
 * the LBA (@v->extended).  Returns 0, or the ioctl's error or NVMe status.
 */
static int write_lba_with_pi(int fd, const struct lim_metadata *v, unsigned int lbs,
			     __u64 lba, const void *data, __u64 flip)
{
	unsigned char pi[16] = {};
	struct nvme_passthru_cmd cmd = {
		.opcode = 0x01,			/* Write */
		.cdw10 = (__u32)lba,
		.cdw11 = (__u32)(lba >> 32),
		.cdw12 = 0,			/* one LBA, PRINFO 0 */
	};
	__be16 g16;
	__be64 g64;
	__be32 r32;
	char *buf;
	int i, nsid, ret;

	if (v->guard == 64) {
		/* guard, application tag, 48-bit reference tag */
		g64 = htobe64(nvme_crc64(data, lbs) ^ flip);
		memcpy(pi, &g64, 8);
		for (i = 0; i < 6; i++)
			pi[10 + i] = lba >> (8 * (5 - i));
	} else {
		/* guard, application tag, 32-bit reference tag */
		g16 = htobe16(t10dif_crc(data, lbs) ^ (__u16)flip);
		r32 = htobe32((__u32)lba);
		memcpy(pi, &g16, 2);
		memcpy(pi + 4, &r32, 4);
	}
	nsid = ioctl(fd, NVME_IOCTL_ID);
	if (nsid <= 0 || v->ms > (int)sizeof(pi) ||
	    posix_memalign((void **)&buf, 4096, lbs + v->ms))
		return -1;
	memcpy(buf, data, lbs);
	memcpy(buf + lbs, pi, v->ms);
	cmd.nsid = nsid;
	cmd.addr = (uintptr_t)buf;
	cmd.data_len = lbs + (v->extended ? v->ms : 0);
	if (!v->extended) {
		cmd.metadata = (uintptr_t)(buf + lbs);
		cmd.metadata_len = v->ms;
	}
	ret = ioctl(fd, NVME_IOCTL_IO_CMD, &cmd);
	free(buf);
	return ret;
}

/*
 * A block whose guard tag is wrong, the second of the chain: the
 * device's check fails that hop, in either tier, and the chain ends
 * -EILSEQ (BLK_STS_PROTECTION), after the driver tier read the hop before
 * it and sent this one.  The same write with the right guard is read back
 * first: the tuple this test writes is what the device and the kernel
 * expect.  On 4096-byte LBAs the chains end at their third, unaligned
 * block (-EINVAL), as in same_answer_as_the_generic_tier.
 */
TEST_F(limits, wrong_guard_tag_ends_the_chain)
{
	unsigned int lbs = variant->unaligned ? 4096 : 512;
	__u64 lba = lim_list[1] / lbs, s[3];
	long driver;
	int wfd, i, res;

	if (!variant->md.guard)
		SKIP(return, "only namespaces with protection information have guard tags");
	wfd = open(self->path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, wfd);
	ASSERT_EQ(0, write_lba_with_pi(wfd, &variant->md, lbs, lba, self->img + lim_list[1], 0));
	for (i = 0; i < 2; i++) {
		driver = ring_counter(&self->ring, "BpfChainHopsDriver");
		res = lim_run(&self->ring, 0, i ? 0 : IORING_BPF_CHAIN_GENERIC, s, self->buf,
			      self->tag);
		EXPECT_TRUE(variant->unaligned ? res == -EINVAL : lim_correct(0, res, s))
			TH_LOG("%d", res);
		/* the unaligned third block goes to the generic tier */
		EXPECT_EQ(driver + (i ? (variant->unaligned ? 2 : (long)LIM_N) : 0),
			  ring_counter(&self->ring, "BpfChainHopsDriver"));
	}

	ASSERT_EQ(0, write_lba_with_pi(wfd, &variant->md, lbs, lba, self->img + lim_list[1], 1));
	EXPECT_EQ(-1, pread(self->fd, self->buf, DRV_BS, lim_list[1]));
	EXPECT_EQ(EILSEQ, errno);
	for (i = 0; i < 2; i++) {
		driver = ring_counter(&self->ring, "BpfChainHopsDriver");
		EXPECT_EQ(-EILSEQ, lim_run(&self->ring, 0, i ? 0 : IORING_BPF_CHAIN_GENERIC,
					   s, self->buf, self->tag));
		if (i)
			EXPECT_LE(driver + 1, ring_counter(&self->ring, "BpfChainHopsDriver"));
	}
	/* the LBA as the fixture wrote it, protection information included */
	EXPECT_EQ(lbs, pwrite(wfd, self->img + lba * lbs, lbs, lba * lbs));
	close(wfd);
}

/*
 * An IOPOLL ring on a controller without poll queues (nvme.poll_queues=0
 * is nvme's default): the device cannot take polled bios, so the generic
 * tier reads every hop.  One block, inside a zone.  A reset takes up to
 * 40 s on the debug kernel (ACPI), and writing reset_controller waits for
 * it: the test must not be killed while nvme.poll_queues is 0, or every
 * later reset, of any controller, comes up without a poll queue.
 */
TEST_F_TIMEOUT(limits, iopoll_ring_without_poll_queues, 600)
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
