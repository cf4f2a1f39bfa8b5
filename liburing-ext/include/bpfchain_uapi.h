/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The uapi additions of the bpfchain kernel series (linux-patches/), for
 * user space built against headers that predate them.  Each block mirrors
 * include/uapi/linux/{bpf,io_uring}.h of the patched kernel and is skipped
 * when those headers already carry it.
 */
#ifndef BPFCHAIN_UAPI_H
#define BPFCHAIN_UAPI_H

#include <linux/types.h>

/* ---- include/uapi/linux/bpf.h ---- */
#ifndef BPF_IO_CHAIN_SCRATCH_SIZE

/* enum bpf_prog_type: appended after BPF_PROG_TYPE_NETFILTER (32). */
#define BPF_PROG_TYPE_IO_CHAIN		33

/* Bytes of scratch a BPF_PROG_TYPE_IO_CHAIN program can always address. */
#define BPF_IO_CHAIN_SCRATCH_SIZE	512

/*
 * Return codes of an IO_CHAIN program.  A negative errno (-4095..-1) ends
 * the chain with that error in the CQE.
 */
enum bpf_io_chain_action {
	BPF_IO_CHAIN_DONE = 0,	/* end the chain, CQE res = result */
	BPF_IO_CHAIN_NEXT = 1,	/* read next_offset and run again */
};

/* Context of a BPF_PROG_TYPE_IO_CHAIN program. */
struct bpf_io_chain {
	__u32 data;		/* ro: the block just read ...     */
	__u32 data_end;		/* ro: ... of len bytes            */
	__u32 scratch;		/* rw: BPF_IO_CHAIN_SCRATCH_SIZE bytes shared with the application */
	__u32 len;		/* ro: block length */
	__u64 offset;		/* ro: file offset of the block */
	__u64 next_offset;	/* rw: block to read on BPF_IO_CHAIN_NEXT */
	__u32 hop;		/* ro: 0 for the first block */
	__u32 scratch_len;	/* ro: bytes the application passed in */
	__u32 result;		/* rw: CQE res on BPF_IO_CHAIN_DONE (<= INT_MAX) */
	__u32 __reserved;	/* must be zero */
};

#endif /* BPF_IO_CHAIN_SCRATCH_SIZE */

/* ---- include/uapi/linux/io_uring.h ---- */
#ifndef IORING_BPF_CHAIN_GENERIC

/* enum io_uring_op: appended after IORING_OP_LISTEN (57). */
#define IORING_OP_BPF_CHAIN		58

/*
 * IORING_OP_BPF_CHAIN SQE (the kernel's header names the fields):
 *   flags		IOSQE_FIXED_FILE is required: fd is a registered file
 *   fd			fixed file index
 *   off		file offset of the first block
 *   addr, len		destination buffer and block length: multiples of
 *			512, len <= page size; holds the last block read
 *   rw_flags		bpf_chain_flags: IORING_BPF_CHAIN_*
 *   addr3		bpf_chain_scratch: scratch buffer, copied in at
 *			submission and out when the program is done
 *   __pad2[0]		two __u32: bpf_chain_scratch_len (at most
 *			BPF_IO_CHAIN_SCRATCH_SIZE), then bpf_chain_prog, the
 *			registered program slot
 */
#define IORING_BPF_CHAIN_GENERIC	(1U << 0)	/* force the generic tier */

/* enum io_uring_register_op */
#define IORING_REGISTER_BPF_CHAIN		31
#define IORING_UNREGISTER_BPF_CHAIN		32
#define IORING_REGISTER_BPF_CHAIN_UPDATE	33

/* IORING_REGISTER_BPF_CHAIN argument (nr_args = 1) */
struct io_uring_bpf_chain_reg {
	__u64 prog_fds;		/* __s32 array of nr program fds, -1 = empty slot */
	__u32 nr;
	__u32 max_hops;		/* per-chain hop limit, 0 = default (256) */
	__u64 resv[2];
};

/* IORING_REGISTER_BPF_CHAIN_UPDATE argument (nr_args = 1) */
struct io_uring_bpf_chain_update {
	__u32 offset;		/* first slot to replace */
	__u32 nr;
	__u64 prog_fds;		/* __s32 array, -1 = clear the slot */
};

#endif /* IORING_BPF_CHAIN_GENERIC */

#endif /* BPFCHAIN_UAPI_H */
