// SPDX-License-Identifier: MIT
/*
 * progs-guest-test test-run: the programs run block by block with
 * BPF_PROG_TEST_RUN (no io_uring), on the trees and tables of the chain
 * tests and a few more, and on every corruption case.
 */
#include <stdio.h>
#include <string.h>

#include "guest.h"

/*
 * BPF_PROG_TEST_RUN, block by block, doing what the generic tier does, with
 * the kernel's own checks (alignment, EOF, hop limit) and its errnos:
 * io_uring_ext_bpf_chain_test_run(), which also checks each hop's answer
 * (the block unchanged, the context's read-only fields, the return value).
 */
int test_run_chain(struct req *r)
{
	unsigned int hops;
	int err, res;

	err = io_uring_ext_bpf_chain_test_run(env.fd, r->buf, env.bs, r->off, progs[r->prog].fd,
					      r->scratch, r->scratch_len, KERNEL_MAX_HOPS, &res,
					      &hops);
	r->hops = hops;
	CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err));
	if (err)
		return -10000;	/* never a chain result */
	return res;
}

int t_test_run(void)
{
	struct stats bt = { 0 }, hs = { 0 };
	struct range_stats rs = { 0 };
	uint32_t max_chain = 0;
	long cases = 0;

	load_all();
	env_init(BE_TEST_RUN, "test-run");
	make_workdir("/tmp");
	for (size_t i = 0; i < ARRAY_LEN(trees) && failures <= 40; i++)
		lookups_on(&trees[i], 100 + i, 2000, 40, &bt, &rs);
	for (size_t i = 0; i < ARRAY_LEN(small_trees) && failures <= 40; i++)
		lookups_on(&small_trees[i], 200 + i, 1000, 20, &bt, &rs);
	for (size_t i = 0; i < ARRAY_LEN(htabs) && failures <= 40; i++)
		hash_on(&htabs[i], 300 + i, 2000, &hs, &max_chain);
	CHECK(max_chain >= 3, "no hash table had a chain of 3 blocks (longest %u)", max_chain);
	corrupt_all(&cases);
	remove_workdir();
	return finish("test-run", "btree lookups %ld present %ld absent, %ld ranges in %ld calls "
		      "(%ld values, %ld resumed), hash lookups %ld present %ld absent, "
		      "%ld corruption cases, %ld BPF_PROG_TEST_RUN calls",
		      bt.present, bt.absent, rs.ranges, rs.calls, rs.values, rs.resumed,
		      hs.present, hs.absent, cases, env.hops);
}
