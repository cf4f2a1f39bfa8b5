// SPDX-License-Identifier: MIT
/* Bulk builders of the B+-tree and hash formats: the whole image in memory, one write. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "build.h"
#include "format.h"

static int block_size_ok(uint32_t bs)
{
	return bs >= BC_BLOCK_MIN && bs <= BC_BLOCK_MAX && !(bs & (bs - 1));
}

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* slot[j] for j < n: identity, or a seed-determined permutation. */
static uint64_t *make_slots(uint64_t n, uint64_t seed, int scatter)
{
	uint64_t *slot = malloc((n ? n : 1) * sizeof(*slot)), i, j, t, st = seed ^ 0x5ca77e7ULL;

	if (!slot)
		return NULL;
	for (i = 0; i < n; i++)
		slot[i] = i;
	if (scatter) {
		for (i = n; i > 1; i--) {
			j = splitmix64(&st) % i;
			t = slot[i - 1];
			slot[i - 1] = slot[j];
			slot[j] = t;
		}
	}
	return slot;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int write_image(const char *path, const void *img, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	uint64_t done = 0;
	ssize_t n;

	if (fd < 0)
		goto fail;
	while (done < size) {
		n = write(fd, (const char *)img + done, size - done > (1U << 30) ? (1U << 30) : size - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			goto fail;
		}
		done += n;
	}
	/* on the disk before anyone reads it with O_DIRECT, also on a block device */
	if (fsync(fd) < 0) {
		close(fd);
		goto fail;
	}
	if (close(fd) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "bpfchain-mkdb: %s: %s\n", path, strerror(errno));
	return -errno;
}

static int bad(const char *msg)
{
	fprintf(stderr, "bpfchain-mkdb: %s\n", msg);
	return -EINVAL;
}

int bc_build_btree(const char *path, const struct bc_build_opts *o, struct bc_build_info *info)
{
	uint32_t ns = o->block_size ? o->block_size : BC_BLOCK_MAX, f, depth = 0;
	uint64_t n = o->nkeys, per_level[BC_MAX_DEPTH + 1], m, total = 0, i, j, c, first;
	uint64_t *keys = NULL, *slot = NULL, *minkey = NULL, *offs = NULL, node = 0, nchild;
	struct bc_btree_super *sb;
	char *img = NULL;
	int err = -ENOMEM;

	if (!block_size_ok(ns))
		return bad("node size must be 512, 1024, 2048 or 4096");
	f = o->fanout ? o->fanout : BC_BTREE_CAP(ns);
	if (f < 2 || f > BC_BTREE_CAP(ns)) {
		fprintf(stderr, "bpfchain-mkdb: fanout must be 2..%zu for %u-byte nodes\n",
			BC_BTREE_CAP(ns), ns);
		return -EINVAL;
	}
	/* nodes per level, leaves first, each level spread evenly */
	m = n ? (n + f - 1) / f : 1;
	for (;;) {
		if (depth == BC_MAX_DEPTH)
			return bad("tree deeper than 24 levels: raise the fanout");
		per_level[depth++] = m;
		total += m;
		if (m == 1)
			break;
		m = (m + f - 1) / f;
	}

	keys = malloc((n ? n : 1) * sizeof(*keys));
	slot = make_slots(total, o->seed, o->scatter);
	minkey = malloc(per_level[0] * sizeof(*minkey));
	offs = malloc(per_level[0] * sizeof(*offs));
	img = calloc(total + 1, ns);
	if (!keys || !slot || !minkey || !offs || !img) {
		fprintf(stderr, "bpfchain-mkdb: out of memory\n");
		goto out;
	}
	for (i = 0; i < n; i++)
		keys[i] = bc_key_of(o->seed, i);
	qsort(keys, n, sizeof(*keys), cmp_u64);

	/* leaves: keys [i*n/m, (i+1)*n/m) each */
	m = per_level[0];
	for (i = 0; i < m; i++)
		offs[i] = (1 + slot[node + i]) * ns;
	for (i = 0; i < m; i++) {
		struct bc_btree_node *nd = (void *)(img + offs[i]);
		uint64_t lo = i * n / m, hi = (i + 1) * n / m;

		nd->magic = BC_BTREE_NODE_MAGIC;
		nd->level = 0;
		nd->nkeys = hi - lo;
		nd->next = i + 1 < m ? offs[i + 1] : 0;
		for (j = lo; j < hi; j++) {
			nd->e[j - lo].key = keys[j];
			nd->e[j - lo].val = bc_value_of(keys[j]);
		}
		minkey[i] = n ? keys[lo] : 0;
	}
	first = offs[0];
	node += m;

	/* internal levels: child entries (min key, offset), spread evenly */
	for (c = 1; c < depth; c++) {
		nchild = m;
		m = per_level[c];
		for (i = 0; i < m; i++) {
			uint64_t lo = i * nchild / m, hi = (i + 1) * nchild / m;
			uint64_t off = (1 + slot[node + i]) * ns;
			struct bc_btree_node *nd = (void *)(img + off);

			nd->magic = BC_BTREE_NODE_MAGIC;
			nd->level = c;
			nd->nkeys = hi - lo;
			nd->next = 0;
			for (j = lo; j < hi; j++) {
				nd->e[j - lo].key = minkey[j];
				nd->e[j - lo].val = offs[j];
			}
			/* i <= lo: rewriting in place is safe */
			minkey[i] = minkey[lo];
			offs[i] = off;
		}
		node += m;
	}

	sb = (void *)img;
	sb->magic = BC_BTREE_MAGIC;
	sb->version = BC_VERSION;
	sb->node_size = ns;
	sb->depth = depth;
	sb->fanout = f;
	sb->nkeys = n;
	sb->root = offs[0];
	sb->value_size = 8;
	sb->flags = o->scatter ? BC_BTREE_F_SCATTERED : 0;
	sb->nnodes = total;
	sb->file_size = (total + 1) * ns;
	sb->seed = o->seed;
	sb->first_leaf = first;

	err = write_image(path, img, sb->file_size);
	if (!err && info) {
		memset(info, 0, sizeof(*info));
		info->block_size = ns;
		info->fanout = f;
		info->depth = depth;
		info->nodes = total;
		info->file_size = sb->file_size;
	}
out:
	free(keys);
	free(slot);
	free(minkey);
	free(offs);
	free(img);
	return err;
}

int bc_build_hash(const char *path, const struct bc_build_opts *o, struct bc_build_info *info)
{
	uint32_t bs = o->block_size ? o->block_size : BC_BLOCK_MAX, f, per, max_chain = 0;
	uint64_t n = o->nkeys, nb, nbb, nchain = 0, i, b, k, blk, *cnt = NULL, *firstblk = NULL;
	uint64_t *pos = NULL, *slot = NULL, total;
	struct bc_hash_super *sb;
	char *img = NULL;
	int err = -ENOMEM;

	if (!block_size_ok(bs))
		return bad("block size must be 512, 1024, 2048 or 4096");
	f = o->fanout ? o->fanout : BC_HASH_CAP(bs);
	if (f < 1 || f > BC_HASH_CAP(bs)) {
		fprintf(stderr, "bpfchain-mkdb: fanout must be 1..%zu for %u-byte blocks\n",
			BC_HASH_CAP(bs), bs);
		return -EINVAL;
	}
	nb = o->nbuckets ? o->nbuckets : (n + f - 1) / f;
	if (nb == 0)
		nb = 1;
	per = BC_HASH_HEADS(bs);
	nbb = (nb + per - 1) / per;

	cnt = calloc(nb, sizeof(*cnt));
	firstblk = calloc(nb, sizeof(*firstblk));
	pos = calloc(nb, sizeof(*pos));
	if (!cnt || !firstblk || !pos)
		goto oom;
	for (i = 0; i < n; i++)
		cnt[bc_hash64(bc_key_of(o->seed, i)) % nb]++;
	for (b = 0; b < nb; b++) {
		k = (cnt[b] + f - 1) / f;
		firstblk[b] = nchain;
		nchain += k;
		if (k > max_chain)
			max_chain = k;
	}
	/* superblock + bucket block + chain must fit in one chain's hops */
	if (max_chain + 2 > BC_MAX_HOPS) {
		fprintf(stderr, "bpfchain-mkdb: a chain of %u blocks exceeds %d hops: use more buckets\n",
			max_chain, BC_MAX_HOPS);
		err = -EINVAL;
		goto out;
	}
	total = 1 + nbb + nchain;
	slot = make_slots(nchain, o->seed, o->scatter);
	img = calloc(total, bs);
	if (!slot || !img)
		goto oom;
#define CHAIN_OFF(idx) ((1 + nbb + slot[idx]) * (uint64_t)bs)

	for (i = 0; i < nbb; i++) {
		struct bc_hash_bucket_block *bb = (void *)(img + (1 + i) * bs);

		bb->magic = BC_HASH_BUCKET_MAGIC;
		bb->first = i * per;
		bb->count = nb - bb->first < per ? nb - bb->first : per;
		bb->nbuckets = nb;
		for (b = bb->first; b < bb->first + bb->count; b++)
			bb->head[b - bb->first] = cnt[b] ? CHAIN_OFF(firstblk[b]) : 0;
	}
	for (i = 0; i < n; i++) {
		uint64_t key = bc_key_of(o->seed, i);
		struct bc_hash_chain_block *cb;

		b = bc_hash64(key) % nb;
		blk = firstblk[b] + pos[b] / f;
		cb = (void *)(img + CHAIN_OFF(blk));
		if (pos[b] % f == 0) {
			cb->magic = BC_HASH_CHAIN_MAGIC;
			cb->bucket = b;
			cb->next = pos[b] + f < cnt[b] ? CHAIN_OFF(blk + 1) : 0;
		}
		cb->e[cb->nentries].key = key;
		cb->e[cb->nentries].val = bc_value_of(key);
		cb->nentries++;
		pos[b]++;
	}
#undef CHAIN_OFF

	sb = (void *)img;
	sb->magic = BC_HASH_MAGIC;
	sb->version = BC_VERSION;
	sb->block_size = bs;
	sb->nkeys = n;
	sb->nbuckets = nb;
	sb->bucket_off = bs;
	sb->per_block = per;
	sb->fanout = f;
	sb->nblocks = nbb + nchain;
	sb->file_size = total * bs;
	sb->seed = o->seed;
	sb->max_chain = max_chain;

	err = write_image(path, img, sb->file_size);
	if (!err && info) {
		memset(info, 0, sizeof(*info));
		info->block_size = bs;
		info->fanout = f;
		info->nodes = nbb + nchain;
		info->bucket_blocks = nbb;
		info->chain_blocks = nchain;
		info->nbuckets = nb;
		info->max_chain = max_chain;
		info->file_size = sb->file_size;
	}
	goto out;
oom:
	fprintf(stderr, "bpfchain-mkdb: out of memory\n");
out:
	free(cnt);
	free(firstblk);
	free(pos);
	free(slot);
	free(img);
	return err;
}
