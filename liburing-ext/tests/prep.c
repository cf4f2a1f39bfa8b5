/* SPDX-License-Identifier: MIT */
/*
 * Description: the SQE that io_uring_ext_prep_bpf_chain(),
 * io_uring_ext_sqe_set_scratch() and io_uring_ext_sqe_set_chain_flags()
 * write, byte by byte, against the kernel's layout.  Built twice: with the
 * distribution's headers (liburing's own io_uring.h, bpfchain_uapi.h fills
 * in) and with the patched kernel's first (-DWANT_KHDR).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifdef NO_KHDR
int main(void)
{
	printf("Skipped: no patched kernel headers (make kernel) when this was built\n");
	return 77;
}
#else

#include "liburing-ext.h"

#ifdef WANT_KHDR
#ifdef BPFCHAIN_UAPI_SQE_UNNAMED
#error "patched headers first, yet bpfchain_uapi.h supplied the io_uring definitions"
#endif
#define MODE "patched kernel headers"
#else
#ifndef BPFCHAIN_UAPI_SQE_UNNAMED
#error "distribution headers, yet the SQE has bpf_chain_* names"
#endif
#define MODE "distribution headers + bpfchain_uapi.h"
#endif

_Static_assert(IORING_OP_BPF_CHAIN == 58, "opcode");
_Static_assert(BPF_PROG_TYPE_IO_CHAIN == 33, "program type");
_Static_assert(IORING_BPF_CHAIN_GENERIC == 1, "flag");
_Static_assert(IORING_REGISTER_BPF_CHAIN == 31, "register");
_Static_assert(IORING_UNREGISTER_BPF_CHAIN == 32, "unregister");
_Static_assert(IORING_REGISTER_BPF_CHAIN_UPDATE == 33, "update");
_Static_assert(BPF_IO_CHAIN_SCRATCH_SIZE == 512, "scratch size");
_Static_assert(sizeof(struct io_uring_bpf_chain_reg) == 32, "reg");
_Static_assert(sizeof(struct io_uring_bpf_chain_update) == 16, "update");
_Static_assert(sizeof(struct bpf_io_chain) == 48, "ctx");
_Static_assert(offsetof(struct bpf_io_chain, next_offset) == 24, "ctx next_offset");
_Static_assert(offsetof(struct bpf_io_chain, result) == 40, "ctx result");
_Static_assert(sizeof(struct io_uring_sqe) == 64, "sqe");
#ifndef BPFCHAIN_UAPI_SQE_UNNAMED
_Static_assert(offsetof(struct io_uring_sqe, bpf_chain_flags) == 28, "flags");
_Static_assert(offsetof(struct io_uring_sqe, bpf_chain_scratch) == 48, "scratch");
_Static_assert(offsetof(struct io_uring_sqe, bpf_chain_scratch_len) == 56, "scratch_len");
_Static_assert(offsetof(struct io_uring_sqe, bpf_chain_prog) == 60, "prog");
#endif

static int failures;

static unsigned long long get(const unsigned char *p, size_t off, size_t n)
{
	unsigned long long v = 0;

	memcpy(&v, p + off, n);	/* little-endian host */
	return v;
}

#define EXPECT(off, n, want) do {					\
	unsigned long long __g = get(raw, off, n);			\
	if (__g != (unsigned long long)(want)) {			\
		fprintf(stderr, "byte %d (%d bytes): want %#llx, got %#llx (%s)\n", \
			off, n, (unsigned long long)(want), __g, #want);	\
		failures++;						\
	}								\
} while (0)

int main(int argc, char *argv[])
{
	struct io_uring_sqe sqe;
	unsigned char *raw = (unsigned char *) &sqe;

	if (argc > 1)
		return 77;
	/* garbage first: the helpers must clear what the kernel checks */
	memset(&sqe, 0xa5, sizeof(sqe));
	io_uring_ext_prep_bpf_chain(&sqe, 3, (void *) 0x10000, 4096, 8192, 5);
	EXPECT(0, 1, IORING_OP_BPF_CHAIN);
	EXPECT(1, 1, IOSQE_FIXED_FILE);
	EXPECT(2, 2, 0);		/* ioprio */
	EXPECT(4, 4, 3);		/* fd: the fixed file */
	EXPECT(8, 8, 8192);		/* off */
	EXPECT(16, 8, 0x10000);		/* addr */
	EXPECT(24, 4, 4096);		/* len */
	EXPECT(28, 4, 0);		/* bpf_chain_flags */
	EXPECT(40, 2, 0);		/* buf_index */
	EXPECT(42, 2, 0);		/* personality */
	EXPECT(44, 4, 0);		/* splice_fd_in */
	EXPECT(48, 8, 0);		/* bpf_chain_scratch */
	EXPECT(56, 4, 0);		/* bpf_chain_scratch_len */
	EXPECT(60, 4, 5);		/* bpf_chain_prog */

	io_uring_ext_sqe_set_scratch(&sqe, (void *) 0x20000, 40);
	io_uring_ext_sqe_set_chain_flags(&sqe, IORING_BPF_CHAIN_GENERIC);
	EXPECT(28, 4, IORING_BPF_CHAIN_GENERIC);
	EXPECT(48, 8, 0x20000);
	EXPECT(56, 4, 40);
	EXPECT(60, 4, 5);		/* untouched by set_scratch */
	EXPECT(1, 1, IOSQE_FIXED_FILE);	/* untouched by set_chain_flags */

	/* flags kept by prep: the application may add its own afterwards */
	sqe.flags |= IOSQE_IO_LINK;
	io_uring_ext_sqe_set_chain_flags(&sqe, 0);
	EXPECT(1, 1, IOSQE_FIXED_FILE | IOSQE_IO_LINK);
	EXPECT(28, 4, 0);

	if (failures) {
		fprintf(stderr, "%s: %d byte check(s) failed\n", MODE, failures);
		return 1;
	}
	printf("%s: SQE layout ok\n", MODE);
	return 0;
}
#endif
