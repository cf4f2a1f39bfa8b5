// SPDX-License-Identifier: GPL-2.0
/*
 * Rig check: an O_DIRECT read through io_uring returns the bytes written.
 * Writes a pattern with pwrite, drops it to disk, then reads random 4 KiB
 * blocks back with IORING_OP_READ on an O_DIRECT descriptor and compares.
 *
 *   uring_odirect DIR     exit 0 = pass, 1 = fail, 77 = skip
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLK	4096
#define NBLK	256

static unsigned char pattern(unsigned int blk, unsigned int i)
{
	return (unsigned char)(blk * 131 + i * 7 + 1);
}

int main(int argc, char **argv)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	unsigned char *buf;
	char path[4096];
	int fd, ret, i, j;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/uring_odirect.dat", argv[1]);
	if (posix_memalign((void **)&buf, BLK, BLK))
		return 1;

	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (i = 0; i < NBLK; i++) {
		for (j = 0; j < BLK; j++)
			buf[j] = pattern(i, j);
		if (pwrite(fd, buf, BLK, (off_t)i * BLK) != BLK) {
			perror("pwrite");
			return 1;
		}
	}
	fsync(fd);
	close(fd);

	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		perror("open O_DIRECT");
		return 1;
	}
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret == -ENOSYS || ret == -EPERM) {
		printf("SKIP: io_uring unavailable (%s)\n", strerror(-ret));
		return 77;
	}
	if (ret) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-ret));
		return 1;
	}
	srand(1);
	for (i = 0; i < 64; i++) {
		unsigned int blk = rand() % NBLK;
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		memset(buf, 0, BLK);
		io_uring_prep_read(sqe, fd, buf, BLK, (off_t)blk * BLK);
		io_uring_submit(&ring);
		ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret || cqe->res != BLK) {
			fprintf(stderr, "read of block %u: ret %d res %d\n",
				blk, ret, ret ? 0 : cqe->res);
			return 1;
		}
		io_uring_cqe_seen(&ring, cqe);
		for (j = 0; j < BLK; j++) {
			if (buf[j] != pattern(blk, j)) {
				fprintf(stderr, "block %u byte %d: got %u want %u\n",
					blk, j, buf[j], pattern(blk, j));
				return 1;
			}
		}
	}
	io_uring_queue_exit(&ring);
	close(fd);
	unlink(path);
	printf("64 O_DIRECT io_uring reads of %s match\n", path);
	return 0;
}
