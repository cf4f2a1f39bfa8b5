/* SPDX-License-Identifier: MIT */
/*
 * liburing-ext: IORING_OP_BPF_CHAIN for liburing applications.
 *
 * Include this header instead of <liburing.h>, or after it.  It works with
 * the distribution's kernel headers, which predate the bpfchain series
 * (the definitions then come from bpfchain_uapi.h), and with the patched
 * kernel's uapi headers first on the include path (-isystem
 * .../usr/include): then liburing is made to use the patched
 * <linux/io_uring.h>, so struct io_uring_sqe carries the bpf_chain_* names
 * (unless <liburing.h> was included first).
 * See liburing-ext(7).
 */
#ifndef LIBURING_EXT_H
#define LIBURING_EXT_H

#include <string.h>

/*
 * First: with the patched kernel headers on the include path it pulls in
 * the patched <linux/io_uring.h>, which liburing then uses instead of its
 * own copy (both have the guard LINUX_IO_URING_H).
 */
#include "bpfchain_uapi.h"
#include <liburing.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBURING_EXT_VERSION_MAJOR	0
#define LIBURING_EXT_VERSION_MINOR	1

struct bpf_object;

/*
 * Offsets inside struct io_uring_sqe of the bpf_chain_* fields, for SQEs
 * whose definition lacks their names: scratch pointer in addr3, then
 * scratch length and program slot as the two __u32 of __pad2[0].
 */
#define IO_URING_EXT_SQE_SCRATCH_LEN	0	/* in __pad2[0] */
#define IO_URING_EXT_SQE_PROG		4	/* in __pad2[0] */

static inline void __io_uring_ext_sqe_set_u32(struct io_uring_sqe *sqe,
					      unsigned at, __u32 val)
{
	memcpy((char *) &sqe->__pad2[0] + at, &val, sizeof(val));
}

/*
 * Scratch area of a prepared IORING_OP_BPF_CHAIN SQE: copied to the
 * program before the first hop and back when it is done.  len is at most
 * BPF_IO_CHAIN_SCRATCH_SIZE.  Call after io_uring_ext_prep_bpf_chain().
 */
static inline void io_uring_ext_sqe_set_scratch(struct io_uring_sqe *sqe,
						void *scratch, unsigned len)
{
#ifdef BPFCHAIN_UAPI_SQE_UNNAMED
	sqe->addr3 = (unsigned long) scratch;
	__io_uring_ext_sqe_set_u32(sqe, IO_URING_EXT_SQE_SCRATCH_LEN, len);
#else
	sqe->bpf_chain_scratch = (unsigned long) scratch;
	sqe->bpf_chain_scratch_len = len;
#endif
}

/*
 * IORING_BPF_CHAIN_* flags of a prepared IORING_OP_BPF_CHAIN SQE.  Call
 * after io_uring_ext_prep_bpf_chain().
 */
static inline void io_uring_ext_sqe_set_chain_flags(struct io_uring_sqe *sqe,
						    unsigned flags)
{
#ifdef BPFCHAIN_UAPI_SQE_UNNAMED
	sqe->rw_flags = (__kernel_rwf_t) flags;
#else
	sqe->bpf_chain_flags = flags;
#endif
}

/*
 * A chain on the registered file fixed_file: read len bytes at offset into
 * buf, run the program of slot prog_slot of the ring's program table on
 * them, and go on with the block it names until it is done.  buf, len and
 * offset are multiples of 512, len is at most the page size.  No flags, no
 * scratch area.
 */
static inline void io_uring_ext_prep_bpf_chain(struct io_uring_sqe *sqe,
					       int fixed_file, void *buf,
					       unsigned len, __u64 offset,
					       unsigned prog_slot)
{
	io_uring_prep_rw(IORING_OP_BPF_CHAIN, sqe, fixed_file, buf, len, offset);
	sqe->flags |= IOSQE_FIXED_FILE;
	/* liburing >= 2.6 no longer clears these in io_uring_prep_rw() */
	sqe->buf_index = 0;
	sqe->splice_fd_in = 0;
	io_uring_ext_sqe_set_chain_flags(sqe, 0);
	io_uring_ext_sqe_set_scratch(sqe, NULL, 0);
#ifdef BPFCHAIN_UAPI_SQE_UNNAMED
	__io_uring_ext_sqe_set_u32(sqe, IO_URING_EXT_SQE_PROG, prog_slot);
#else
	sqe->bpf_chain_prog = prog_slot;
#endif
}

/*
 * Counters of a ring, from its fdinfo: io_uring_ext_bpf_chain_stats().
 */
struct io_uring_ext_bpf_chain_stats {
	__s64 progs;		/* slots of the program table, -1: not shown */
	__u64 chains;		/* chains completed */
	__u64 hops_generic;	/* blocks read by the generic tier */
	__u64 err_read;		/* chains ended by a read error */
	__u64 err_prog;		/* ... by the program's error */
	__u64 err_loop;		/* ... by the hop limit */
	__u64 err_offset;	/* ... by a bad next offset */
	/* the driver tier's, in what were resv[0..5]: 0 when not shown */
	__u64 hops_driver;	/* blocks read by the driver tier */
	__u64 handoff_hole;	/* hops handed to the generic tier: a hole */
	__u64 handoff_boundary;	/* ... a read across two extents */
	__u64 handoff_stale;	/* ... a block map gone stale */
	__u64 maps_built;	/* block maps built for the ring's files */
	__u64 maps_invalidated;	/* ... found stale and dropped */
	/* in what was resv[6]: 0 when not shown */
	__u64 poll_waits;	/* hops an IOPOLL ring's poll loop gave to io-wq */
	/* in what was resv[7]: 0 when not shown */
	__u64 inline_limits;	/* chains sent to io-wq after 32 nonblocking hops */
	__u64 resv[1];		/* zero; room for a later counter */
};

int io_uring_ext_register_bpf_chain(struct io_uring *ring, const int *prog_fds,
				    unsigned nr, unsigned max_hops);
int io_uring_ext_register_bpf_chain_update(struct io_uring *ring,
					   unsigned offset, const int *prog_fds,
					   unsigned nr);
int io_uring_ext_unregister_bpf_chain(struct io_uring *ring);
int io_uring_ext_bpf_chain_supported(struct io_uring *ring);
int io_uring_ext_bpf_chain_stats(struct io_uring *ring,
				 struct io_uring_ext_bpf_chain_stats *stats);

int io_uring_ext_bpf_chain_load(const char *obj_path, const char *prog_name,
				struct bpf_object **obj);
void io_uring_ext_bpf_chain_close(struct bpf_object *obj);

/*
 * A chain without a ring, for tests and debugging: what
 * io_uring_ext_prep_bpf_chain() and io_uring_ext_sqe_set_scratch() ask of
 * the kernel, done hop by hop in user space.  Reads len bytes at offset
 * (bytes from the start) of the file or block device fd into buf with
 * pread(), runs the BPF_PROG_TYPE_IO_CHAIN program prog_fd on them with
 * BPF_PROG_TEST_RUN, followed by the scratch_len bytes at scratch, copies
 * the scratch area back, and goes on at the program's next_offset until it
 * is done, at most max_hops blocks (0: 256, a ring's default; at most
 * 65536).  buf, len and every offset are multiples of 512, len at most the
 * page size, scratch_len at most BPF_IO_CHAIN_SCRATCH_SIZE.
 *
 * Returns 0 with the CQE's res such a chain would complete with in *res:
 * the program's result (0 to INT_MAX), its negated errno, or the kernel's
 * own (-EINVAL misaligned or bad sizes, -ERANGE a block not inside the
 * file, -ELOOP the hop limit, -EFAULT no scratch, the read's -errno, -EIO
 * a short read).  Returns -errno, *res untouched, when the chain could not
 * be run: -EINVAL (res NULL, max_hops above 65536), -ENOMEM, the errno of
 * a failed BPF_PROG_TEST_RUN (-EBADF prog_fd not open, -EINVAL not a BPF
 * program), -EPROTO (it answered what no IO_CHAIN program can: a
 * program of another type).
 * *hops (if hops is not NULL) gets the blocks the program ran on, in both
 * cases.  Unlike a chain, buf and the scratch area are written at every
 * hop, also when the chain fails.  Prints nothing, sets no errno.
 */
int io_uring_ext_bpf_chain_test_run(int fd, void *buf, unsigned len, __u64 offset,
				    int prog_fd, void *scratch, unsigned scratch_len,
				    unsigned max_hops, int *res, unsigned *hops);

#ifdef __cplusplus
}
#endif

#endif /* LIBURING_EXT_H */
