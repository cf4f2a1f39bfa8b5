// SPDX-License-Identifier: GPL-2.0
/*
 * The NVMe driver tier: chains over files on ext4 (O_DIRECT and
 * buffered) and xfs on NVMe, on a raw NVMe partition, and on ext4 over
 * virtio-blk, where the driver never runs a hop.  They walk
 * tagged_walker's lists, so that a block the file no longer owns cannot
 * pass for an answer, and check in the ring's fdinfo which tier ran each
 * hop: while the file's layout changes under them, on IOPOLL rings, in
 * the block layer's statistics, under stress, and with hostile programs.
 */
#include "bpf_chain_helpers.h"

#include <dirent.h>
#include <mntent.h>
#include <poll.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/fsverity.h>

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

/* Write @val to the cgroup file @dir/@file. */
static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return put_string(path, val);
}

/* rios of the disk @devno in the cgroup @dir's io.stat, or -1 */
static long cg_rios(const char *dir, const char *devno)
{
	char path[256], line[512], *p;
	long rios = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/io.stat", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, devno, strlen(devno)) && line[strlen(devno)] == ' ') {
			p = strstr(line, " rios=");
			if (p)
				rios = strtol(p + 6, NULL, 10);
		}
	fclose(f);
	return rios == -1 ? 0 : rios;	/* no line yet: no I/O yet */
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define CG_ROOT		"/tmp/bpf_chain_cgroup"
#define CG_RIOPS	20

/*
 * Resource control (item 6): in a cgroup whose io.max allows 20 reads a
 * second on the disk, every hop of a chain is one read to blk-cgroup:
 * counted in the cgroup's io.stat and throttled, on an interrupt ring
 * and on an IOPOLL ring.  64 hops at 20 a second take more than 2 s
 * whatever the machine (the throttle's first slice may let a few through
 * at once); unthrottled they take milliseconds.  Back in its own cgroup,
 * the process's chains run in the driver tier again: io.max set for one
 * cgroup does not turn it off for the disk's other readers.  Raw
 * partition only: on a file system, the file system's own reads would be
 * charged too.
 */
TEST_F_TIMEOUT(driver, hops_charged_and_throttled_by_io_max, 120)
{
	char cg[128], pid[32], disk[64], devno[32], sys[128], home[256] = CG_ROOT;
	struct drv_chain *c = calloc(1, sizeof(*c));
	int mounted = 0, flags, i;
	long rios, driver;
	struct io_uring ring;
	double t0, took;
	FILE *f;

	if (!variant->dev)
		SKIP(return, "a file system reads the disk for itself too");
	/* the disk's major:minor: io.max is per disk, not per partition */
	snprintf(sys, sizeof(sys), "/sys/class/block/%s/../dev", strrchr(variant->dev, '/') + 1);
	f = fopen(sys, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%31s", devno));
	fclose(f);
	snprintf(disk, sizeof(disk), "%s riops=%d", devno, CG_RIOPS);

	mkdir(CG_ROOT, 0755);
	if (access(CG_ROOT "/cgroup.controllers", F_OK)) {
		if (mount("none", CG_ROOT, "cgroup2", 0, NULL))
			SKIP(return, "cgroup2: %s", strerror(errno));
		mounted = 1;
	}
	if (cg_write(CG_ROOT, "cgroup.subtree_control", "+io")) {
		if (mounted)
			umount(CG_ROOT);
		SKIP(return, "no io controller: %s", strerror(errno));
	}
	/* the cgroup to come back to: "0::/path" in /proc/self/cgroup */
	f = fopen("/proc/self/cgroup", "r");
	ASSERT_NE(NULL, f);
	while (fgets(sys, sizeof(sys), f))
		if (!strncmp(sys, "0::", 3)) {
			sys[strcspn(sys, "\n")] = 0;
			snprintf(home, sizeof(home), CG_ROOT "%s", sys + 3);
		}
	fclose(f);
	snprintf(cg, sizeof(cg), CG_ROOT "/chain.%d", getpid());
	ASSERT_EQ(0, mkdir(cg, 0755));
	ASSERT_EQ(0, cg_write(cg, "io.max", disk)) TH_LOG("io.max %s: %s", disk, strerror(errno));
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, cg_write(cg, "cgroup.procs", pid));

	for (i = 0; i < 2; i++) {
		flags = i ? IORING_SETUP_IOPOLL : 0;
		ASSERT_EQ(0, io_uring_queue_init(16, &ring, flags));
		ASSERT_EQ(0, io_uring_register_files(&ring, &self->fd, 1));
		ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
		rios = cg_rios(cg, devno);
		driver = ring_counter(&ring, "BpfChainHopsDriver");
		t0 = now_seconds();
		EXPECT_TRUE(drv_correct(c, drv_run(&ring, c, 0, self->tag)))
			TH_LOG("%s ring: %lld", i ? "IOPOLL" : "interrupt",
			       (long long)c->scratch[1]);
		took = now_seconds() - t0;
		TH_LOG("%s ring: %d hops in %.2f s, %ld reads charged, %ld in the driver tier",
		       i ? "IOPOLL" : "interrupt", NBLOCKS, took, cg_rios(cg, devno) - rios,
		       ring_counter(&ring, "BpfChainHopsDriver") - driver);
		EXPECT_EQ(rios + NBLOCKS, cg_rios(cg, devno));
		EXPECT_LT(2.0, took);
		io_uring_queue_exit(&ring);
	}

	ASSERT_EQ(0, cg_write(home, "cgroup.procs", pid));
	EXPECT_EQ(0, rmdir(cg));
	driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	EXPECT_TRUE(drv_correct(c, drv_run(&self->ring, c, 0, self->tag)));
	EXPECT_EQ(driver + NBLOCKS, ring_counter(&self->ring, "BpfChainHopsDriver"));
	if (mounted)
		umount(CG_ROOT);
	free(c);
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
 * EXT4_IOC_MOVE_EXT, what e4defrag runs: its argument, from ext4's
 * private header (fs/ext4/ext4.h), in blocks of the file system.
 */
struct ext4_move_extent {
	__u32 reserved;
	__u32 donor_fd;
	__u64 orig_start;
	__u64 donor_start;
	__u64 len;
	__u64 moved_len;
};

#define EXT4_IOC_MOVE_EXT	_IOWR('f', 15, struct ext4_move_extent)

/*
 * The file's extents swapped with a copy's by what the defragmenters run
 * (XFS_IOC_SWAPEXT for xfs_fsr, EXT4_IOC_MOVE_EXT for e4defrag), and the
 * copy's (the file's old blocks) then rewritten with another tag.  No
 * chain, from this ring or a new one, may read them.
 */
TEST_F(driver, swapped_extents)
{
	long invalidated = ring_field(&self->ring, "BpfChainMaps", "invalidated");
	__u64 other = self->tag ^ 0xf0f0f0f0f0f0f0f0ULL;
	char donor[300], cmd[700];
	static struct drv_chain c;
	struct io_uring ring;
	struct stat st;
	__u64 before;
	int dfd;

	if (!variant->dir)
		SKIP(return, "a block device has no extents to swap");
	ASSERT_EQ(NBLOCKS, drv_run(&self->ring, &c, 0, self->tag));
	before = first_physical(self->wfd);
	ASSERT_NE(0, before);

	snprintf(donor, sizeof(donor), "%s.donor", self->path);
	dfd = open(donor, O_CREAT | O_TRUNC | O_RDWR, 0600);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, write_all(dfd, self->blk, self->tag));
	ASSERT_EQ(0, fsync(dfd));
	if (!strcmp(variant->dir, "/mnt/nvme-xfs")) {
		snprintf(cmd, sizeof(cmd), "xfs_io -c 'swapext %s' %s", donor, self->path);
		ASSERT_EQ(0, system(cmd)) TH_LOG("%s", cmd);
	} else {
		struct ext4_move_extent me = { .donor_fd = dfd };

		ASSERT_EQ(0, fstat(self->wfd, &st));
		me.len = (__u64)NBLOCKS * DRV_BS / st.st_blksize;
		ASSERT_EQ(0, ioctl(self->wfd, EXT4_IOC_MOVE_EXT, &me))
			TH_LOG("EXT4_IOC_MOVE_EXT: %s", strerror(errno));
		ASSERT_EQ(me.len, me.moved_len);
	}
	close(dfd);
	/* the file's blocks moved: its old ones are the donor's now */
	EXPECT_NE(before, first_physical(self->wfd));
	dfd = open(donor, O_RDWR | O_DIRECT);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(before, first_physical(dfd));
	ASSERT_EQ(0, write_all(dfd, self->blk, other));
	ASSERT_EQ(0, fsync(dfd));
	close(dfd);

	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	if (variant->driver)
		EXPECT_LT(invalidated, ring_field(&self->ring, "BpfChainMaps", "invalidated"));
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, io_uring_register_files(&ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
	EXPECT_TRUE(drv_correct(&c, drv_run(&ring, &c, 3, self->tag)));
	if (variant->driver)
		EXPECT_LT(0, ring_counter(&ring, "BpfChainHopsDriver"));
	io_uring_queue_exit(&ring);
	unlink(donor);
}

/*
 * Data journalling turned on for the file (chattr +j, which ext4 honours
 * without delayed allocation) after its map was built.  ext4 does no
 * direct I/O on such a file (its writes go through the journal), and the
 * driver tier reads the device as direct I/O does: turning it on breaks
 * the lease, and ext4 reports no extents for such a file, so chains read
 * what was written, all in the generic tier, from this ring or a new one.
 * Before, the driver went on reading with the old map.  The file system
 * is remounted without delayed allocation for the test and with it
 * after: nothing between may return early.
 */
TEST_F(driver, data_journalling_turned_on_after_the_map_was_built)
{
	long invalidated = ring_field(&self->ring, "BpfChainMaps", "invalidated");
	__u64 other = self->tag ^ 0x0ff00ff00ff00ff0ULL;
	static struct drv_chain c;
	long built, driver;
	struct io_uring ring;
	int flags = 0;

	if (!variant->driver || !variant->dir || strcmp(variant->dir, "/mnt/nvme"))
		SKIP(return, "data journalling is ext4's (here on NVMe)");
	ASSERT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	ASSERT_LT(0, driver);
	built = ring_field(&self->ring, "BpfChainMaps", "built");
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, io_uring_register_files(&ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
	if (system("mount -o remount,nodelalloc /mnt/nvme"))
		SKIP(return, "cannot remount /mnt/nvme with nodelalloc");

	EXPECT_EQ(0, ioctl(self->wfd, FS_IOC_GETFLAGS, &flags));
	flags |= FS_JOURNAL_DATA_FL;
	EXPECT_EQ(0, ioctl(self->wfd, FS_IOC_SETFLAGS, &flags))
		TH_LOG("chattr +j: %s", strerror(errno));
	EXPECT_EQ(0, write_all(self->wfd, self->blk, other));
	EXPECT_EQ(0, fsync(self->wfd));
	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, other)));
	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 7, other)));
	/* nor is a map built for a new ring */
	EXPECT_TRUE(drv_correct(&c, drv_run(&ring, &c, 3, other)));

	EXPECT_EQ(0, system("mount -o remount,delalloc /mnt/nvme"));
	EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
	EXPECT_LT(invalidated, ring_field(&self->ring, "BpfChainMaps", "invalidated"));
	EXPECT_EQ(built, ring_field(&self->ring, "BpfChainMaps", "built"));
	EXPECT_EQ(0, ring_counter(&ring, "BpfChainHopsDriver"));
	EXPECT_EQ(0, ring_field(&ring, "BpfChainMaps", "built"));
	io_uring_queue_exit(&ring);
}

/*
 * A reflinked file copies on write: written blocks go to new places,
 * which replace the shared ones only when the writeback completes, and a
 * write through mmap breaks no lease.  Reflinking breaks the lease, and
 * xfs reports no extents for a file that can copy on write: chains after
 * it, and after a write through mmap, read what was written, all in the
 * generic tier.
 */
TEST_F(driver, reflinked_file_copies_on_write)
{
	__u64 other = self->tag ^ 0x3cc33cc33cc33cc3ULL;
	static struct drv_chain c;
	long driver, generic;
	char clone[300];
	int cfd, mfd;
	char *m;

	if (!variant->dir || strcmp(variant->dir, "/mnt/nvme-xfs"))
		SKIP(return, "reflink is xfs's here");
	ASSERT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	ASSERT_LT(0, driver);

	snprintf(clone, sizeof(clone), "%s.clone", self->path);
	cfd = open(clone, O_CREAT | O_TRUNC | O_RDWR, 0600);
	ASSERT_LE(0, cfd);
	if (ioctl(cfd, FICLONE, self->wfd)) {
		int err = errno;

		close(cfd);
		unlink(clone);
		SKIP(return, "FICLONE: %s (xfs needs -m reflink=1)", strerror(err));
	}
	generic = ring_counter(&self->ring, "BpfChainHopsGeneric");
	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
	EXPECT_EQ(generic + NBLOCKS, ring_counter(&self->ring, "BpfChainHopsGeneric"));

	/* the new list, composed in memory and copied in through mmap */
	mfd = memfd_create("list", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, write_all(mfd, self->blk, other));
	m = mmap(NULL, NBLOCKS * DRV_BS, PROT_READ | PROT_WRITE, MAP_SHARED, self->wfd, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(NBLOCKS * DRV_BS, pread(mfd, m, NBLOCKS * DRV_BS, 0));
	munmap(m, NBLOCKS * DRV_BS);
	close(mfd);

	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, other)));
	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 9, other)));
	EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
	/* the clone keeps the old list */
	EXPECT_EQ(0, pread(cfd, self->blk, DRV_BS, 0) == DRV_BS ?
		     memcmp((char *)self->blk + 16, &self->tag, 8) : -1);
	close(cfd);
	unlink(clone);
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

/* The first 8 bytes of the block into scratch[0], and done. */
static const struct bpf_insn first_word[] = {
	BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, CTX(data)),
	BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, CTX(data_end)),
	BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
	BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 8),
	BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
	BPF_MOV64_IMM(BPF_REG_0, -EBADMSG),
	BPF_EXIT_INSN(),
	BPF_LDX_MEM(BPF_DW, BPF_REG_5, BPF_REG_2, 0),
	BPF_LDX_MEM(BPF_W, BPF_REG_6, BPF_REG_1, CTX(scratch)),
	BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_5, 0),
	BPF_MOV64_IMM(BPF_REG_0, BPF_IO_CHAIN_DONE),
	BPF_EXIT_INSN(),
};

/*
 * A nowait buffered read that stops short inside the file (item 9): a
 * hop of 4096 bytes at 2048, its first page in the page cache and its
 * second not.  The read copies the first half and stops at the page it
 * would wait for; the chain reads the block again where it may block,
 * and answers, instead of ending with -ERANGE.  mincore() shows the
 * page cache as the test wants it before the chain runs.
 */
TEST_F(driver, short_nowait_buffered_read)
{
	__u64 marker = self->tag ^ 0x0123456789abcdefULL, scratch[2] = {};
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int fd, rfd, prog;
	unsigned char vec[2];
	char byte;
	void *map;

	if (variant->dev)
		SKIP(return, "the raw partition is written with O_DIRECT");
	ASSERT_EQ(8, pwrite(self->wfd, &marker, 8, 2048));
	ASSERT_EQ(0, fsync(self->wfd));
	fd = open(self->path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	/* page 0 alone into the cache: no readahead on this file */
	rfd = open(self->path, O_RDONLY);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, posix_fadvise(rfd, 0, 0, POSIX_FADV_RANDOM));
	ASSERT_EQ(1, pread(rfd, &byte, 1, 0));
	close(rfd);
	map = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mincore(map, 2 * 4096, vec));
	munmap(map, 2 * 4096);
	ASSERT_EQ(1, vec[0] & 1);
	ASSERT_EQ(0, vec[1] & 1) TH_LOG("page 1 is cached already");

	prog = prog_load(BPF_PROG_TYPE_IO_CHAIN, first_word, ARRAY_SIZE(first_word));
	ASSERT_LE(0, prog);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, io_uring_register_files(&ring, &fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &prog, 1, 0));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, 0, self->blk, DRV_BS, 2048);
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->bpf_chain_flags = IORING_BPF_CHAIN_GENERIC;
	sqe->bpf_chain_scratch = (uintptr_t)scratch;
	sqe->bpf_chain_scratch_len = sizeof(scratch);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(0, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	EXPECT_EQ(marker, scratch[0]);
	EXPECT_EQ(1, ring_counter(&ring, "BpfChainHopsGeneric"));
	io_uring_queue_exit(&ring);
	close(prog);
	close(fd);
}

/* The /dev node of the block device @path's file system is on. */
static int fs_device(const char *path, char *dev, size_t size)
{
	char uevent[64], line[128];
	struct stat st;
	int ok = -1;
	FILE *f;

	if (stat(path, &st))
		return -1;
	snprintf(uevent, sizeof(uevent), "/sys/dev/block/%u:%u/uevent",
		 major(st.st_dev), minor(st.st_dev));
	f = fopen(uevent, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(dev, size, "/dev/%s", line + 8);
			ok = 0;
		}
	fclose(f);
	return ok;
}

/*
 * fs-verity enabled on a file after its block map was built (item 10):
 * its reads must be checked against the Merkle tree, which only the
 * file system's read path does, so the driver tier steps aside for every
 * hop.  Then the file's first block is changed under the file system, on
 * the device: pread() fails with -EIO, and so must a chain; it must never
 * walk the changed block.
 */
TEST_F(driver, verity_enabled_after_the_map_was_built)
{
	struct fsverity_enable_arg arg = {
		.version = 1, .hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
		.block_size = 4096,
	};
	static struct drv_chain c;
	long driver, generic;
	char dev[160];
	__u64 phys;
	int vfd, dfd;

	if (variant->dev)
		SKIP(return, "a block device has no fs-verity");
	ASSERT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	/* fs-verity wants no writer */
	close(self->wfd);
	self->wfd = -1;
	vfd = open(self->path, O_RDONLY);
	ASSERT_LE(0, vfd);
	if (ioctl(vfd, FS_IOC_ENABLE_VERITY, &arg)) {
		int err = errno;

		close(vfd);
		SKIP(return, "FS_IOC_ENABLE_VERITY: %s (ext4 needs -O verity)", strerror(err));
	}
	driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	generic = ring_counter(&self->ring, "BpfChainHopsGeneric");
	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
	EXPECT_EQ(generic + NBLOCKS, ring_counter(&self->ring, "BpfChainHopsGeneric"));

	/* the file's block 0, changed on the device */
	phys = first_physical(vfd);
	ASSERT_NE(0, phys);
	ASSERT_EQ(0, fs_device(self->path, dev, sizeof(dev)));
	dfd = open(dev, O_WRONLY | O_DIRECT);
	ASSERT_LE(0, dfd) TH_LOG("%s: %s", dev, strerror(errno));
	memset(self->blk, 0, DRV_BS);
	ASSERT_EQ(DRV_BS, pwrite(dfd, self->blk, DRV_BS, phys));
	close(dfd);
	ASSERT_EQ(0, posix_fadvise(vfd, 0, 0, POSIX_FADV_DONTNEED));
	EXPECT_EQ(-1, pread(vfd, self->blk, DRV_BS, 0));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-EIO, drv_run(&self->ring, &c, 0, self->tag));
	EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));
	close(vfd);
}

/* Answers every fanotify permission event on @fan with FAN_ALLOW, and counts them. */
struct perm_answerer {
	int fan;
	int stop;
	long events;
	long unanswered;
};

static void *answer_permission_events(void *arg)
{
	struct perm_answerer *a = arg;
	struct fanotify_event_metadata buf[16], *ev;
	struct fanotify_response r;
	struct pollfd pfd = { .fd = a->fan, .events = POLLIN };
	ssize_t len;

	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		len = read(a->fan, buf, sizeof(buf));
		for (ev = buf; len > 0 && FAN_EVENT_OK(ev, len); ev = FAN_EVENT_NEXT(ev, len)) {
			if (ev->mask & FAN_ACCESS_PERM) {
				/* counted before the reader can go on */
				__atomic_add_fetch(&a->events, 1, __ATOMIC_RELEASE);
				r.fd = ev->fd;
				r.response = FAN_ALLOW;
				if (write(a->fan, &r, sizeof(r)) != sizeof(r))
					__atomic_add_fetch(&a->unanswered, 1, __ATOMIC_RELEASE);
			}
			if (ev->fd >= 0)
				close(ev->fd);
		}
	}
	return NULL;
}

/*
 * A fanotify listener for permission events on the file (item 10): every
 * read of a file opened while it listens asks it first, and a chain is a
 * read per hop, so every hop must; the driver tier, which continues hops
 * where nothing may wait for the listener, steps aside for such a file.
 * The chain's file is opened again once the listener is there (6.12
 * decides at open whether a file's reads ask), and the listener's
 * answers are counted: one per hop at least.  The file opened before
 * the listener still runs in the driver, as its read(2)s skip it.
 */
TEST_F(driver, fanotify_permission_events_for_every_hop)
{
	struct perm_answerer a = { .fan = -1 };
	static struct drv_chain c;
	long driver, generic;
	struct io_uring ring;
	pthread_t t;
	int fd;

	if (variant->dev)
		SKIP(return, "a raw partition is no file system's file");
	a.fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
	if (a.fan < 0)
		SKIP(return, "fanotify permission events: %s", strerror(errno));
	ASSERT_EQ(0, fanotify_mark(a.fan, FAN_MARK_ADD, FAN_ACCESS_PERM, AT_FDCWD, self->path))
		TH_LOG("fanotify_mark: %s", strerror(errno));
	ASSERT_EQ(0, pthread_create(&t, NULL, answer_permission_events, &a));

	fd = open(self->path, O_RDONLY | (variant->o_direct ? O_DIRECT : 0));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(16, &ring, 0));
	ASSERT_EQ(0, io_uring_register_files(&ring, &fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
	EXPECT_TRUE(drv_correct(&c, drv_run(&ring, &c, 0, self->tag)));
	EXPECT_LE(NBLOCKS, __atomic_load_n(&a.events, __ATOMIC_ACQUIRE));
	EXPECT_EQ(0, __atomic_load_n(&a.unanswered, __ATOMIC_ACQUIRE));
	EXPECT_EQ(0, ring_counter(&ring, "BpfChainHopsDriver"));
	EXPECT_EQ(NBLOCKS, ring_counter(&ring, "BpfChainHopsGeneric"));
	TH_LOG("%d hops, %ld permission events answered", NBLOCKS,
	       __atomic_load_n(&a.events, __ATOMIC_ACQUIRE));
	io_uring_queue_exit(&ring);
	close(fd);

	/* opened before the listener: its reads do not ask */
	driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	generic = ring_counter(&self->ring, "BpfChainHopsGeneric");
	EXPECT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	EXPECT_EQ(driver + (variant->driver ? NBLOCKS : 0),
		  ring_counter(&self->ring, "BpfChainHopsDriver"));
	EXPECT_EQ(generic + (variant->driver ? 0 : NBLOCKS),
		  ring_counter(&self->ring, "BpfChainHopsGeneric"));

	__atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	close(a.fan);
}

/* EXT4_IOC_SHUTDOWN and XFS_IOC_GOINGDOWN: one number, the same flags */
#define FS_GOINGDOWN		_IOR('X', 125, __u32)
#define FS_GOING_NOLOGFLUSH	0x2	/* shut down without flushing the log */

/* Unmount @dir once nothing holds it any more, then mount @dev there again. */
static int remount(const char *dir, const char *dev)
{
	char type[32] = "";
	struct mntent *m;
	FILE *f;
	int i;

	f = setmntent("/proc/self/mounts", "r");
	if (!f)
		return -1;
	while ((m = getmntent(f)))
		if (!strcmp(m->mnt_dir, dir))
			snprintf(type, sizeof(type), "%s", m->mnt_type);
	endmntent(f);
	if (!type[0])
		return -1;
	/* a ring's files are let go by its exit work, after io_uring_queue_exit() */
	for (i = 0; umount2(dir, 0); i++) {
		if (errno != EBUSY || i == 600)
			return -1;
		usleep(100 * 1000);
	}
	/* rig/guest-init mounts them with no options */
	return mount(dev, dir, type, 0, NULL);
}

/*
 * The file system shuts down (item 4) after a chain built the file's
 * block map: from then on pread() fails with -EIO, and so must every
 * chain, in both tiers; the driver tier must not go on reading the
 * blocks its map remembers.  The test mounts the file system again for
 * the tests after it, waiting up to 60 s for the ring to let it go, and
 * reads the file there.
 */
TEST_F_TIMEOUT(driver, reads_fail_once_the_file_system_shut_down, 120)
{
	__u32 how = FS_GOING_NOLOGFLUSH;
	static struct drv_chain c;
	long driver;
	char dev[160];

	if (variant->dev)
		SKIP(return, "a raw partition has no file system to shut down");
	ASSERT_EQ(0, fs_device(self->path, dev, sizeof(dev)));
	driver = ring_counter(&self->ring, "BpfChainHopsDriver");
	ASSERT_TRUE(drv_correct(&c, drv_run(&self->ring, &c, 0, self->tag)));
	if (variant->driver)
		ASSERT_EQ(driver + NBLOCKS, ring_counter(&self->ring, "BpfChainHopsDriver"));
	driver = ring_counter(&self->ring, "BpfChainHopsDriver");

	ASSERT_EQ(0, ioctl(self->wfd, FS_GOINGDOWN, &how)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(-1, pread(self->fd, self->blk, DRV_BS, 0));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-EIO, drv_run(&self->ring, &c, 0, self->tag));
	EXPECT_EQ(-EIO, drv_run(&self->ring, &c, NBLOCKS / 2, self->tag));
	EXPECT_EQ(driver, ring_counter(&self->ring, "BpfChainHopsDriver"));

	close(self->fd);
	close(self->wfd);
	self->fd = -1;
	self->wfd = -1;
	io_uring_queue_exit(&self->ring);
	self->ring_ok = 0;
	ASSERT_EQ(0, remount(variant->dir, dev)) TH_LOG("%s on %s: %s", dev, variant->dir,
							strerror(errno));
	/* a new superblock, not the one that shut down */
	self->fd = open(self->path, O_RDONLY);
	ASSERT_LE(0, self->fd) TH_LOG("%s: %s", self->path, strerror(errno));
	EXPECT_EQ(DRV_BS, pread(self->fd, self->blk, DRV_BS, 0));
}

/* Make the list a cycle: its last element links back to the first. */
static int close_the_list(int fd, void *blk, __u64 tag)
{
	__u64 next = (__u64)LIST_POS(0) * DRV_BS, val = 1000 + NBLOCKS - 1;

	memset(blk, 0x5a, DRV_BS);
	memcpy(blk, &next, 8);
	memcpy((char *)blk + 8, &val, 8);
	memcpy((char *)blk + 16, &tag, 8);
	if (pwrite(fd, blk, DRV_BS, (off_t)LIST_POS(NBLOCKS - 1) * DRV_BS) != DRV_BS)
		return -1;
	return fsync(fd);
}

static int prog_id(int prog)
{
	struct bpf_prog_info info = {};
	union bpf_attr attr = {};

	attr.info.bpf_fd = prog;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uintptr_t)&info;
	if (syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)))
		return -1;
	return info.id;
}

/* Does a BPF program with this id still exist? */
static bool prog_alive(int id)
{
	union bpf_attr attr = {};
	int fd;

	attr.prog_id = id;
	fd = syscall(__NR_bpf, BPF_PROG_GET_FD_BY_ID, &attr, sizeof(attr));
	if (fd < 0)
		return errno != ENOENT;
	close(fd);
	return true;
}

#define EXIT_CHAINS	64
#define EXIT_HOPS	65536

/*
 * The child: a ring of its own, its own copy of the program (so that the
 * program lives exactly as long as the ring and its chains), EXIT_CHAINS
 * chains around a cycle with a limit of EXIT_HOPS hops each, minutes of
 * reads.  Once they are running, it reports the program's id and exits
 * with the chains in flight.  Exit status: the step that failed.
 */
static int exit_child(int fd, unsigned int flags, __u64 tag, int report)
{
	static struct drv_chain c[EXIT_CHAINS];
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int prog, id, i;
	time_t end;

	prog = prog_load(BPF_PROG_TYPE_IO_CHAIN, tagged_walker, ARRAY_SIZE(tagged_walker));
	id = prog_id(prog);
	if (prog < 0 || id < 0)
		return 10;
	if (io_uring_queue_init(EXIT_CHAINS, &ring, flags))
		return 11;
	if (io_uring_register_files(&ring, &fd, 1) ||
	    register_progs(&ring, &prog, 1, EXIT_HOPS))
		return 12;
	close(prog);
	for (i = 0; i < EXIT_CHAINS; i++)
		drv_prep(io_uring_get_sqe(&ring), &c[i], i, tag);
	if (io_uring_submit(&ring) != EXIT_CHAINS)
		return 13;
	/* running: a few hundred hops, and none of the chains is over */
	for (end = time(NULL) + 120; time(NULL) < end && ring_hops(&ring) < 4 * EXIT_CHAINS;) {
		/* an IOPOLL ring goes on only while someone polls it */
		if (!io_uring_peek_cqe(&ring, &cqe))
			return 14;
		usleep(1000);
	}
	if (ring_hops(&ring) < 4 * EXIT_CHAINS)
		return 15;
	if (write(report, &id, sizeof(id)) != sizeof(id))
		return 16;
	_exit(0);	/* no io_uring_queue_exit(): the exit path cleans up */
}

/*
 * Where each task of process @pid is in the kernel (/proc/PID/task/TID/
 * stack, as root): the log of a child that hung.
 */
static void log_stacks(struct __test_metadata *_metadata, pid_t pid)
{
	char path[300], comm[32], stack[2048];
	struct dirent *d;
	ssize_t n;
	DIR *dir;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid, d->d_name);
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, comm, sizeof(comm) - 1);
		comm[n > 0 ? n - 1 : 0] = 0;
		if (fd >= 0)
			close(fd);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid, d->d_name);
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, stack, sizeof(stack) - 1);
		stack[n > 0 ? n : 0] = 0;
		if (fd >= 0)
			close(fd);
		TH_LOG("task %s (%s):\n%s", d->d_name, comm, stack);
	}
	closedir(dir);
}

/*
 * A process that exits with long chains in flight (item 8 of the driver
 * tier's safety list): ring exit ends them at their next hop, in the
 * driver and in the exit worker's polling, instead of letting them run to
 * their hop limit (EXIT_CHAINS * EXIT_HOPS reads, minutes here).  The
 * ring is gone when its program is: the test waits for that, then counts
 * the reads the device saw meanwhile (/sys/class/block/.../stat).
 */
static void exit_with_chains(struct __test_metadata *_metadata, int fd,
			     unsigned int flags, __u64 tag, const char *path)
{
	long reads = 0, reads2 = 0, sectors;
	int pipefd[2], status, id = -1, i;
	struct pollfd pfd;
	char dev[160];
	pid_t pid;

	/* the device the chains read: a raw partition, or the file system's */
	if (!strncmp(path, "/dev/", 5))
		snprintf(dev, sizeof(dev), "%s", path);
	else
		ASSERT_EQ(0, fs_device(path, dev, sizeof(dev)));

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pipefd[0]);
		_exit(exit_child(fd, flags, tag, pipefd[1]));
	}
	close(pipefd[1]);
	/* it reports, or gives up after 120 s and exits: else it hangs */
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 200 * 1000) != 1) {
		TH_LOG("the child hangs: its tasks' stacks");
		log_stacks(_metadata, pid);
		kill(pid, SIGKILL);
	}
	ASSERT_EQ(sizeof(id), read(pipefd[0], &id, sizeof(id)))
		TH_LOG("the child did not start its chains");
	TH_LOG("%s ring: chains running, the child exits",
	       flags & IORING_SETUP_IOPOLL ? "IOPOLL" : "interrupt");
	close(pipefd[0]);
	ASSERT_EQ(0, part_reads(dev, &reads, &sectors));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status) TH_LOG("child step %d", WEXITSTATUS(status));
	/* generous: ended, it is gone in well under a second */
	for (i = 0; i < 1200 && prog_alive(id); i++)
		usleep(50000);
	EXPECT_FALSE(prog_alive(id)) TH_LOG("chains still running a minute after exit");
	TH_LOG("ring gone after %d ms", i * 50);
	/*
	 * Each chain ends at its next hop: the device saw a few reads per
	 * chain, not a tenth of the hops they had left (nothing else reads
	 * that device meanwhile but the file system, little).
	 */
	ASSERT_EQ(0, part_reads(dev, &reads2, &sectors));
	EXPECT_GT(EXIT_CHAINS * (EXIT_HOPS / 10), reads2 - reads);
	TH_LOG("%ld reads on %s after the child's exit", reads2 - reads, dev);
}

TEST_F_TIMEOUT(driver, exit_with_long_chains_in_flight, 900)
{
	struct io_uring probe_ring;

	ASSERT_EQ(0, close_the_list(self->wfd, self->blk, self->tag));
	exit_with_chains(_metadata, self->fd, 0, self->tag, self->path);
	if (io_uring_queue_init(4, &probe_ring, IORING_SETUP_IOPOLL))
		SKIP(return, "no IOPOLL ring");
	io_uring_queue_exit(&probe_ring);
	exit_with_chains(_metadata, self->fd, IORING_SETUP_IOPOLL, self->tag, self->path);
}

/*
 * An IOPOLL ring shared with a child after fork(), the child reaping the
 * completion (item 9): a chain writes its block and scratch only to its
 * submitter's memory, which the child's polling cannot reach, so the
 * chain ends with -EFAULT there and writes to neither process's memory.
 * The child reports what it reaped and whether its own copies changed.
 * A chain over before the fork (in the driver tier none is: each needs
 * polling; the generic tier may read it all from io-wq) is the
 * submitter's, with its answer.  The ring then works as before.
 */
struct reaped {
	int wait;		/* io_uring_wait_cqe() */
	int res;		/* the CQE's */
	int pending;		/* no CQE yet when the child started */
	int touched;		/* the child's scratch or block changed */
};

TEST_F(driver, iopoll_completion_reaped_by_another_process)
{
	static const char zero[24];
	static struct drv_chain c;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct reaped r;
	int pipefd[2], ret, i;
	__u64 answer;
	pid_t pid;

	ret = io_uring_queue_init(4, &ring, IORING_SETUP_IOPOLL);
	if (ret)
		SKIP(return, "IOPOLL ring: %s", strerror(-ret));
	ASSERT_EQ(0, io_uring_register_files(&ring, &self->fd, 1));
	ASSERT_EQ(0, register_progs(&ring, &self->prog, 1, 0));
	/* a first chain builds the block map: the next ones stay in the driver */
	ASSERT_TRUE(drv_correct(&c, drv_run(&ring, &c, 0, self->tag)));
	for (i = 0; i < NBLOCKS; i += 9) {
		drv_prep(io_uring_get_sqe(&ring), &c, i, self->tag);
		memset(c.buf, 0, DRV_BS);
		ASSERT_EQ(1, io_uring_submit(&ring));
		ASSERT_EQ(0, pipe(pipefd));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			r.pending = !io_uring_cq_ready(&ring);
			r.wait = io_uring_wait_cqe(&ring, &cqe);
			r.res = r.wait ? 0 : cqe->res;
			if (!r.wait)
				io_uring_cqe_seen(&ring, cqe);
			r.touched = c.scratch[1] || memcmp(c.buf, zero, sizeof(zero));
			_exit(write(pipefd[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
		}
		close(pipefd[1]);
		ASSERT_EQ(sizeof(r), read(pipefd[0], &r, sizeof(r)));
		close(pipefd[0]);
		ASSERT_EQ(pid, waitpid(pid, NULL, 0));
		EXPECT_EQ(0, r.wait) TH_LOG("chain from %d", i);
		/* the driver tier needs polling; the generic one may end in io-wq */
		if (variant->driver)
			EXPECT_TRUE(r.pending) TH_LOG("chain from %d ended unpolled", i);
		answer = 1000 + NBLOCKS - 1 + (__u64)i;
		if (r.pending) {
			EXPECT_EQ(-EFAULT, r.res) TH_LOG("chain from %d", i);
			EXPECT_FALSE(r.touched) TH_LOG("chain from %d: the child's memory", i);
			EXPECT_EQ(0, c.scratch[1]) TH_LOG("chain from %d: the parent's memory", i);
			EXPECT_EQ(0, memcmp(c.buf, zero, sizeof(zero)));
		} else {
			EXPECT_EQ(NBLOCKS - i, r.res) TH_LOG("chain from %d", i);
			EXPECT_EQ(answer, c.scratch[1]) TH_LOG("chain from %d", i);
		}
		/* the submitter's own chains go on as before */
		EXPECT_TRUE(drv_correct(&c, drv_run(&ring, &c, i, self->tag)))
			TH_LOG("chain from %d, reaped by its submitter", i);
	}
	if (variant->driver)
		EXPECT_LT(0, ring_counter(&ring, "BpfChainHopsDriver"));
	io_uring_queue_exit(&ring);
}

TEST_HARNESS_MAIN
