// SPDX-License-Identifier: MIT
/*
 * progs-guest-test test-run: the programs run block by block with
 * BPF_PROG_TEST_RUN (no io_uring), on the trees and tables of the chain
 * tests and a few more, and on every corruption case.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "guest.h"

/*
 * BPF_PROG_TEST_RUN, block by block, doing what the generic tier does:
 * pread the block, run the program on block + scratch, carry the scratch
 * over, follow next_offset, stop at DONE or an error.  The kernel's own
 * checks (alignment, EOF, hop limit) are applied here with its errnos.
 */
int test_run_chain(struct req *r)
{
	static unsigned char in[BC_BLOCK_MAX + BPF_IO_CHAIN_SCRATCH_SIZE];
	static unsigned char out[BC_BLOCK_MAX + BPF_IO_CHAIN_SCRATCH_SIZE + 64];
	uint32_t len = env.bs, slen = r->scratch_len;
	struct bpf_io_chain cin, cout;
	uint64_t off = r->off;
	int err;

	r->hops = 0;
	for (unsigned int hop = 0;; hop++) {
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = in, .data_size_in = len + slen,
			.data_out = out, .data_size_out = sizeof(out),
			.ctx_in = &cin, .ctx_size_in = sizeof(cin),
			.ctx_out = &cout, .ctx_size_out = sizeof(cout));

		if (hop >= KERNEL_MAX_HOPS)
			return -ELOOP;
		if (off % 512)
			return -EINVAL;
		if (off >= env.size || env.size - off < len)
			return -ERANGE;
		if (pread(env.fd, in, len, off) != (ssize_t)len)
			return -EIO;
		memcpy(in + len, r->scratch, slen);
		memset(&cin, 0, sizeof(cin));
		cin.offset = off;
		cin.hop = hop;
		cin.scratch_len = slen;
		memset(&cout, 0xa5, sizeof(cout));
		err = bpf_prog_test_run_opts(progs[r->prog].fd, &o);
		CHECK(err == 0, "BPF_PROG_TEST_RUN: %s", strerror(-err));
		if (err)
			return -10000;	/* never a chain result */
		r->hops++;
		CHECK(o.data_size_out == len + slen, "data_size_out %u, want %u", o.data_size_out,
		      len + slen);
		CHECK(!memcmp(out, in, len), "the program changed the block");
		CHECK(cout.offset == off && cout.hop == hop && cout.len == len &&
		      cout.scratch_len == slen, "ctx_out offset %llu hop %u len %u scratch_len %u",
		      (unsigned long long)cout.offset, cout.hop, cout.len, cout.scratch_len);
		memcpy(r->scratch, out + len, slen);
		memcpy(r->buf, in, len);
		if ((int)o.retval == BPF_IO_CHAIN_NEXT) {
			off = cout.next_offset;
			continue;
		}
		if ((int)o.retval == BPF_IO_CHAIN_DONE)
			return (int)cout.result;
		CHECK((int)o.retval < 0 && (int)o.retval >= -4095, "retval %d", (int)o.retval);
		return (int)o.retval;
	}
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
