/* SPDX-License-Identifier: MIT */
/*
 * chain-lookup: point lookups in a B+-tree file built by bpfchain-mkdb, one
 * IORING_OP_BPF_CHAIN per key.  The kernel reads the root node, runs the
 * btree_lookup BPF program on it, reads the child the program names, and
 * so on down to the leaf; one CQE brings the answer back.  FILE may be a
 * block device (a raw partition or namespace) the tree was written to.
 *
 *	chain-lookup [-d] [-g] [-v] [-o OBJECT] FILE KEY...
 *
 *	-d	open FILE with O_DIRECT
 *	-g	force the generic tier (IORING_BPF_CHAIN_GENERIC)
 *	-v	print the ring's chain counters at the end (on stderr)
 *	-o	load the program from OBJECT (its first io_chain program) with
 *		io_uring_ext_bpf_chain_load(); by default it is the one
 *		inside this binary, from the btree_lookup skeleton
 *
 * It prints what bpfchain-lookup prints, one line per key:
 *	found key=0x... value=0x... blocks=N	or	not-found key=0x... blocks=N
 * and with -v, e.g.:
 *	chains=3 hops=18 driver=18 generic=0 errors=0
 * Exit: 0 every key found, 1 some not found, 2 usage, 3 error.
 *
 * Build: cc chain_lookup.c -I progs -I build/progs \
 *	$(pkg-config --cflags --libs liburing-ext libbpf)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "liburing-ext.h"
#include "format.h"		/* the tree's layout, the program's scratch */
#include "bpfchain_progs.h"	/* the programs' skeletons */

static int fail(const char *what, int err)
{
	fprintf(stderr, "chain-lookup: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 3;
}

int main(int argc, char *argv[])
{
	const char *obj_path = NULL;
	int o_direct = 0, generic = 0, verbose = 0, missing = 0;
	struct btree_lookup *skel = NULL;
	struct io_uring_ext_bpf_chain_stats stats;
	struct bc_btree_super super;
	struct bpf_object *obj = NULL;
	struct io_uring ring;
	int opt, fd, prog_fd, ret, i, nkeys;
	__u64 *keys;
	void *buf;

	while ((opt = getopt(argc, argv, "dgvo:")) != -1) {
		switch (opt) {
		case 'd': o_direct = 1; break;
		case 'g': generic = 1; break;
		case 'v': verbose = 1; break;
		case 'o': obj_path = optarg; break;
		default: goto usage;
		}
	}
	if (argc - optind < 2)
		goto usage;
	nkeys = argc - optind - 1;
	keys = calloc(nkeys, sizeof(*keys));
	for (i = 0; i < nkeys; i++) {
		char *end;

		errno = 0;
		keys[i] = strtoull(argv[optind + 1 + i], &end, 0);
		if (errno || *end || end == argv[optind + 1 + i])
			goto usage;
	}

	/*
	 * 1. The superblock, read once: the node size is the block length of
	 * every hop, and the root is where each chain starts.  The buffer is
	 * 4096-aligned, so it also suits O_DIRECT and the chains below.
	 */
	fd = open(argv[optind], O_RDONLY | (o_direct ? O_DIRECT : 0));
	if (fd < 0)
		return fail(argv[optind], errno);
	if (posix_memalign(&buf, 4096, BC_BLOCK_MAX))
		return fail("posix_memalign", ENOMEM);
	if (pread(fd, buf, BC_BLOCK_MAX, 0) < (ssize_t) sizeof(super))
		return fail("reading the superblock", errno ? errno : EIO);
	memcpy(&super, buf, sizeof(super));
	if (super.magic != BC_BTREE_MAGIC)
		return fail("not a B+-tree file", EBADMSG);

	/* 2. A ring, and a kernel that knows IORING_OP_BPF_CHAIN. */
	ret = io_uring_queue_init(8, &ring, 0);
	if (ret)
		return fail("io_uring_queue_init", ret);
	ret = io_uring_ext_bpf_chain_supported(&ring);
	if (ret <= 0)
		return fail("IORING_OP_BPF_CHAIN", ret ? ret : EOPNOTSUPP);

	/*
	 * 3. The program: libbpf opens the object (from the skeleton, or a
	 * file), the kernel verifies it.
	 */
	if (obj_path)
		prog_fd = io_uring_ext_bpf_chain_load(obj_path, NULL, &obj);
	else
		prog_fd = BC_PROG_LOAD(btree_lookup, &skel);
	if (prog_fd < 0)
		return fail(obj_path ? obj_path : "loading btree_lookup", prog_fd);

	/*
	 * 4. Register the file (chains only read registered files) and the
	 * program, in slot 0 of the ring's program table.  The ring holds its
	 * own reference: the object could be closed right away.
	 */
	ret = io_uring_register_files(&ring, &fd, 1);
	if (ret)
		return fail("io_uring_register_files", ret);
	ret = io_uring_ext_register_bpf_chain(&ring, &prog_fd, 1, 0);
	if (ret)
		return fail("io_uring_ext_register_bpf_chain", ret);

	/*
	 * 5. One chain per key.  The scratch area carries the key in and the
	 * answer out; the CQE's res is 1 (found), 0 (not found) or -errno.
	 * Chains are independent: an application would keep many in flight.
	 */
	for (i = 0; i < nkeys; i++) {
		struct bc_lookup_scratch s;
		struct io_uring_sqe *sqe;
		struct io_uring_cqe *cqe;

		memset(&s, 0, sizeof(s));
		s.key = keys[i];
		s.file_size = super.file_size;	/* lets the program check pointers */

		sqe = io_uring_get_sqe(&ring);
		io_uring_ext_prep_bpf_chain(sqe, 0, buf, super.node_size, super.root, 0);
		io_uring_ext_sqe_set_scratch(sqe, &s, sizeof(s));
		io_uring_ext_sqe_set_chain_flags(sqe, generic ? IORING_BPF_CHAIN_GENERIC : 0);
		io_uring_submit(&ring);
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret)
			return fail("io_uring_wait_cqe", ret);
		ret = cqe->res;
		io_uring_cqe_seen(&ring, cqe);

		if (ret < 0)
			return fail("lookup", ret);
		if (s.found)
			printf("found key=0x%016" PRIx64 " value=0x%016" PRIx64 " blocks=%u\n",
			       (uint64_t) s.key, (uint64_t) s.value, s.hops);
		else
			printf("not-found key=0x%016" PRIx64 " blocks=%u\n",
			       (uint64_t) s.key, s.hops);
		missing += !s.found;
	}

	/* 6. What the kernel counted for this ring, in each tier. */
	if (verbose && !io_uring_ext_bpf_chain_stats(&ring, &stats))
		fprintf(stderr, "chains=%llu hops=%llu driver=%llu generic=%llu errors=%llu\n",
			(unsigned long long) stats.chains,
			(unsigned long long) (stats.hops_driver + stats.hops_generic),
			(unsigned long long) stats.hops_driver,
			(unsigned long long) stats.hops_generic,
			(unsigned long long) (stats.err_read + stats.err_prog +
					      stats.err_loop + stats.err_offset));

	io_uring_queue_exit(&ring);	/* drops the file and the program table */
	io_uring_ext_bpf_chain_close(obj);
	btree_lookup__destroy(skel);
	close(fd);
	free(buf);
	free(keys);
	return missing ? 1 : 0;

usage:
	fprintf(stderr, "usage: chain-lookup [-d] [-g] [-v] [-o OBJECT] FILE KEY...\n");
	return 2;
}
