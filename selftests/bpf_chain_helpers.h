/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the io_uring_bpf_chain tests: loading IO_CHAIN
 * programs, registering them with a ring, the counters of the ring's
 * fdinfo, and the tagged lists of blocks the driver tier's tests walk.
 *
 * The files are lists of blocks: each block starts with the offset of the
 * next one (~0 ends the list) and a value.  The programs walk the list and
 * return hop + 1; they leave value + scratch[0] in scratch[1].
 */
#ifndef BPF_CHAIN_HELPERS_H
#define BPF_CHAIN_HELPERS_H

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

static inline int prog_load(enum bpf_prog_type type, const struct bpf_insn *insns, size_t cnt)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.insns = (uintptr_t)insns;
	attr.insn_cnt = cnt;
	attr.license = (uintptr_t)"GPL";
	return syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

static inline int register_progs(struct io_uring *ring, const int *fds, unsigned int nr,
				 unsigned int max_hops)
{
	struct io_uring_bpf_chain_reg reg = {
		.prog_fds = (uintptr_t)fds, .nr = nr, .max_hops = max_hops,
	};

	return syscall(__NR_io_uring_register, ring->ring_fd,
		       IORING_REGISTER_BPF_CHAIN, &reg, 1) ? -errno : 0;
}

static inline int update_progs(struct io_uring *ring, unsigned int offset, const int *fds,
			       unsigned int nr)
{
	struct io_uring_bpf_chain_update up = {
		.offset = offset, .nr = nr, .prog_fds = (uintptr_t)fds,
	};

	return syscall(__NR_io_uring_register, ring->ring_fd,
		       IORING_REGISTER_BPF_CHAIN_UPDATE, &up, 1) ? -errno : 0;
}

static inline int unregister_progs(struct io_uring *ring)
{
	return syscall(__NR_io_uring_register, ring->ring_fd,
		       IORING_UNREGISTER_BPF_CHAIN, NULL, 0) ? -errno : 0;
}

/* The ring's fdinfo line for @key ("Key:\t..."), false when absent. */
static inline bool fdinfo_line(struct io_uring *ring, const char *key, char *line, int size)
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
static inline long ring_counter(struct io_uring *ring, const char *key)
{
	char line[256];

	if (!fdinfo_line(ring, key, line, sizeof(line)))
		return -1;
	return strtol(line + strlen(key) + 1, NULL, 10);
}

/* One name=value field of an fdinfo line, -1 when absent. */
static inline long ring_field(struct io_uring *ring, const char *key, const char *name)
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
static inline long ring_hops(struct io_uring *ring)
{
	return ring_counter(ring, "BpfChainHopsGeneric") +
	       ring_counter(ring, "BpfChainHopsDriver");
}

#define NBLOCKS 64

static inline long fuzz_env(const char *name, long def)
{
	const char *v = getenv(name);

	return v ? strtol(v, NULL, 0) : def;
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

/* Write the list element that lives at block @pos of the file. */
static inline int write_pos(int fd, void *blk, __u64 tag, int pos)
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

static inline int write_all(int fd, void *blk, __u64 tag)
{
	int pos;

	for (pos = 0; pos < NBLOCKS; pos++)
		if (write_pos(fd, blk, tag, pos))
			return -1;
	return 0;
}

struct drv_chain {
	__u64 scratch[3];
	void *buf;		/* the last block; aligned, as the opcode wants */
	int start;
};

static inline void drv_prep(struct io_uring_sqe *sqe, struct drv_chain *c, int start, __u64 tag)
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
static inline int drv_correct(const struct drv_chain *c, int res)
{
	return res == NBLOCKS - c->start &&
	       c->scratch[1] == 1000 + NBLOCKS - 1 + (__u64)c->start;
}

static inline int drv_run(struct io_uring *ring, struct drv_chain *c, int start, __u64 tag)
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

/* Write the string @val to the file @path (sysfs, cgroupfs): 0, or -1 and errno. */
static inline int put_string(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

#endif /* BPF_CHAIN_HELPERS_H */
