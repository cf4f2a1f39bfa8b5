// SPDX-License-Identifier: MIT
/*
 * progs-guest-test load, and the programs every other sub-command uses:
 * each comes from its bpftool skeleton (bpfchain_progs.h), so the object
 * is inside this binary and its program's name is checked by the compiler.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "guest.h"
#include "bpfchain_progs.h"

struct loaded progs[NR_PROGS];

void require_io_chain(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_IO_CHAIN, NULL, "GPL", insns, 2, NULL);

	if (fd >= 0) {
		close(fd);
		return;
	}
	if (fd == -EPERM)
		skip("%s", "loading IO_CHAIN programs needs CAP_BPF");
	if (fd == -EINVAL)
		skip("%s", "kernel lacks BPF_PROG_TYPE_IO_CHAIN");
	die("BPF_PROG_LOAD of a trivial IO_CHAIN program", fd);
}

/* The program's instruction counts, before and after the verifier. */
static void prog_counts(struct loaded *l)
{
	struct bpf_prog_info info;
	__u32 info_len = sizeof(info);

	l->insns = bpf_program__insn_cnt(l->prog);
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(l->fd, &info, &info_len))
		l->verified = info.verified_insns;
}

/*
 * Skeleton sk into *l: BC_PROG_LOAD (open, bpf_program__set_type, load).
 * libbpf prints the verifier's log through libbpf_print() when it fails.
 */
#define LOAD_SKEL(sk, l) ({						\
	struct sk *__skel;						\
	int __fd = BC_PROG_LOAD(sk, &__skel);				\
									\
	memset((l), 0, sizeof(*(l)));					\
	(l)->name = #sk;						\
	if (__fd >= 0) {						\
		(l)->skel = __skel;					\
		(l)->skeleton = __skel->skeleton;			\
		(l)->obj = __skel->obj;					\
		(l)->prog = __skel->progs.bpfchain_##sk;		\
		(l)->fd = __fd;						\
		prog_counts(l);						\
	}								\
	__fd < 0 ? __fd : 0;						\
})

/* What NAME__destroy() does, for a skeleton of any NAME */
static void unload(struct loaded *l)
{
	bpf_object__destroy_skeleton(l->skeleton);
	free(l->skel);
	memset(l, 0, sizeof(*l));
}

static int load_one(int i, struct loaded *l)
{
	switch (i) {
	case P_LOOKUP: return LOAD_SKEL(btree_lookup, l);
	case P_RANGE: return LOAD_SKEL(btree_range, l);
	default: return LOAD_SKEL(hash_lookup, l);
	}
}

/* The object's bytes, from the skeleton: a third party's object file. */
static const void *elf_bytes(int i, size_t *sz)
{
	switch (i) {
	case P_LOOKUP: return btree_lookup__elf_bytes(sz);
	case P_RANGE: return btree_range__elf_bytes(sz);
	default: return hash_lookup__elf_bytes(sz);
	}
}

void load_all(void)
{
	int err;

	require_io_chain();
	for (int i = 0; i < NR_PROGS; i++) {
		err = load_one(i, &progs[i]);
		if (err)
			die(progs[i].name, err);
	}
}

/*
 * The object of program i as a file (a memfd), loaded by path with
 * io_uring_ext_bpf_chain_load(), as an application loads an object it did
 * not build: the program's fd, or -errno.
 */
static int load_by_path(int i, const char *prog_name, struct bpf_object **obj)
{
	char path[64];
	size_t sz;
	const void *bytes = elf_bytes(i, &sz);
	int mfd = memfd_create("bpfchain-obj", MFD_CLOEXEC), fd;

	if (mfd < 0 || write(mfd, bytes, sz) != (ssize_t)sz)
		die("memfd for the object", errno);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	fd = io_uring_ext_bpf_chain_load(path, prog_name, obj);
	close(mfd);
	return fd;
}

/*
 * Each program three ways: its skeleton (BC_PROG_LOAD), its object by path
 * (io_uring_ext_bpf_chain_load), and its skeleton with the type coming from
 * an io_chain section handler alone (libbpf_register_prog_handler).
 */
int t_load(void)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, hopts);
	struct bpf_object *obj;
	struct loaded l;
	int id, err, fd, ways = 0;

	require_io_chain();
	for (int i = 0; i < NR_PROGS; i++) {
		err = load_one(i, &l);
		CHECK(err == 0, "%s: load from the skeleton: %s", l.name, strerror(-err));
		if (err)
			continue;
		printf("%s: loaded, %u instructions, verifier processed %u\n", l.name, l.insns,
		       l.verified);
		CHECK(l.verified > 0, "%s: bpf_prog_info.verified_insns is 0", l.name);
		CHECK(bpf_program__type(l.prog) == BPF_PROG_TYPE_IO_CHAIN, "%s: type %d", l.name,
		      (int)bpf_program__type(l.prog));
		fd = load_by_path(i, bpf_program__name(l.prog), &obj);
		CHECK(fd >= 0, "%s: io_uring_ext_bpf_chain_load of its object: %s", l.name,
		      strerror(-fd));
		if (fd >= 0)
			io_uring_ext_bpf_chain_close(obj);
		unload(&l);
		ways += 2;
	}
	id = libbpf_register_prog_handler("io_chain", BPF_PROG_TYPE_IO_CHAIN, 0, &hopts);
	CHECK(id > 0, "libbpf_register_prog_handler: %d", id);
	if (id > 0) {
		struct btree_lookup *a = btree_lookup__open_and_load();
		struct btree_range *b = btree_range__open_and_load();
		struct hash_lookup *c = hash_lookup__open_and_load();

		CHECK(a && b && c, "open_and_load through the io_chain section handler: %s",
		      strerror(errno));
		CHECK(!a || bpf_program__fd(a->progs.bpfchain_btree_lookup) >= 0, "btree_lookup fd");
		CHECK(!b || bpf_program__fd(b->progs.bpfchain_btree_range) >= 0, "btree_range fd");
		CHECK(!c || bpf_program__fd(c->progs.bpfchain_hash_lookup) >= 0, "hash_lookup fd");
		ways += !!a + !!b + !!c;
		btree_lookup__destroy(a);
		btree_range__destroy(b);
		hash_lookup__destroy(c);
		libbpf_unregister_prog_handler(id);
	}
	return finish("load", "%d programs, %d loads three ways (skeleton, object by path, "
		      "section handler)", NR_PROGS, ways);
}
