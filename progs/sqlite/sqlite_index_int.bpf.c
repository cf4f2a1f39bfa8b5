// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * SQLite index lookup on a one-column index of INTEGER keys, then the row, in
 * one chain: sqlite_index.bpf.h's walk with key_type BCSQL_KEY_INT (struct
 * bcsql_index_scratch, sqlite_format.h).
 */
#include "sqlite_index.bpf.h"

static __always_inline long sqlite_index_int_main(struct sq_hop *ctx, struct bcsql_index_scratch *s,
					      __u32 scratch_len)
{
	return sqlite_index_main(ctx, s, scratch_len, BCSQL_KEY_INT);
}

#ifndef SQ_NO_ENTRY
SEC("io_chain")
long bpfchain_sqlite_index_int(struct bpf_io_chain *ctx)
{
	struct sq_hop h = SQ_HOP_IN(ctx);

	return sq_hop_out(ctx, &h, sqlite_index_int_main(&h, (void *)(long)ctx->scratch,
							 ctx->scratch_len));
}

char _license[] SEC("license") = "Dual MIT/GPL";
#endif
