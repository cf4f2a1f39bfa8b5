/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring_ext_bpf_chain_load() and _close(): a named
 * program, the first io_chain program (NULL name), an "io_chain/..."
 * section, programs of other types left unloaded, and every refusal: NULL
 * arguments, a missing file, a file that is no BPF object, a missing
 * program name, a program of another type, a program the verifier
 * rejects.  A program stays usable in a ring after its object is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "helpers.h"

#define NBLOCKS	4
#define BS	4096

static struct bpf_object *sentinel = (struct bpf_object *) 0x1;

/* type and name of a loaded program */
static void check_prog(int fd, const char *name, const char *what)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		T_CHECK(0, "%s: bpf_obj_get_info_by_fd: %s", what, strerror(errno));
		return;
	}
	T_EQ(BPF_PROG_TYPE_IO_CHAIN, info.type, what);
	T_CHECK(!strcmp(info.name, name), "%s: name %s, want %s", what, info.name, name);
}

/* A load that must fail with err and leave *obj NULL. */
static void refused(const char *path, const char *prog, int err, const char *what)
{
	struct bpf_object *obj = sentinel;

	T_EQ(err, io_uring_ext_bpf_chain_load(path, prog, &obj), what);
	T_CHECK(obj == NULL, "%s: *obj = %p, want NULL", what, (void *) obj);
}

int main(int argc, char *argv[])
{
	char progs_path[4096], other_path[4096], rejected_path[4096];
	char junk[] = "/tmp/liburing-ext-junk.XXXXXX";
	struct bpf_object *obj, *obj2;
	struct io_uring ring;
	int fd, fd2, file;
	__u64 head;
	void *buf;

	if (argc > 1)
		return T_EXIT_SKIP;
	t_ring(&ring, 8, 0);
	snprintf(progs_path, sizeof(progs_path), "%s", t_path("chain_progs.bpf.o"));
	snprintf(other_path, sizeof(other_path), "%s", t_path("other_section.bpf.o"));
	snprintf(rejected_path, sizeof(rejected_path), "%s", t_path("rejected.bpf.o"));
	/* the verifier log of the rejected program is not wanted here */
	libbpf_set_print(NULL);

	/* by name; the object's other io_chain program is loaded too */
	fd = t_load("chain_progs.bpf.o", "fail_euclean", &obj);
	check_prog(fd, "fail_euclean", "fail_euclean");
	check_prog(t_prog_fd(obj, "walker"), "walker", "walker, same object");
	io_uring_ext_bpf_chain_close(obj);
	T_CHECK(fcntl(fd, F_GETFD) < 0, "program fd still open after close");

	/* NULL name: the first io_chain program */
	fd = t_load("chain_progs.bpf.o", NULL, &obj);
	check_prog(fd, "walker", "NULL name");

	/* usable in a ring after its object is closed */
	file = t_list_file("/tmp", BS, NBLOCKS, 0, &head);
	if (io_uring_register_files(&ring, &file, 1) || posix_memalign(&buf, 4096, BS))
		t_fail("setup");
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, &fd, 1, 0), "register loaded fd");
	io_uring_ext_bpf_chain_close(obj);
	T_EQ(NBLOCKS, t_chain(&ring, buf, BS, head, 0, NULL, 0), "chain after close");
	T_EQ(0, io_uring_ext_unregister_bpf_chain(&ring), "unregister");

	/* "io_chain/done" section, next to a socket program that stays unloaded */
	fd = t_load("other_section.bpf.o", "done", &obj);
	check_prog(fd, "done", "io_chain/ section");
	T_CHECK(bpf_program__fd(bpf_object__find_program_by_name(obj, "sock_prog")) < 0,
		"the socket program was loaded");
	fd2 = t_load("other_section.bpf.o", NULL, &obj2);
	check_prog(fd2, "done", "NULL name skips the socket program");
	io_uring_ext_bpf_chain_close(obj2);
	T_EQ(0, io_uring_ext_register_bpf_chain(&ring, &fd, 1, 0), "register done");
	T_EQ(42, t_chain(&ring, buf, BS, head, 0, NULL, 0), "done's result");
	io_uring_ext_bpf_chain_close(obj);

	/* refusals */
	obj = sentinel;
	T_EQ(-EINVAL, io_uring_ext_bpf_chain_load(NULL, "walker", &obj), "NULL path");
	T_EQ(-EINVAL, io_uring_ext_bpf_chain_load(progs_path, "walker", NULL), "NULL obj");
	refused("/nonexistent/x.bpf.o", "walker", -ENOENT, "missing file");
	refused(progs_path, "no_such_prog", -ENOENT, "missing program");
	refused(other_path, "sock_prog", -EINVAL, "a socket program");
	refused(rejected_path, "unchecked", -EACCES, "rejected by the verifier");
	fd = mkstemp(junk);
	if (fd < 0 || write(fd, "not an ELF file\n", 16) != 16)
		t_fail("writing %s", junk);
	close(fd);
	refused(junk, NULL, -ENOEXEC, "not an ELF file");
	unlink(junk);
	refused("/tmp", NULL, -ENOEXEC, "a directory");

	io_uring_ext_bpf_chain_close(NULL);
	io_uring_queue_exit(&ring);
	close(file);
	free(buf);
	return t_exit();
}
