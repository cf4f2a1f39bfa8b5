/* SPDX-License-Identifier: MIT */
/*
 * A chain run without a ring: the block is read with pread(2) and the
 * program run on it with BPF_PROG_TEST_RUN, hop by hop, the way the
 * kernel's generic tier runs an IORING_OP_BPF_CHAIN request, with the
 * kernel's checks and errnos.  For tests, and for debugging a program on
 * a file without io_uring.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <bpf/bpf.h>

#include "liburing-ext.h"

#define CHAIN_ALIGN		512	/* of buf, len and every offset */
#define CHAIN_DEFAULT_HOPS	256	/* a ring's hop limit by default */
#define CHAIN_MAX_HOPS		65536	/* the largest one a ring takes */
/* room past the data BPF_PROG_TEST_RUN should hand back, to see it if it
 * hands back more */
#define OUT_SLACK		64

/* Bytes of the file or block device fd, or -errno. */
static int file_size(int fd, __u64 *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISBLK(st.st_mode)) {
		*size = st.st_size;
		return 0;
	}
	/* st_size is 0 for a block device */
	return ioctl(fd, BLKGETSIZE64, size) ? -errno : 0;
}

/*
 * What io_uring checks when the request is prepared, and the file's size:
 * 0, or the errno the CQE would carry.
 */
static int check_request(int fd, const void *buf, unsigned len,
			 const void *scratch, unsigned scratch_len, __u64 *size)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!len || len % CHAIN_ALIGN || (page > 0 && len > (unsigned long) page) ||
	    (unsigned long) buf % CHAIN_ALIGN || scratch_len > BPF_IO_CHAIN_SCRATCH_SIZE)
		return -EINVAL;
	if (scratch_len && !scratch)
		return -EFAULT;
	return file_size(fd, size);
}

/*
 * One hop: the program prog_fd on the block of len bytes in in[] (at offset,
 * hop number hop), followed by the scratch area.  Returns 0, or the errno
 * of a failed BPF_PROG_TEST_RUN; the block and scratch area the program
 * handed back are in out[], its context in *ctx.
 */
static int run_hop(int prog_fd, unsigned char *in, unsigned char *out, unsigned len,
		   __u64 offset, unsigned hop, unsigned scratch_len, int *retval,
		   __u32 *out_size, struct bpf_io_chain *ctx)
{
	struct bpf_io_chain cin;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in, .data_size_in = len + scratch_len,
		.data_out = out, .data_size_out = len + scratch_len + OUT_SLACK,
		.ctx_in = &cin, .ctx_size_in = sizeof(cin),
		.ctx_out = ctx, .ctx_size_out = sizeof(*ctx));
	int ret;

	memset(&cin, 0, sizeof(cin));
	cin.offset = offset;
	cin.hop = hop;
	cin.scratch_len = scratch_len;
	/* nothing that could pass for the kernel's answer */
	memset(ctx, 0xa5, sizeof(*ctx));
	ret = bpf_prog_test_run_opts(prog_fd, &o);
	*retval = (int) o.retval;
	*out_size = o.data_size_out;
	return ret;
}

/*
 * Whether BPF_PROG_TEST_RUN answered as an IO_CHAIN program can: the block
 * back unchanged with the scratch area after it, the context's read-only
 * fields as they went in, a return value the verifier allows.
 */
static int answer_ok(const unsigned char *in, const unsigned char *out, __u32 out_size,
		     unsigned len, __u64 offset, unsigned hop, unsigned scratch_len,
		     int retval, const struct bpf_io_chain *ctx)
{
	if (out_size != len + scratch_len || memcmp(out, in, len))
		return 0;
	if (ctx->offset != offset || ctx->hop != hop || ctx->len != len ||
	    ctx->scratch_len != scratch_len)
		return 0;
	/* the verifier holds the low 32 bits to -4095..1 */
	return retval == BPF_IO_CHAIN_NEXT || (retval <= 0 && retval >= -4095);
}

int io_uring_ext_bpf_chain_test_run(int fd, void *buf, unsigned len, __u64 offset,
				    int prog_fd, void *scratch, unsigned scratch_len,
				    unsigned max_hops, int *res, unsigned *hops)
{
	struct bpf_io_chain ctx;
	unsigned char *in, *out;
	unsigned hop, dummy;
	__u32 out_size;
	__u64 size = 0;
	int ret, retval;
	ssize_t n;

	if (!hops)
		hops = &dummy;
	*hops = 0;
	if (!res || max_hops > CHAIN_MAX_HOPS)
		return -EINVAL;
	if (!max_hops)
		max_hops = CHAIN_DEFAULT_HOPS;
	ret = check_request(fd, buf, len, scratch, scratch_len, &size);
	if (ret) {
		*res = ret;
		return 0;
	}
	/* BPF_PROG_TEST_RUN takes the block and the scratch area in one piece */
	in = malloc(2 * (len + scratch_len) + OUT_SLACK);
	if (!in)
		return -ENOMEM;
	out = in + len + scratch_len;

	for (hop = 0;; hop++) {
		if (hop >= max_hops) {
			*res = -ELOOP;
			break;
		}
		if (offset % CHAIN_ALIGN) {
			*res = -EINVAL;
			break;
		}
		/* written so that an offset near 2^64 cannot wrap past it */
		if (offset >= size || size - offset < len) {
			*res = -ERANGE;
			break;
		}
		n = pread(fd, buf, len, offset);
		if (n != (ssize_t) len) {
			*res = n < 0 ? -errno : -EIO;
			break;
		}
		memcpy(in, buf, len);
		memcpy(in + len, scratch, scratch_len);
		ret = run_hop(prog_fd, in, out, len, offset, hop, scratch_len, &retval,
			      &out_size, &ctx);
		if (ret)
			break;
		(*hops)++;
		if (!answer_ok(in, out, out_size, len, offset, hop, scratch_len, retval, &ctx)) {
			ret = -EPROTO;
			break;
		}
		/* carried over to the next hop, and left after the last */
		memcpy(scratch, out + len, scratch_len);
		if (retval == BPF_IO_CHAIN_NEXT) {
			offset = ctx.next_offset;
			continue;
		}
		/* DONE or an error, as io_uring completes it */
		*res = retval == BPF_IO_CHAIN_DONE ?
		       (int) (ctx.result > INT_MAX ? INT_MAX : ctx.result) : retval;
		break;
	}
	free(in);
	return ret;
}
