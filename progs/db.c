// SPDX-License-Identifier: MIT
/* libbpfchain-db: open, block reads, pointer checks, error names. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include "bpfchain_db.h"

static int block_size_ok(uint32_t bs)
{
	return bs >= BC_BLOCK_MIN && bs <= BC_BLOCK_MAX && !(bs & (bs - 1));
}

/* bc_check_ptr() of chain_common.bpf.h, against the file's real size. */
static int ptr_ok(const struct bcdb *db, uint64_t off)
{
	if (off == 0 || (off & (db->block_size - 1)))
		return -BC_E_PTR;
	if (off > db->file_size || db->file_size - off < db->block_size)
		return -BC_E_EOF;
	return 0;
}

/* bc_next(): the pointer, then the hop budget (blocks = blocks read so far). */
int bcdb_next_ok(const struct bcdb *db, uint64_t off, unsigned int blocks)
{
	int err = ptr_ok(db, off);

	if (err)
		return err;
	if (blocks >= BC_MAX_HOPS)
		return -BC_E_LOOP;
	return 0;
}

int bcdb_read_block(struct bcdb *db, uint64_t off, void *buf)
{
	ssize_t n;
	size_t done = 0;

	while (done < db->block_size) {
		n = pread(db->fd, (char *)buf + done, db->block_size - done, off + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -BC_E_EOF;
		done += n;
	}
	return 0;
}

static int check_btree_super(struct bcdb *db)
{
	const struct bc_btree_super *sb = &db->bt;
	struct bc_btree_node root;
	ssize_t n;
	int err;

	if (sb->version != BC_VERSION)
		return -BC_E_VERSION;
	if (!block_size_ok(sb->node_size))
		return -BC_E_CORRUPT;
	db->block_size = sb->node_size;
	if (sb->depth < 1 || sb->depth > BC_MAX_DEPTH)
		return -BC_E_CORRUPT;
	if (sb->fanout < 2 || sb->fanout > BC_BTREE_CAP(sb->node_size))
		return -BC_E_CORRUPT;
	err = ptr_ok(db, sb->root);
	if (err)
		return err;
	/*
	 * Lookups take the root's level from the root, as a program started
	 * there does; one started at the superblock wants depth - 1.  Refuse
	 * a superblock whose depth is not the tree's, so that both agree.
	 * A root with a bad magic is left to the lookups (-EBADMSG there).
	 */
	n = pread(db->fd, &root, sizeof(root), sb->root);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(root))
		return -BC_E_EOF;
	if (root.magic == BC_BTREE_NODE_MAGIC && root.level != sb->depth - 1)
		return -BC_E_CORRUPT;
	return 0;
}

static int check_hash_super(struct bcdb *db)
{
	const struct bc_hash_super *sb = &db->h;
	uint64_t nbb;

	if (sb->version != BC_VERSION)
		return -BC_E_VERSION;
	if (!block_size_ok(sb->block_size))
		return -BC_E_CORRUPT;
	db->block_size = sb->block_size;
	if (sb->nbuckets == 0 || sb->per_block != BC_HASH_HEADS(sb->block_size))
		return -BC_E_CORRUPT;
	if (sb->fanout < 1 || sb->fanout > BC_HASH_CAP(sb->block_size))
		return -BC_E_CORRUPT;
	/*
	 * The last bucket block must be inside the file as well.  Rounded up
	 * without adding to nbuckets: near 2^64 the sum wraps, nbb comes out
	 * 0 and lookups would read far outside the file.
	 */
	nbb = sb->nbuckets / sb->per_block + !!(sb->nbuckets % sb->per_block);
	if (nbb > db->file_size / sb->block_size)
		return -BC_E_EOF;
	return ptr_ok(db, sb->bucket_off + (nbb - 1) * sb->block_size) ?:
	       ptr_ok(db, sb->bucket_off);
}

int bcdb_file_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode)) {
		*size = st.st_size;
		return 0;
	}
	/* st_size is 0 for a block device: its size as the kernel reports it */
	return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
}

int bcdb_open_fd(struct bcdb *db, int fd)
{
	uint64_t magic;
	ssize_t n;
	int err;

	memset(db, 0, sizeof(*db));
	db->fd = fd;
	err = bcdb_file_size(fd, &db->file_size);
	if (err)
		return err;
	n = pread(fd, &db->bt, sizeof(db->bt), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(magic))
		return -BC_E_EOF;
	memcpy(&magic, &db->bt, sizeof(magic));
	if (magic == BC_BTREE_MAGIC)
		db->kind = BCDB_BTREE;
	else if (magic == BC_HASH_MAGIC)
		db->kind = BCDB_HASH;
	else
		return -BC_E_MAGIC;
	if ((size_t)n < sizeof(db->bt))
		return -BC_E_EOF;
	return db->kind == BCDB_BTREE ? check_btree_super(db) : check_hash_super(db);
}

int bcdb_open(struct bcdb *db, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	err = bcdb_open_fd(db, fd);
	if (err) {
		close(fd);
		db->fd = -1;
		return err;
	}
	db->owns_fd = 1;
	return 0;
}

void bcdb_close(struct bcdb *db)
{
	if (db->owns_fd && db->fd >= 0)
		close(db->fd);
	db->fd = -1;
	db->owns_fd = 0;
}

const char *bcdb_errname(int err)
{
	switch (err < 0 ? -err : err) {
	case BC_E_MAGIC:	return "EBADMSG (bad magic)";
	case BC_E_VERSION:	return "EPROTO (unsupported version)";
	case BC_E_CORRUPT:	return "EUCLEAN (header out of range)";
	case BC_E_PTR:		return "EFAULT (bad block pointer)";
	case BC_E_EOF:		return "ENXIO (block past end of file)";
	case BC_E_LOOP:		return "ELOOP (too many hops or a cycle)";
	case BC_E_ARG:		return "EINVAL (invalid argument)";
	default:		return strerror(err < 0 ? -err : err);
	}
}
