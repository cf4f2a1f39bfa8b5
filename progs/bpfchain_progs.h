/* SPDX-License-Identifier: MIT */
/*
 * The IO_CHAIN programs of progs/, for applications: the bpftool skeletons
 * build/progs/NAME.skel.h (NAME = btree_lookup, btree_range, hash_lookup)
 * carry each object inside the binary, so nothing depends on where the
 * build directory is, and the compiler checks the program's name.
 *
 *	struct btree_lookup *skel;
 *	int fd = BC_PROG_LOAD(btree_lookup, &skel);	// the program's fd, or -errno
 *	...
 *	btree_lookup__destroy(skel);
 *
 * Build with -I build/progs (the skeletons) and -I include (the uapi
 * mirror), link with -lbpf.  Each object holds one program, function
 * bpfchain_NAME, in section io_chain.  Third-party objects: load them by
 * path with io_uring_ext_bpf_chain_load() (liburing-ext).
 */
#ifndef BPFCHAIN_PROGS_H
#define BPFCHAIN_PROGS_H

#include <errno.h>
#include <bpf/libbpf.h>
#include "bpfchain_uapi.h"
#include "btree_lookup.skel.h"
#include "btree_range.skel.h"
#include "hash_lookup.skel.h"

/*
 * Type every program of an opened object BPF_PROG_TYPE_IO_CHAIN: libbpf 1.1
 * does not know the io_chain section, and would otherwise refuse to load
 * ("missing BPF prog type").  Between NAME__open() and NAME__load().
 */
static inline void bc_progs_set_type(struct bpf_object *obj)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
		bpf_program__set_type(prog, (enum bpf_prog_type)BPF_PROG_TYPE_IO_CHAIN);
}

/*
 * Open skeleton NAME, type its program, load it (the kernel verifies it):
 * the program's fd, and *skelp to free with NAME__destroy(); or a negative
 * errno (-EINVAL: the kernel lacks the program type; -EACCES: the verifier
 * refused it, its log through libbpf_set_print()'s callback; -EPERM: no
 * CAP_BPF), and *skelp = NULL.
 */
#define BC_PROG_LOAD(name, skelp) ({					\
	struct name *__s = name##__open();				\
	int __fd = __s ? 0 : (errno ? -errno : -ENOMEM);		\
									\
	if (__s) {							\
		bc_progs_set_type(__s->obj);				\
		__fd = name##__load(__s);				\
		if (__fd) {						\
			name##__destroy(__s);				\
			__s = NULL;					\
		} else {						\
			__fd = bpf_program__fd(__s->progs.bpfchain_##name); \
		}							\
	}								\
	*(skelp) = __s;							\
	__fd;								\
})

#endif /* BPFCHAIN_PROGS_H */
