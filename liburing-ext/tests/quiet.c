/* SPDX-License-Identifier: MIT */
/*
 * Description: the library prints nothing, on success or failure.  Every
 * function runs with stdout and stderr sent to a file, libbpf's own print
 * callback set to NULL; the file must stay empty.  With libbpf's default
 * callback, a successful load prints nothing either.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "helpers.h"

static int saved[2];

static void capture(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	fflush(stdout);
	fflush(stderr);
	saved[0] = dup(1);
	saved[1] = dup(2);
	if (fd < 0 || saved[0] < 0 || saved[1] < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		t_fail("redirecting output to %s", path);
	close(fd);
}

static off_t release(const char *path)
{
	struct stat st;

	fflush(stdout);
	fflush(stderr);
	dup2(saved[0], 1);
	dup2(saved[1], 2);
	close(saved[0]);
	close(saved[1]);
	if (stat(path, &st))
		t_fail("stat %s", path);
	return st.st_size;
}

static void show(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		fprintf(stderr, "  | %s", line);
	if (f)
		fclose(f);
}

int main(int argc, char *argv[])
{
	char out[] = "/tmp/liburing-ext-quiet.XXXXXX";
	struct io_uring_ext_bpf_chain_stats st;
	struct bpf_object *obj = NULL, *obj2 = NULL;
	struct io_uring ring, bad;
	char progs_path[4096];
	int fd, res[20], n = 0, bogus = 12345, list, chain_res;
	unsigned hops;
	__u64 head;
	void *buf;
	off_t size;

	if (argc > 1)
		return T_EXIT_SKIP;
	t_ring(&ring, 4, 0);
	fd = mkstemp(out);
	if (fd < 0)
		t_fail("mkstemp");
	close(fd);
	snprintf(progs_path, sizeof(progs_path), "%s", t_path("chain_progs.bpf.o"));
	bad = ring;
	bad.ring_fd = t_closed_fd();
	list = t_list_file("/tmp", 4096, 4, 0, &head);
	if (posix_memalign(&buf, 4096, 4096))
		t_fail("posix_memalign");

	/* libbpf's default print callback: a successful load says nothing */
	capture(out);
	fd = io_uring_ext_bpf_chain_load(progs_path, "walker", &obj);
	size = release(out);
	if (fd == -EPERM)
		t_skip("loading BPF programs needs CAP_BPF");
	T_CHECK(fd >= 0, "load: %s", strerror(-fd));
	T_CHECK(size == 0, "a successful load printed %lld bytes", (long long) size);
	if (size)
		show(out);

	libbpf_set_print(NULL);
	capture(out);
	res[n++] = io_uring_ext_bpf_chain_supported(&ring);
	res[n++] = io_uring_ext_bpf_chain_supported(&bad);
	res[n++] = io_uring_ext_register_bpf_chain(&ring, &bogus, 1, 0);
	res[n++] = io_uring_ext_register_bpf_chain(&ring, &fd, 1, 0);
	res[n++] = io_uring_ext_register_bpf_chain(&ring, &fd, 1, 0);
	res[n++] = io_uring_ext_register_bpf_chain_update(&ring, 5, &fd, 1);
	res[n++] = io_uring_ext_register_bpf_chain_update(&ring, 0, &fd, 1);
	res[n++] = io_uring_ext_bpf_chain_stats(&ring, &st);
	res[n++] = io_uring_ext_bpf_chain_stats(&bad, &st);
	res[n++] = io_uring_ext_unregister_bpf_chain(&ring);
	res[n++] = io_uring_ext_unregister_bpf_chain(&ring);
	res[n++] = io_uring_ext_bpf_chain_load("/nonexistent", NULL, &obj2);
	res[n++] = io_uring_ext_bpf_chain_load(progs_path, "nope", &obj2);
	res[n++] = io_uring_ext_bpf_chain_load(t_path("rejected.bpf.o"), NULL, &obj2);
	res[n++] = io_uring_ext_bpf_chain_test_run(list, buf, 4096, head, fd, NULL, 0, 0,
						   &chain_res, &hops);
	res[n++] = chain_res;
	res[n++] = io_uring_ext_bpf_chain_test_run(list, buf, 4096, head + 8, fd, NULL, 0, 0,
						   &chain_res, &hops);
	res[n++] = chain_res;
	res[n++] = io_uring_ext_bpf_chain_test_run(list, buf, 4096, head, bad.ring_fd, NULL, 0,
						   0, &chain_res, &hops);
	io_uring_ext_bpf_chain_close(obj);
	io_uring_ext_bpf_chain_close(NULL);
	size = release(out);

	T_CHECK(size == 0, "the library printed %lld bytes", (long long) size);
	if (size)
		show(out);
	{
		const int want[] = { 1, -EBADF, -EBADF, 0, -EBUSY, -EINVAL, 0, 0, -EBADF,
				     0, -ENXIO, -ENOENT, -ENOENT, -EACCES, 0, 4, 0, -EINVAL,
				     -EBADF };
		int i;

		for (i = 0; i < n; i++)
			T_EQ(want[i], res[i], "call result");
	}
	unlink(out);
	close(list);
	free(buf);
	io_uring_queue_exit(&ring);
	return t_exit();
}
