// SPDX-License-Identifier: GPL-2.0-only
/*
 * What both engines share: the job checks, the tree files (names, sizes,
 * the engine's own fds), the key of an I/O and verify_lookups.
 *
 * The job's filename is the tree file.  fio's offset only picks the key:
 * key index = offset / bs, key = bc_key_of(seed, index), so fio's random
 * offsets (uniform, or random_distribution=zipf:theta) become a uniform
 * or Zipf choice of keys.  bs must be the tree's node size: one lookup
 * counts as node_size bytes, and fio's IOPS are lookups per second.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bpf_chain.h"
#include "options.h"		/* get_next_str, set_name_idx */
#include "smalloc.h"

#define FIO_BPFCHAIN_MAX_REPORTS 3	/* verify mismatches printed per job */

void fio_bpfchain_err(struct thread_data *td, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s: %s: %s\n", td->io_ops->name, td->o.name, msg);
}

const char *fio_bpfchain_errname(int err)
{
	return bcdb_errname(err < 0 ? err : -err);
}

/* ------------------------------------------------------------ the job */

/* What no lookup job may ask for; 0 or 1 with one line printed. */
static int check_job(struct thread_data *td)
{
	if (td_write(td) || td_trim(td)) {
		fio_bpfchain_err(td, "lookups only read: use rw=randread or rw=read");
		return 1;
	}
	if (td->o.verify) {	/* not VERIFY_NONE (0; verify.h is fio-internal) */
		fio_bpfchain_err(td, "verify= checks data fio wrote, and lookups never fill fio's buffers: use verify_lookups=1 to check every answer against the pread reader");
		return 1;
	}
	if (td->o.unlink || td->o.unlink_each_loop) {
		fio_bpfchain_err(td, "%s would delete the tree file: the engine never deletes a tree, drop it",
				 td->o.unlink ? "unlink=1" : "unlink_each_loop=1");
		return 1;
	}
	if (!td->files_index) {
		fio_bpfchain_err(td, "no tree file: set filename=");
		return 1;
	}
	return 0;
}

/*
 * fio joins directory= to a filename= when it adds the file, so on the
 * command line --filename=X --directory=D leaves X alone (a job file sorts
 * directory= first).  Once every option is parsed, join a name that was
 * added before the directory was known, as fio's add_file() would have:
 * f->file_name is then still exactly the filename= entry.
 */
static int resolve_name(struct thread_data *td, struct fio_file *f)
{
	char path[PATH_MAX], *list, *s, *name;
	struct stat st;
	unsigned int i;
	int len, ret = 0;

	if (!td->o.directory || !td->o.filename)
		return 0;
	list = s = strdup(td->o.filename);
	if (!list)
		return 1;
	for (i = 0; (name = get_next_str(&s)) != NULL; i++)
		if (i == f->fileno)
			break;
	if (!name || strcmp(name, f->file_name))
		goto out;		/* joined already, or not from filename= */
	len = set_name_idx(path, sizeof(path), td->o.directory, 0, td->o.unique_filename);
	if (len < 0 || (size_t) len + strlen(name) >= sizeof(path)) {
		fio_bpfchain_err(td, "%s: path too long with directory=%s", name, td->o.directory);
		ret = 1;
		goto out;
	}
	strcpy(path + len, name);
	if (fio_file_smalloc(f)) {
		sfree(f->file_name);
		f->file_name = smalloc_strdup(path);
	} else {
		free(f->file_name);
		f->file_name = strdup(path);
	}
	if (!f->file_name) {
		fio_bpfchain_err(td, "out of memory");
		ret = 1;
		goto out;
	}
	/* fio typed the file by its old name */
	f->filetype = !stat(path, &st) && S_ISBLK(st.st_mode) ? FIO_TYPE_BLOCK : FIO_TYPE_FILE;
out:
	free(list);
	return ret;
}

/* The job checks and every file's name; run by .setup and .init, whichever is first. */
static int check_job_and_names(struct thread_data *td)
{
	struct fio_file *f;
	unsigned int i;

	if (check_job(td))
		return 1;
	for_each_file(td, f, i)
		if (resolve_name(td, f))
			return 1;
	return 0;
}

/* ------------------------------------------------------------ the files */

/*
 * The superblock of a tree file, and bs against its node size.  A block
 * device's size is the device's (libbpfchain-db).  0 or 1 with one line.
 */
static int check_file(struct thread_data *td, struct fio_file *f, struct bcdb *db)
{
	uint32_t ns;
	int ret;

	ret = bcdb_open(db, f->file_name);
	if (ret) {
		if (ret == -ENOENT)
			fio_bpfchain_err(td, "%s: no such tree file (build one with fio-engine/mktrees.sh or bpfchain-mkdb btree)",
					 f->file_name);
		else
			fio_bpfchain_err(td, "%s: not a usable bpfchain tree: %s", f->file_name,
					 fio_bpfchain_errname(ret));
		return 1;
	}
	if (db->kind != BCDB_BTREE) {
		fio_bpfchain_err(td, "%s: a hash file, not a B+-tree (the engines look up keys in B+-trees)",
				 f->file_name);
		goto fail;
	}
	ns = db->block_size;
	if (td->o.min_bs[DDIR_READ] != ns || td->o.max_bs[DDIR_READ] != ns) {
		fio_bpfchain_err(td, "%s has %u-byte nodes: set bs=%u (one lookup counts as one node)",
				 f->file_name, ns, ns);
		goto fail;
	}
	if (db->bt.nkeys == 0) {
		fio_bpfchain_err(td, "%s: the tree holds no keys", f->file_name);
		goto fail;
	}
	return 0;
fail:
	bcdb_close(db);
	return 1;
}

/* fio's view of a tree: nkeys lookups of node_size bytes each. */
static void set_size(struct fio_file *f, const struct bcdb *db)
{
	f->real_file_size = db->bt.nkeys * db->block_size;
	fio_file_set_size_known(f);
}

/*
 * .setup: the files' sizes, before any I/O (in fio's parent process unless
 * create_serialize=0, then after .post_init).  Nothing stays open.
 */
int fio_bpfchain_setup(struct thread_data *td)
{
	unsigned long long total = 0;
	struct fio_file *f;
	unsigned int i;
	struct bcdb db;

	if (check_job_and_names(td))
		return 1;
	for_each_file(td, f, i) {
		if (check_file(td, f, &db))
			return 1;
		set_size(f, &db);
		total += f->real_file_size;
		bcdb_close(&db);
	}
	if (td->o.size > total) {
		fio_bpfchain_err(td, "size=%llu is more than the key space (%llu keys x node size = %llu)",
				 td->o.size, total / td->o.min_bs[DDIR_READ], total);
		return 1;
	}
	return 0;
}

int fio_bpfchain_get_file_size(struct thread_data *td, struct fio_file *f)
{
	struct bcdb db;

	if (fio_file_size_known(f))
		return 0;
	if (check_file(td, f, &db))
		return 1;
	set_size(f, &db);
	bcdb_close(&db);
	return 0;
}

/* The engine keeps its own fds for the whole job; fio borrows them. */
int fio_bpfchain_open_file(struct thread_data *td, struct fio_file *f)
{
	struct fio_bpfchain_tree *t = td->io_ops_data;

	if (!t || !t->files || f->engine_pos >= t->nr_files || t->files[f->engine_pos].fd < 0)
		return EINVAL;
	f->fd = t->files[f->engine_pos].fd;
	return 0;
}

int fio_bpfchain_close_file(struct thread_data *td, struct fio_file *f)
{
	f->fd = -1;
	return 0;
}

/* A tree is the user's data: fio's unlink paths never delete it. */
int fio_bpfchain_unlink_file(struct thread_data *td, struct fio_file *f)
{
	return 0;
}

int fio_bpfchain_init_tree(struct thread_data *td, struct fio_bpfchain_tree *t)
{
	unsigned int i;

	if (check_job_and_names(td))
		return 1;
	t->nr_files = td->files_index;
	t->nr_lk = td->o.iodepth ? td->o.iodepth : 1;
	t->files = calloc(t->nr_files, sizeof(*t->files));
	t->lk = calloc(t->nr_lk, sizeof(*t->lk));
	if (!t->files || !t->lk) {
		fio_bpfchain_err(td, "out of memory");
		return 1;
	}
	for (i = 0; i < t->nr_files; i++)
		t->files[i].fd = -1;
	return 0;
}

int fio_bpfchain_open_trees(struct thread_data *td, struct fio_bpfchain_tree *t)
{
	struct fio_file *f;
	unsigned int i;

	for_each_file(td, f, i) {
		struct fio_bpfchain_file *bf = &t->files[i];

		f->engine_pos = i;
		if (check_file(td, f, &bf->db))
			return EINVAL;
		bf->db_open = 1;
		if (i && bf->db.block_size != t->node_size) {
			fio_bpfchain_err(td, "%s: node size %u differs from the first file's %u",
					 f->file_name, bf->db.block_size, t->node_size);
			return EINVAL;
		}
		t->node_size = bf->db.block_size;
		bf->fd = open(f->file_name, O_RDONLY | O_CLOEXEC | (td->o.odirect ? O_DIRECT : 0));
		if (bf->fd < 0) {
			int err = errno;

			fio_bpfchain_err(td, "%s: %s", f->file_name, strerror(err));
			return err;
		}
		/*
		 * The same tree read through the engine's fd: the superblock
		 * checked above is not read again (an unaligned read would fail
		 * with O_DIRECT); lookups read whole nodes into the io_u's
		 * aligned buffer.  bf->fd stays ours (owns_fd 0).
		 */
		bf->io = bf->db;
		bf->io.fd = bf->fd;
		bf->io.owns_fd = 0;
	}
	return 0;
}

void fio_bpfchain_free_tree(struct fio_bpfchain_tree *t)
{
	unsigned int i;

	for (i = 0; t->files && i < t->nr_files; i++) {
		if (t->files[i].fd >= 0)
			close(t->files[i].fd);
		if (t->files[i].db_open)
			bcdb_close(&t->files[i].db);
	}
	free(t->files);
	free(t->lk);
	t->files = NULL;
	t->lk = NULL;
}

/* ------------------------------------------------------------ lookups */

struct fio_bpfchain_lookup *fio_bpfchain_prep_key(struct thread_data *td,
						  struct fio_bpfchain_tree *t,
						  struct io_u *io_u)
{
	struct fio_bpfchain_lookup *lk = &t->lk[io_u->index];
	struct fio_bpfchain_file *bf = fio_bpfchain_file_of(t, io_u);
	uint64_t idx = io_u->offset / t->node_size;

	memset(&lk->r, 0, sizeof(lk->r));
	lk->err = 0;
	if (io_u->ddir != DDIR_READ || io_u->xfer_buflen != t->node_size ||
	    idx >= bf->db.bt.nkeys)
		lk->err = -EINVAL;
	else
		lk->key = bc_key_of(bf->db.bt.seed, idx);
	return lk;
}

/*
 * verify_lookups: the pread reader must give the same errno, answer and
 * block count, and a key of the file must be found with its value; where
 * the lookup leaves the leaf in the buffer (chains), it must be the leaf
 * that answered.  Returns err, or -EIO on a mismatch.
 */
static int verify(struct thread_data *td, struct fio_bpfchain_tree *t, struct io_u *io_u,
		  struct fio_bpfchain_lookup *lk, int err)
{
	struct fio_bpfchain_file *bf = fio_bpfchain_file_of(t, io_u);
	struct bcdb_result r;
	int rerr = bcdb_btree_lookup(&bf->db, lk->key, &r);
	const char *why = NULL;

	if (rerr != err)
		why = "errno";
	else if (!err && (r.found != lk->r.found || (r.found && r.value != lk->r.value)))
		why = "answer";
	else if (!err && r.blocks != lk->r.blocks)
		why = "block count";
	else if (!err && (!r.found || r.value != bc_value_of(lk->key)))
		why = "value not the one mkdb wrote";
	else if (!err && t->leaf_in_buf) {
		struct bcdb_result leaf = { 0 };
		uint32_t level = 0;
		uint64_t next;

		if (bcdb_btree_step(&bf->db, io_u->xfer_buf, lk->key, &level, &next, &leaf) != 0 ||
		    leaf.found != r.found || leaf.value != r.value)
			why = "buffer does not hold the answering leaf";
	}
	if (!why)
		return err;
	if (t->reports++ < FIO_BPFCHAIN_MAX_REPORTS)
		fio_bpfchain_err(td, "%s: lookup of key 0x%llx differs from the pread reader (%s): "
				 "%s found=%d value=0x%llx blocks=%u, reader %s found=%d value=0x%llx blocks=%u",
				 t->mode_name, (unsigned long long) lk->key, why,
				 err ? fio_bpfchain_errname(err) : "ok", lk->r.found,
				 (unsigned long long) lk->r.value, lk->r.blocks,
				 rerr ? fio_bpfchain_errname(rerr) : "ok", r.found,
				 (unsigned long long) r.value, r.blocks);
	return -EIO;
}

void fio_bpfchain_complete(struct thread_data *td, struct fio_bpfchain_tree *t,
			   struct io_u *io_u, int err)
{
	struct fio_bpfchain_options *o = td->eo;
	struct fio_bpfchain_lookup *lk = &t->lk[io_u->index];

	if (o->verify_lookups && !lk->err)
		err = verify(td, t, io_u, lk, err);
	io_u->error = err < 0 ? -err : 0;
	io_u->resid = 0;
}
