// SPDX-License-Identifier: GPL-2.0
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
#include "bpf_chain_helpers.h"

#include <sys/klog.h>

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
	/*
	 * The IOPOLL rings' driver tier needs a poll queue: rig/vm-run
	 * boots with nvme.poll_queues=1, which every reset reads again.
	 */
	snprintf(path, sizeof(path), "/sys/block/%s/queue/io_poll", self->disk);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s", path);
	ret = fscanf(f, "%d", &i);
	fclose(f);
	ASSERT_EQ(1, ret);
	ASSERT_EQ(1, i) TH_LOG("%s has no poll queue: was nvme.poll_queues left at 0?",
			       self->disk);
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

/* Requests in flight on @disk's queue (/sys/block/@disk/inflight), or -1. */
static long disk_inflight(const char *disk)
{
	long reads, writes;
	char path[64];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/block/%s/inflight", disk);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fscanf(f, "%ld %ld", &reads, &writes);
	fclose(f);
	return n == 2 ? reads + writes : -1;
}

/* How often the kernel log says @what. */
static int klog_count(const char *what)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), n = 0, len;
	char *buf, *p;

	if (size <= 0)
		return -1;
	buf = malloc(size + 1);
	if (!buf)
		return -1;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	if (len < 0) {
		free(buf);
		return -1;
	}
	buf[len] = 0;
	for (p = buf; (p = strstr(p, what)); p++)
		n++;
	free(buf);
	return n;
}

/*
 * A chain on an IOPOLL ring whose process stops polling with a hop in
 * flight (item 8; a process stopped with SIGSTOP is one): its completion
 * waits on the poll queue, the request times out, and nvme_timeout()'s
 * polling finds the completion.  The block layer does not continue a
 * request the timeout handler has: the hop completes there, the
 * controller stays live with no abort or reset, and when the process
 * polls again the chain goes on from its next hop to the right answer.
 * Certain, not timed: nothing polls the queue until the kernel log says
 * the timeout handler found the completion.  Polling one request of a
 * poll queue reaps every completion there, so the chain starts once the
 * disk has no request of another ring in flight (a ring of an earlier
 * test that is still being torn down polls for its own).
 */
TEST_F_TIMEOUT(faults, timeout_while_nobody_polls, 120)
{
	static const char polled[] = "timeout, completion polled";
	static struct drv_chain c;
	struct io_uring_cqe *cqe;
	char state[32] = "", path[64];
	struct io_uring poll;
	long hops, first, drv, gen, waits, busy;
	int before, res, i;
	FILE *f;

	ASSERT_EQ(0, disk_knob(self->disk, "queue/io_timeout", 1000));
	ASSERT_EQ(0, fault_poll_ring(&poll, self->fd, self->prog));
	/* the ring's first chain builds its block map */
	ASSERT_EQ(NBLOCKS, fault_chain(&poll, 0, "BpfChainHopsDriver", self->tag, &first));
	/* which tier reads the chain that is not polled for, hop by hop */
	drv = ring_counter(&poll, "BpfChainHopsDriver");
	gen = ring_counter(&poll, "BpfChainHopsGeneric");
	waits = ring_counter(&poll, "BpfChainPollWaits");
	before = klog_count(polled);
	ASSERT_LE(0, before) TH_LOG("cannot read the kernel log");
	busy = disk_inflight(self->disk);
	for (i = 0; i < 1200 && disk_inflight(self->disk) != 0; i++)
		usleep(100000);
	ASSERT_EQ(0, disk_inflight(self->disk)) TH_LOG("requests of other rings in flight");
	TH_LOG("stats: %ld requests of other rings in flight, gone after %d ms", busy, i * 100);
	drv_prep(io_uring_get_sqe(&poll), &c, 0, self->tag);
	ASSERT_EQ(1, io_uring_submit(&poll));
	/*
	 * No polling until the timeout handler has found the completion
	 * (io_timeout is 1 s; a minute covers the slowest emulated guest).
	 */
	for (i = 0; i < 600 && klog_count(polled) <= before; i++)
		usleep(100000);
	EXPECT_LT(before, klog_count(polled))
		TH_LOG("the hop did not time out (%ld requests in flight)",
		       disk_inflight(self->disk));
	ASSERT_EQ(0, io_uring_wait_cqe(&poll, &cqe));
	res = cqe->res;
	io_uring_cqe_seen(&poll, cqe);
	EXPECT_TRUE(drv_correct(&c, res)) TH_LOG("chain: %d", res);
	TH_LOG("stats: first chain %ld driver hops; unpolled: driver %ld generic %ld waits %ld",
	       first, ring_counter(&poll, "BpfChainHopsDriver") - drv,
	       ring_counter(&poll, "BpfChainHopsGeneric") - gen,
	       ring_counter(&poll, "BpfChainPollWaits") - waits);
	snprintf(path, sizeof(path), "/sys/class/nvme/%.*s/state",
		 (int)(strrchr(self->disk, 'n') - self->disk), self->disk);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s", path);
	ASSERT_EQ(1, fscanf(f, "%31s", state));
	fclose(f);
	EXPECT_STREQ("live", state);
	/* the disk answers at once */
	EXPECT_EQ(NBLOCKS, fault_chain(&poll, 0, "BpfChainHopsDriver", self->tag, &hops));
	EXPECT_EQ(NBLOCKS, hops);
	io_uring_queue_exit(&poll);
	TH_LOG("stats: %s: a hop timed out unpolled, the timeout handler found it",
	       self->disk);
	TH_LOG("stats: chain %d, controller %s", res, state);
}

TEST_HARNESS_MAIN
