/* SPDX-License-Identifier: MIT */
/*
 * libbpfchain-db: plain user-space traversal of the bpfchain formats
 * (format.h) with pread(2), the reference answer for the BPF programs.
 *
 * Each call walks exactly the blocks the matching BPF program walks when
 * the chain starts at the block bcdb_*_start() returns (the root, or the
 * key's bucket block) with scratch file_size = the file's size, and fails
 * with the same negated BC_E_* errno for the same corruption:
 *
 *   -EBADMSG   bad magic (superblock, node, bucket or chain block)
 *   -EPROTO    superblock of an unsupported version
 *   -EUCLEAN   header out of range (nkeys/count > capacity, empty internal
 *              node, unexpected level, bad depth/fanout/node size, a depth
 *              not the root's level + 1, chain block of another bucket,
 *              keys out of order in a scan)
 *   -EFAULT    child/next/root/head offset 0 or not block-aligned
 *   -ENXIO     block past the end of the file
 *   -ELOOP     more than BC_MAX_HOPS blocks; leaf chain going backwards
 *              (a range scan counts the keys below lo as passed)
 *   -EINVAL    caller error, or a bucket block not covering the key's bucket
 *   -EIO etc.  pread(2) failed
 *
 * Results carry the number of blocks read (the chain's hop count), also
 * when the call fails.
 */
#ifndef BPFCHAIN_DB_H
#define BPFCHAIN_DB_H

#include <stdint.h>
#include "format.h"

enum bcdb_kind { BCDB_BTREE = 1, BCDB_HASH = 2 };

struct bcdb {
	int fd;
	int owns_fd;
	enum bcdb_kind kind;
	uint32_t block_size;	/* node size or hash block size */
	uint64_t file_size;	/* bcdb_file_size() at open */
	union {
		struct bc_btree_super bt;
		struct bc_hash_super h;
	};
};

struct bcdb_result {
	uint64_t value;
	int found;
	unsigned int blocks;
};

struct bcdb_range {
	uint32_t count;		/* values filled */
	int more;		/* keys <= hi remain, from resume on */
	uint64_t resume;
	unsigned int blocks;
};

/* Open and check the superblock (and the root's level against its depth).
 * 0 or a negative errno. */
int bcdb_open(struct bcdb *db, const char *path);
int bcdb_open_fd(struct bcdb *db, int fd);	/* fd stays the caller's */
void bcdb_close(struct bcdb *db);

/*
 * The size of the file or block device open on fd, as chains on it see it:
 * st_size, or BLKGETSIZE64 for a block device (whose st_size is 0).  0 or a
 * negative errno.
 */
int bcdb_file_size(int fd, uint64_t *size);

/* First block of a chain for key: the root, or the key's bucket block. */
uint64_t bcdb_btree_start(const struct bcdb *db);
uint64_t bcdb_hash_start(const struct bcdb *db, uint64_t key);

/* Point lookup: 0 (r->found says whether) or a negative errno. */
int bcdb_btree_lookup(struct bcdb *db, uint64_t key, struct bcdb_result *r);
int bcdb_hash_lookup(struct bcdb *db, uint64_t key, struct bcdb_result *r);

/*
 * One hop of bcdb_btree_lookup() on a node the caller has read itself
 * (db->block_size bytes, e.g. with io_uring): for walkers that do their own
 * I/O and want the reader's checks and errnos.  Start with *r zeroed,
 * *expect_level = BC_LEVEL_ANY and the node at bcdb_btree_start(db); each
 * call counts the node in r->blocks and checks its header, then
 *
 *   1   walk on: read the node at *next (pointer and hop budget checked),
 *       *expect_level is its level; call again with it
 *   0   at the leaf: r->found, r->value are the answer
 *   <0  a negated BC_E_* errno (the lookup's, for the same corruption)
 *
 * bcdb_btree_lookup() is bcdb_read_block() and this, until it returns <= 0.
 * A short read of a node is the caller's to report (-ENXIO, as the reader).
 */
int bcdb_btree_step(const struct bcdb *db, const void *node, uint64_t key,
		    uint32_t *expect_level, uint64_t *next, struct bcdb_result *r);

/*
 * One range-scan call, as btree_range.bpf.c does it: up to max values
 * (0 or > BC_RANGE_MAX = BC_RANGE_MAX) of the keys in [lo, hi] in key order.
 * With r->more, call again with lo = r->resume.
 */
int bcdb_btree_range(struct bcdb *db, uint64_t lo, uint64_t hi, uint64_t *values,
		     uint32_t max, struct bcdb_range *r);

/* "EBADMSG" etc. for the errnos above, else strerror's text. */
const char *bcdb_errname(int err);

/* Internal, shared by btree.c and hash.c. */
int bcdb_read_block(struct bcdb *db, uint64_t off, void *buf);
int bcdb_next_ok(const struct bcdb *db, uint64_t off, unsigned int blocks);

#endif /* BPFCHAIN_DB_H */
