// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * The SQLite programs' walks under the host kernel's verifier, as XDP
 * programs: the block is the packet, the scratch a 512-byte array map value
 * (PTR_TO_MAP_VALUE of the same size as the chain's PTR_TO_MEM scratch), the
 * hop's offset, length and number come from words of that value.  The host
 * has no BPF_PROG_TYPE_IO_CHAIN; this shows in seconds whether a change to
 * the walks keeps them verifiable, and how many instructions the verifier
 * processed (tests/verify_xdp.sh).  The guest test loads the real ones.
 */
#define SQ_NO_ENTRY
#include "../sqlite_rowid.bpf.c"
#include "../sqlite_index_int.bpf.c"
#include "../sqlite_index_text.bpf.c"
#include "../sqlite_range.bpf.c"

struct hop_in {
	__u64 offset;
	__u32 len, hop;
	__u64 next_offset;
	__u32 result, pad;
	unsigned char scratch[BPF_IO_CHAIN_SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hop_in);
} hop_map SEC(".maps");

#define XDP_WRAP(name)								\
SEC("xdp")									\
int verify_##name(struct xdp_md *x)						\
{										\
	__u32 zero = 0;								\
	struct hop_in *in = bpf_map_lookup_elem(&hop_map, &zero);		\
	struct sq_hop h = { .data = (void *)(long)x->data,			\
			    .end = (void *)(long)x->data_end };			\
	long ret;								\
										\
	if (!in)								\
		return 0;							\
	h.offset = in->offset;							\
	h.len = in->len;							\
	h.hop = in->hop;							\
	ret = sqlite_##name##_main(&h, (void *)in->scratch, sizeof(in->scratch)); \
	in->next_offset = h.next_offset;					\
	in->result = h.result;							\
	return ret;								\
}

XDP_WRAP(rowid)
XDP_WRAP(index_int)
XDP_WRAP(index_text)
XDP_WRAP(range)

char _license[] SEC("license") = "Dual MIT/GPL";
