// SPDX-License-Identifier: MIT
/*
 * The test's files, in a fresh directory of the file system under test:
 * B+-trees and hash tables from the builder, synced; poke() for the
 * corruption cases; the keys to look up.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"

static char workdir[PATH_MAX];

const char *wpath(const char *name)
{
	static char buf[4][PATH_MAX + 64];
	static int n;
	char *p = buf[n++ % 4];

	snprintf(p, PATH_MAX + 64, "%s/%s", workdir, name);
	return p;
}

void make_workdir(const char *dir)
{
	if (access(dir, W_OK))
		skip("%s is not writable (the guest mounts a file system there)", dir);
	snprintf(workdir, sizeof(workdir), "%s/bpfchain-progs.XXXXXX", dir);
	if (!mkdtemp(workdir))
		die("mkdtemp", errno);
}

void remove_workdir(void)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", workdir);
}

static void sync_file(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fsync(fd))
		die(path, errno);
	close(fd);
}

void btree_file(const char *name, uint64_t n, uint32_t ns, uint32_t f, uint64_t seed,
		       int scatter, struct bc_build_info *info)
{
	struct bc_build_opts o = { .nkeys = n, .block_size = ns, .fanout = f, .seed = seed,
				   .scatter = scatter };
	int err = bc_build_btree(wpath(name), &o, info);

	if (err)
		die("bc_build_btree", err);
	sync_file(wpath(name));
}

void hash_file(const char *name, uint64_t n, uint32_t bs, uint32_t f, uint64_t nb,
		      uint64_t seed, int scatter, struct bc_build_info *info)
{
	struct bc_build_opts o = { .nkeys = n, .block_size = bs, .fanout = f, .seed = seed,
				   .nbuckets = nb, .scatter = scatter };
	int err = bc_build_hash(wpath(name), &o, info);

	if (err)
		die("bc_build_hash", err);
	sync_file(wpath(name));
}

void poke(const char *name, uint64_t off, const void *p, size_t len)
{
	int fd = open(wpath(name), O_WRONLY);

	if (fd < 0 || pwrite(fd, p, len, off) != (ssize_t)len || fsync(fd))
		die("poke", errno);
	close(fd);
}

/* Keys for a file of n keys: present, absent, next to present ones, extremes. */
uint64_t *make_keys(uint64_t seed, uint64_t n, size_t count)
{
	uint64_t *k = malloc(count * sizeof(*k));

	for (size_t i = 0; i < count; i++) {
		uint64_t r = rnd(), kind = i % 10;

		if (i == 0)
			k[i] = 0;
		else if (i == 1)
			k[i] = UINT64_MAX;
		else if (n && kind < 4)
			k[i] = bc_key_of(seed, r % n);
		else if (n && kind < 6)
			k[i] = bc_key_of(seed, r % n) + (r & 1 ? 1 : -1);
		else if (kind < 9)
			k[i] = bc_key_of(seed, n + r % (1ULL << 40));
		else
			k[i] = rnd();
	}
	return k;
}
