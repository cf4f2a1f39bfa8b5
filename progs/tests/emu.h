/* SPDX-License-Identifier: MIT */
/*
 * The chain emulator of progs-test and the fuzzers: the BPF programs'
 * C source compiled for the host, run the way the kernel's generic tier
 * runs them (read the block, run the program, follow next_offset).
 */
#ifndef BPFCHAIN_PROGS_EMU_H
#define BPFCHAIN_PROGS_EMU_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "bpfchain_uapi.h"
#include "format.h"

long bpfchain_btree_lookup(struct bpf_io_chain *ctx);
long bpfchain_btree_range(struct bpf_io_chain *ctx);
long bpfchain_hash_lookup(struct bpf_io_chain *ctx);
typedef long (*prog_fn)(struct bpf_io_chain *ctx);

#define EMU_MAX_HOPS 256	/* the kernel's default per-chain hop limit */
static void *emu_block, *emu_scratch;

static void emu_init(void)
{
	/* ctx->data and ->scratch are 32 bits: map the buffers below 4 GiB */
	emu_block = mmap(NULL, BC_BLOCK_MAX, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	emu_scratch = mmap(NULL, BPF_IO_CHAIN_SCRATCH_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (emu_block == MAP_FAILED || emu_scratch == MAP_FAILED) {
		perror("mmap MAP_32BIT");
		exit(77);
	}
}

/* Run a chain from off; the CQE res.  *hops = blocks read. */
static int emu_chain(prog_fn prog, int fd, uint64_t off, uint32_t len, void *scratch,
		     uint32_t scratch_len, unsigned int *hops)
{
	struct bpf_io_chain ctx;
	struct stat st;
	long ret;
	int res;

	*hops = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	memset(emu_scratch, 0, BPF_IO_CHAIN_SCRATCH_SIZE);
	memcpy(emu_scratch, scratch, scratch_len);
	for (unsigned int hop = 0;; hop++) {
		if (hop >= EMU_MAX_HOPS) {
			res = -ELOOP;
			break;
		}
		if (off % 512 || len % 512 || len > BC_BLOCK_MAX || !len) {
			res = -EINVAL;
			break;
		}
		/* written so that an offset near 2^64 cannot wrap past the check */
		if (off > (uint64_t)st.st_size || (uint64_t)st.st_size - off < len) {
			res = -ENXIO;
			break;
		}
		if (pread(fd, emu_block, len, off) != (ssize_t)len) {
			res = -EIO;
			break;
		}
		(*hops)++;
		memset(&ctx, 0, sizeof(ctx));
		ctx.data = (uint32_t)(uintptr_t)emu_block;
		ctx.data_end = ctx.data + len;
		ctx.scratch = (uint32_t)(uintptr_t)emu_scratch;
		ctx.len = len;
		ctx.offset = off;
		ctx.hop = hop;
		ctx.scratch_len = scratch_len;
		ctx.next_offset = 0;
		ret = prog(&ctx);
		if (ret == BPF_IO_CHAIN_NEXT) {
			off = ctx.next_offset;
			continue;
		}
		/* the verifier holds R0's low 32 bits to -4095..1 */
		res = ret == BPF_IO_CHAIN_DONE ? (int)ctx.result : ret < 0 && ret >= -4095 ? (int)ret : -EINVAL;
		break;
	}
	memcpy(scratch, emu_scratch, scratch_len);
	return res;
}

#endif /* BPFCHAIN_PROGS_EMU_H */
