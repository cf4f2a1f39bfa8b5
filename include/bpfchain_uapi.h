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
/*
 * Included first, so that a patched <linux/bpf.h> on the include path wins
 * and the block below is skipped; a patched <linux/bpf.h> included after
 * this header would otherwise meet the BPF_PROG_TYPE_IO_CHAIN macro inside
 * its enum.
 */
#include <linux/bpf.h>

#ifndef BPF_IO_CHAIN_SCRATCH_SIZE

/* the block below is in use, not the kernel's <linux/bpf.h> */
#define BPFCHAIN_UAPI_BPF_MIRRORED	1

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
/*
 * <linux/io_uring.h> and liburing's own copy of it share one include
 * guard, so whichever comes first defines struct io_uring_sqe for the
 * whole translation unit.  When the patched <linux/bpf.h> came from the
 * include path, the patched <linux/io_uring.h> is next to it: it is
 * included here, so that it wins over liburing's copy included later, and
 * the block below is skipped.  Otherwise (the distribution's headers, or
 * an io_uring header included before this one) the block below supplies
 * the numbers and structs, and struct io_uring_sqe has no bpf_chain_*
 * member names: BPFCHAIN_UAPI_SQE_UNNAMED says so, and the fields are
 * reached through rw_flags, addr3 and __pad2[0] (liburing-ext.h).
 *
 * So include this header before any io_uring header, or after one; but
 * never include the patched <linux/io_uring.h> after it when no io_uring
 * header came in between: its enums would meet the macros below.
 */
#if defined(BPF_IO_CHAIN_SCRATCH_SIZE) && !defined(BPFCHAIN_UAPI_BPF_MIRRORED)
#include <linux/io_uring.h>
#endif

#ifndef IORING_BPF_CHAIN_GENERIC

/* struct io_uring_sqe lacks the bpf_chain_* names */
#define BPFCHAIN_UAPI_SQE_UNNAMED	1

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
 *   buf_index		with IORING_BPF_CHAIN_FIXED_BUF: the registered
 *			buffer that addr, len lie in
 *   addr3		bpf_chain_scratch: scratch buffer, copied in at
 *			submission and out when the program is done
 *   __pad2[0]		two __u32: bpf_chain_scratch_len (at most
 *			BPF_IO_CHAIN_SCRATCH_SIZE), then bpf_chain_prog, the
 *			registered program slot
 */
#define IORING_BPF_CHAIN_GENERIC	(1U << 0)	/* force the generic tier */
#define IORING_BPF_CHAIN_FIXED_BUF	(1U << 1)	/* addr is in buf_index */

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
