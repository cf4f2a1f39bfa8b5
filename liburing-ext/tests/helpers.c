/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "helpers.h"

int t_failures;

const char *t_errname(long long v)
{
	static const struct { int e; const char *n; } names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EIO, "EIO" },
		{ ENXIO, "ENXIO" }, { E2BIG, "E2BIG" }, { ENOEXEC, "ENOEXEC" },
		{ EBADF, "EBADF" }, { ENOMEM, "ENOMEM" }, { EACCES, "EACCES" },
		{ EFAULT, "EFAULT" }, { EBUSY, "EBUSY" }, { EINVAL, "EINVAL" },
		{ ERANGE, "ERANGE" }, { ELOOP, "ELOOP" }, { EBADMSG, "EBADMSG" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { EUCLEAN, "EUCLEAN" },
		{ ECANCELED, "ECANCELED" },
	};
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (v == -names[i].e)
			return names[i].n;
	return "";
}

void t_skip(const char *fmt, ...)
{
	va_list ap;

	printf("Skipped: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(T_EXIT_SKIP);
}

void t_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(T_EXIT_FAIL);
}

int t_exit(void)
{
	if (t_failures) {
		fprintf(stderr, "%d check(s) failed\n", t_failures);
		return T_EXIT_FAIL;
	}
	return T_EXIT_PASS;
}

void t_ring(struct io_uring *ring, unsigned entries, unsigned flags)
{
	int ret = io_uring_queue_init(entries, ring, flags);

	if (ret == -ENOSYS || ret == -EPERM)
		t_skip("io_uring_queue_init: %s", strerror(-ret));
	if (ret)
		t_fail("io_uring_queue_init: %s", strerror(-ret));
	ret = io_uring_ext_bpf_chain_supported(ring);
	if (ret < 0)
		t_fail("io_uring_ext_bpf_chain_supported: %s", strerror(-ret));
	if (!ret)
		t_skip("kernel lacks IORING_OP_BPF_CHAIN");
}

int t_closed_fd(void)
{
	/* far above what the test opens, so it stays closed */
	int fd = 987;

	while (fcntl(fd, F_GETFD) >= 0)
		fd++;
	return fd;
}

const char *t_path(const char *name)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	if (n < 0)
		t_fail("readlink /proc/self/exe: %s", strerror(errno));
	path[n] = 0;
	slash = strrchr(path, '/');
	snprintf(slash + 1, sizeof(path) - (slash + 1 - path), "%s", name);
	return path;
}

int t_load(const char *obj, const char *prog, struct bpf_object **o)
{
	int fd = io_uring_ext_bpf_chain_load(t_path(obj), prog, o);

	if (fd == -EPERM)
		t_skip("loading BPF programs needs CAP_BPF");
	if (fd < 0)
		t_fail("load %s %s: %s", obj, prog ? prog : "(first)", strerror(-fd));
	return fd;
}

int t_prog_fd(struct bpf_object *obj, const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	int fd = prog ? bpf_program__fd(prog) : -1;

	if (fd < 0)
		t_fail("program %s not loaded", name);
	return fd;
}

int t_socket_filter(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns, 2, NULL);

	if (fd < 0)
		t_fail("loading a socket filter: %s", strerror(-fd));
	return fd;
}

const struct t_place t_places[] = {
	{ "/tmp", 0, 4096 },
	{ "/mnt/nvme", 1, 4096 },
	{ "/mnt/nvme-xfs", 1, 512 },
	{ "/mnt/vblk", 1, 4096 },
	{ "/mnt/vblk", 0, 1024 },
};
const unsigned t_nr_places = sizeof(t_places) / sizeof(t_places[0]);

struct bpf_object *t_chain_progs(int *walker, int *fail)
{
	struct bpf_object *obj;
	struct io_uring ring;

	t_ring(&ring, 4, 0);	/* skips on an unpatched kernel */
	io_uring_queue_exit(&ring);
	*walker = t_load("chain_progs.bpf.o", "walker", &obj);
	*fail = t_prog_fd(obj, "fail_euclean");
	return obj;
}

__u64 t_list_offset(int bs, int nblocks, int i)
{
	return (__u64)((i * 37 + 11) % nblocks) * bs;
}

int t_list_file(const char *dir, int bs, int nblocks, int o_direct, __u64 *head)
{
	char path[PATH_MAX];
	unsigned char *blk;
	int fd, rfd, i;

	snprintf(path, sizeof(path), "%s/liburing-ext-list.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		t_fail("mkstemp %s: %s", path, strerror(errno));
	blk = malloc(bs);
	for (i = 0; i < nblocks; i++) {
		__u64 next = i + 1 < nblocks ? t_list_offset(bs, nblocks, i + 1) : ~0ULL;
		__u64 val = 1000 + i;

		memset(blk, 0x5a, bs);
		memcpy(blk, &next, 8);
		memcpy(blk + 8, &val, 8);
		if (pwrite(fd, blk, bs, t_list_offset(bs, nblocks, i)) != bs)
			t_fail("writing %s: %s", path, strerror(errno));
	}
	free(blk);
	if (fsync(fd))
		t_fail("fsync %s: %s", path, strerror(errno));
	rfd = open(path, O_RDONLY | (o_direct ? O_DIRECT : 0));
	if (rfd < 0)
		t_fail("open %s: %s", path, strerror(errno));
	unlink(path);
	close(fd);
	*head = t_list_offset(bs, nblocks, 0);
	return rfd;
}

int t_submit_wait(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_submit(ring);
	if (ret != 1)
		t_fail("io_uring_submit: %d", ret);
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		t_fail("io_uring_wait_cqe: %s", strerror(-ret));
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

int t_chain(struct io_uring *ring, void *buf, unsigned bs, __u64 off,
	    unsigned prog_slot, void *scratch, unsigned scratch_len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		t_fail("no SQE");
	io_uring_ext_prep_bpf_chain(sqe, 0, buf, bs, off, prog_slot);
	io_uring_ext_sqe_set_scratch(sqe, scratch, scratch_len);
	return t_submit_wait(ring);
}
