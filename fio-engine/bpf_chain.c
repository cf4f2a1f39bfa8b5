// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_chain: an external fio ioengine where one fio I/O is one point lookup
 * in a B+-tree file built by bpfchain-mkdb (progs/).
 *
 *	ioengine=external:/abs/path/bpf_chain.so
 *
 * The job's filename is the tree file.  fio's offset only picks the key:
 * key index = offset / bs, key = bc_key_of(seed, index), so fio's random
 * offsets (uniform, or random_distribution=zipf:theta) become a uniform
 * or Zipf choice of keys.  bs must be the tree's node size: one lookup
 * counts as node_size bytes, and fio's IOPS are lookups per second.
 *
 * Modes (mode=):
 *   chain          one IORING_OP_BPF_CHAIN per lookup, the kernel picks the tier
 *   chain-generic  the same with IORING_BPF_CHAIN_GENERIC (generic tier forced)
 *   user           the same lookup walked in user space, one io_uring read
 *                  per node; the engine issues the next read from its own
 *                  completion loop and completes the fio I/O at the leaf
 *   pread          the same walk with a synchronous pread(2) per node
 *                  (libbpfchain-db's bcdb_btree_lookup), done in ->queue
 *
 * user and pread make the reader's own checks (bcdb_btree_step), so every
 * mode fails a corrupt tree with the same errno.
 *
 * Built against the configured source tree of the installed fio (see the
 * Makefile); links liburing, liburing-ext and libbpfchain-db.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "fio.h"
#include "optgroup.h"

#include <bpf/libbpf.h>
#include "liburing-ext.h"
#include "bpfchain_db.h"	/* progs/: pread reader; includes format.h */

#ifndef BC_PROG_OBJ
#define BC_PROG_OBJ "btree_lookup.bpf.o"
#endif
#define BC_PROG_NAME "bpfchain_btree_lookup"
#define BC_SLOT 4096		/* bytes of buffer per lookup (>= any node size) */
#define BC_MAX_REPORTS 3	/* verify mismatches printed per job */

enum bc_mode { BC_MODE_CHAIN = 0, BC_MODE_CHAIN_GENERIC = 1, BC_MODE_USER = 2,
	       BC_MODE_PREAD = 3 };

static const char *const mode_names[] = { "chain", "chain-generic", "user", "pread" };

static int is_chain(unsigned int mode)
{
	return mode == BC_MODE_CHAIN || mode == BC_MODE_CHAIN_GENERIC;
}

struct bc_options {
	void *pad;		/* fio: no option may sit at offset 0 */
	char *prog_obj;
	char *prog_name;
	unsigned int mode;
	unsigned int registerfiles;
	unsigned int fixedbufs;
	unsigned int hipri;
	unsigned int verify_lookups;
};

static struct fio_option options[] = {
	{
		.name	= "prog_obj",
		.lname	= "BPF object",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct bc_options, prog_obj),
		.def	= BC_PROG_OBJ,
		.help	= "BPF object holding the IO_CHAIN lookup program (chain modes)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "prog_name",
		.lname	= "BPF program name",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct bc_options, prog_name),
		.def	= BC_PROG_NAME,
		.help	= "Function name of the program in prog_obj (chain modes)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "mode",
		.lname	= "Lookup mode",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct bc_options, mode),
		.def	= "chain",
		.help	= "How a lookup walks the tree: chain, chain-generic, user or pread",
		.posval = {
			  { .ival = "chain",
			    .oval = BC_MODE_CHAIN,
			    .help = "IORING_OP_BPF_CHAIN, the kernel chooses the tier",
			  },
			  { .ival = "chain-generic",
			    .oval = BC_MODE_CHAIN_GENERIC,
			    .help = "IORING_OP_BPF_CHAIN with IORING_BPF_CHAIN_GENERIC",
			  },
			  { .ival = "user",
			    .oval = BC_MODE_USER,
			    .help = "User-space traversal, one io_uring read per node",
			  },
			  { .ival = "pread",
			    .oval = BC_MODE_PREAD,
			    .help = "User-space traversal, one synchronous pread(2) per node",
			  },
		},
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "registerfiles",
		.lname	= "Register files",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct bc_options, registerfiles),
		.maxval	= 1,
		.help	= "Register the tree files with the ring (always on in chain modes; not with pread)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fixedbufs",
		.lname	= "Fixed buffers",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct bc_options, fixedbufs),
		.maxval	= 1,
		.help	= "Register the node buffers: READ_FIXED (user), IORING_BPF_CHAIN_FIXED_BUF (chain modes)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "hipri",
		.lname	= "High Priority",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct bc_options, hipri),
		.maxval	= 1,
		.help	= "IOPOLL ring (needs direct=1 and NVMe poll queues)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "verify_lookups",
		.lname	= "Verify lookups",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct bc_options, verify_lookups),
		.maxval	= 1,
		.help	= "Check every answer against the pread reader; mismatch = EIO",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= NULL,
	},
};

/* One tree file. */
struct bc_file {
	int fd;			/* the engine's own fd (O_DIRECT with direct=1) */
	struct bcdb db;		/* pread reader: superblock, verify_lookups */
	int db_open;
	struct bcdb pdb;	/* mode=pread: db's superblock, reading through fd */
};

/* One lookup in flight, indexed by io_u->index. */
struct bc_lookup {
	struct bc_lookup_scratch s;	/* chain modes: the program's scratch */
	void *buf;			/* BC_SLOT bytes, 4096-aligned */
	uint64_t key;
	uint64_t off;			/* user mode: block being read */
	uint32_t expect;		/* user mode: level of that block */
	struct bcdb_result r;		/* the answer in every mode; blocks = hops */
};

struct bc_data {
	struct io_uring ring;
	int ring_ok;
	struct bpf_object *obj;
	struct bc_file *files;
	unsigned int nr_files;
	uint32_t node_size;
	struct bc_lookup *lk;
	unsigned int depth;	/* slots in lk[] */
	void *bufs;
	struct io_u **events;
	unsigned int nr_events;
	unsigned int queued;	/* SQEs fio queued, not submitted yet */
	unsigned int hops_pending;	/* user mode: next-hop SQEs not submitted yet */
	unsigned int reports;
};

/* The engine's one-line errors. */
static void bc_err(struct thread_data *td, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bc_err(struct thread_data *td, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("bpf_chain: %s: %s\n", td->o.name, msg);
}

static const char *errname(int err)
{
	return bcdb_errname(err < 0 ? err : -err);
}

/* ------------------------------------------------------------ the files */

/*
 * Superblock of a tree file and fio's view of it: nkeys keys of node_size
 * bytes each, so that offset / bs is a key index.  0 or an errno (printed).
 */
static int bc_check_file(struct thread_data *td, struct fio_file *f, struct bcdb *db)
{
	uint32_t ns;
	int ret;

	ret = bcdb_open(db, f->file_name);
	if (ret) {
		if (ret == -ENOENT)
			bc_err(td, "%s: no such tree file (build one with fio-engine/mktrees.sh or bpfchain-mkdb btree)",
			       f->file_name);
		else
			bc_err(td, "%s: not a usable bpfchain tree: %s", f->file_name, errname(ret));
		return -ret;
	}
	if (db->kind != BCDB_BTREE) {
		bc_err(td, "%s: a hash file, not a B+-tree (btree_lookup walks B+-trees)", f->file_name);
		bcdb_close(db);
		return EINVAL;
	}
	ns = db->block_size;
	if (td->o.min_bs[DDIR_READ] != ns || td->o.max_bs[DDIR_READ] != ns) {
		bc_err(td, "%s has %u-byte nodes: set bs=%u (one lookup counts as one node)",
		       f->file_name, ns, ns);
		bcdb_close(db);
		return EINVAL;
	}
	if (db->bt.nkeys == 0) {
		bc_err(td, "%s: the tree holds no keys", f->file_name);
		bcdb_close(db);
		return EINVAL;
	}
	return 0;
}

static uint64_t bc_keyspace(const struct bcdb *db)
{
	return db->bt.nkeys * db->block_size;
}

/*
 * fio: the files' sizes (called before init, in fio's parent process when
 * create_serialize is on).  Nothing stays open.
 */
static int bc_setup(struct thread_data *td)
{
	unsigned long long total = 0;
	struct fio_file *f;
	unsigned int i;
	struct bcdb db;
	int ret;

	if (td_write(td) || td_trim(td)) {
		bc_err(td, "lookups only read: use rw=randread or rw=read");
		return 1;
	}
	for_each_file(td, f, i) {
		ret = bc_check_file(td, f, &db);
		if (ret)
			return 1;
		f->real_file_size = bc_keyspace(&db);
		fio_file_set_size_known(f);
		total += f->real_file_size;
		bcdb_close(&db);
	}
	if (td->o.size > total) {
		bc_err(td, "size=%llu is more than the key space (%llu keys x node size = %llu)",
		       td->o.size, total / td->o.min_bs[DDIR_READ], total);
		return 1;
	}
	return 0;
}

static int bc_get_file_size(struct thread_data *td, struct fio_file *f)
{
	struct bcdb db;

	if (fio_file_size_known(f))
		return 0;
	if (bc_check_file(td, f, &db))
		return 1;
	f->real_file_size = bc_keyspace(&db);
	fio_file_set_size_known(f);
	bcdb_close(&db);
	return 0;
}

/* The engine keeps its own fds for the whole job; fio just borrows them. */
static int bc_open_file(struct thread_data *td, struct fio_file *f)
{
	struct bc_data *ld = td->io_ops_data;

	if (!ld || f->engine_pos >= ld->nr_files)
		return EINVAL;
	f->fd = ld->files[f->engine_pos].fd;
	return 0;
}

static int bc_close_file(struct thread_data *td, struct fio_file *f)
{
	f->fd = -1;
	return 0;
}

/* ------------------------------------------------------------ lookups */

/*
 * User mode, one hop: the read of lk->off finished with res.  The checks
 * are the reader's own (bcdb_btree_step), so both fail alike.  Returns 1
 * with lk->off set to the next block, 0 at the leaf (lk->r holds the
 * answer), or a negative errno.
 */
static int user_hop(struct bc_file *bf, struct bc_lookup *lk, int res)
{
	if (res < 0)
		return res;
	if ((unsigned int) res < bf->db.block_size)
		return -BC_E_EOF;
	return bcdb_btree_step(&bf->db, lk->buf, lk->key, &lk->expect, &lk->off, &lk->r);
}

static void prep_user_read(struct thread_data *td, struct io_uring_sqe *sqe,
			   struct io_u *io_u, struct bc_lookup *lk)
{
	struct bc_options *o = td->eo;
	struct bc_data *ld = td->io_ops_data;
	int fd = o->registerfiles ? (int) io_u->file->engine_pos
				  : ld->files[io_u->file->engine_pos].fd;

	if (o->fixedbufs)
		io_uring_prep_read_fixed(sqe, fd, lk->buf, ld->node_size, lk->off,
					 io_u->index);
	else
		io_uring_prep_read(sqe, fd, lk->buf, ld->node_size, lk->off);
	if (o->registerfiles)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, io_u);
}

static void prep_chain(struct thread_data *td, struct io_uring_sqe *sqe,
		       unsigned int fixed, unsigned int slot, struct bc_lookup *lk)
{
	struct bc_options *o = td->eo;
	struct bc_data *ld = td->io_ops_data;
	struct bc_file *bf = &ld->files[fixed];
	unsigned int flags = 0;

	memset(&lk->s, 0, sizeof(lk->s));
	lk->s.key = lk->key;
	lk->s.file_size = bf->db.file_size;	/* the program checks pointers */
	io_uring_ext_prep_bpf_chain(sqe, fixed, lk->buf, ld->node_size,
				    bcdb_btree_start(&bf->db), 0);
	io_uring_ext_sqe_set_scratch(sqe, &lk->s, sizeof(lk->s));
	if (o->mode == BC_MODE_CHAIN_GENERIC)
		flags |= IORING_BPF_CHAIN_GENERIC;
	if (o->fixedbufs) {
		/* lk->buf is registered buffer number slot (bc_init: lk[i].buf is i) */
		flags |= IORING_BPF_CHAIN_FIXED_BUF;
		sqe->buf_index = slot;
	}
	io_uring_ext_sqe_set_chain_flags(sqe, flags);
}

/*
 * A lookup is over: err (0 or negative errno), answer in lk->r.  With
 * verify_lookups, the pread reader must give the same errno, answer and
 * block count, and a key of the file must be found with its value; after a
 * chain, the buffer must hold the leaf that answered (the kernel writes the
 * last block there, into the registered buffer with fixedbufs).  Returns
 * err, or -EIO on a mismatch.
 */
static int verify(struct thread_data *td, struct io_u *io_u, struct bc_lookup *lk, int err)
{
	struct bc_options *o = td->eo;
	struct bc_data *ld = td->io_ops_data;
	struct bc_file *bf = &ld->files[io_u->file->engine_pos];
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
	else if (!err && is_chain(o->mode)) {
		struct bcdb_result leaf = { 0 };
		uint32_t level = 0;
		uint64_t next;

		if (bcdb_btree_step(&bf->db, lk->buf, lk->key, &level, &next, &leaf) != 0 ||
		    leaf.found != r.found || leaf.value != r.value)
			why = "buffer does not hold the answering leaf";
	}
	if (!why)
		return err;
	if (ld->reports++ < BC_MAX_REPORTS)
		bc_err(td, "%s: lookup of key 0x%llx differs from the pread reader (%s): "
		       "%s found=%d value=0x%llx blocks=%u, reader %s found=%d value=0x%llx blocks=%u",
		       mode_names[o->mode], (unsigned long long) lk->key, why,
		       err ? errname(err) : "ok", lk->r.found,
		       (unsigned long long) lk->r.value, lk->r.blocks,
		       rerr ? errname(rerr) : "ok", r.found,
		       (unsigned long long) r.value, r.blocks);
	return -EIO;
}

/* An io_uring lookup is over: err as for verify(); fio reaps it from events. */
static void finish(struct thread_data *td, struct io_u *io_u, struct bc_lookup *lk, int err)
{
	struct bc_options *o = td->eo;
	struct bc_data *ld = td->io_ops_data;

	if (o->verify_lookups)
		err = verify(td, io_u, lk, err);
	io_u->error = err < 0 ? -err : 0;
	io_u->resid = 0;
	ld->events[ld->nr_events++] = io_u;
}

/* One CQE. */
static void handle_cqe(struct thread_data *td, struct io_uring_cqe *cqe)
{
	struct bc_options *o = td->eo;
	struct bc_data *ld = td->io_ops_data;
	struct io_u *io_u = io_uring_cqe_get_data(cqe);
	struct bc_lookup *lk;
	struct io_uring_sqe *sqe;
	int ret;

	if (!io_u)		/* not ours (cannot happen) */
		return;
	lk = &ld->lk[io_u->index];
	if (o->mode != BC_MODE_USER) {
		lk->r.found = lk->s.found;
		lk->r.value = lk->s.value;
		lk->r.blocks = lk->s.hops;
		finish(td, io_u, lk, cqe->res < 0 ? cqe->res : 0);
		return;
	}
	ret = user_hop(&ld->files[io_u->file->engine_pos], lk, cqe->res);
	if (ret <= 0) {
		finish(td, io_u, lk, ret);
		return;
	}
	/* at most one SQE per lookup: the SQ (>= iodepth entries) has room */
	sqe = io_uring_get_sqe(&ld->ring);
	if (!sqe) {
		finish(td, io_u, lk, -EBUSY);
		return;
	}
	prep_user_read(td, sqe, io_u, lk);
	ld->hops_pending++;
}

/*
 * fio sets issue_time itself only after ->queue returns, which for a lookup
 * done inside ->queue (pread) would leave clat ~0: the engine is flagged
 * FIO_ASYNCIO_SETS_ISSUE_TIME and takes it here, before the first read.
 */
static void set_issue_time(struct thread_data *td, struct io_u *io_u)
{
	if (!fio_fill_issue_time(td))
		return;
	fio_gettime(&io_u->issue_time, NULL);
	if (td->o.read_iolog_file)
		memcpy(&td->last_issue, &io_u->issue_time, sizeof(io_u->issue_time));
}

/*
 * mode=pread: the whole lookup now, one pread(2) per node through the
 * engine's fd (O_DIRECT with direct=1), with the reader's own walk.
 */
static enum fio_q_status pread_lookup(struct thread_data *td, struct io_u *io_u,
				      struct bc_lookup *lk, struct bc_file *bf)
{
	struct bc_options *o = td->eo;
	int err;

	set_issue_time(td, io_u);
	err = bcdb_btree_lookup(&bf->pdb, lk->key, &lk->r);
	if (o->verify_lookups)
		err = verify(td, io_u, lk, err);
	io_u->error = err < 0 ? -err : 0;
	io_u->resid = 0;
	/* a ->commit engine's completed I/O is not counted by fio itself */
	io_u_mark_submit(td, 1);
	io_u_mark_complete(td, 1);
	return FIO_Q_COMPLETED;
}

/* ------------------------------------------------------------ fio hooks */

static enum fio_q_status bc_queue(struct thread_data *td, struct io_u *io_u)
{
	struct bc_options *o = td->eo;
	struct bc_data *ld = td->io_ops_data;
	struct bc_lookup *lk = &ld->lk[io_u->index];
	struct bc_file *bf = &ld->files[io_u->file->engine_pos];
	struct io_uring_sqe *sqe;
	uint64_t idx;

	fio_ro_check(td, io_u);

	idx = io_u->offset / ld->node_size;
	if (io_u->ddir != DDIR_READ || io_u->xfer_buflen != ld->node_size ||
	    idx >= bf->db.bt.nkeys || io_u->index >= ld->depth) {
		set_issue_time(td, io_u);
		io_u->error = EINVAL;
		return FIO_Q_COMPLETED;
	}
	lk->key = bc_key_of(bf->db.bt.seed, idx);
	memset(&lk->r, 0, sizeof(lk->r));
	if (o->mode == BC_MODE_PREAD)
		return pread_lookup(td, io_u, lk, bf);

	sqe = io_uring_get_sqe(&ld->ring);
	if (!sqe)
		return FIO_Q_BUSY;
	/* the issue time is the engine's (FIO_ASYNCIO_SETS_ISSUE_TIME): now */
	set_issue_time(td, io_u);
	if (o->mode == BC_MODE_USER) {
		lk->off = bcdb_btree_start(&bf->db);
		lk->expect = BC_LEVEL_ANY;
		prep_user_read(td, sqe, io_u, lk);
	} else {
		prep_chain(td, sqe, io_u->file->engine_pos, io_u->index, lk);
		io_uring_sqe_set_data(sqe, io_u);
	}
	ld->queued++;
	return FIO_Q_QUEUED;
}

static int bc_commit(struct thread_data *td)
{
	struct bc_data *ld = td->io_ops_data;
	int ret;

	if (!ld->queued && !ld->hops_pending)
		return 0;
	do {
		ret = io_uring_submit(&ld->ring);
	} while (ret == -EINTR || ret == -EAGAIN);
	if (ret < 0)
		return ret;
	io_u_mark_submit(td, ld->queued);
	ld->queued = 0;
	ld->hops_pending = 0;
	return 0;
}

static int bc_getevents(struct thread_data *td, unsigned int min, unsigned int max,
			const struct timespec *t)
{
	struct bc_data *ld = td->io_ops_data;
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;
	unsigned int head, n;
	int ret;

	if (t) {
		ts.tv_sec = t->tv_sec;
		ts.tv_nsec = t->tv_nsec;
		tsp = &ts;
	}
	ld->nr_events = 0;
	if (!ld->ring_ok)	/* mode=pread: every lookup completed in ->queue */
		return 0;
	for (;;) {
		n = 0;
		io_uring_for_each_cqe(&ld->ring, head, cqe) {
			handle_cqe(td, cqe);
			n++;
			if (ld->nr_events >= max)
				break;
		}
		io_uring_cq_advance(&ld->ring, n);
		if (ld->hops_pending) {
			ret = io_uring_submit(&ld->ring);
			if (ret < 0 && ret != -EINTR && ret != -EAGAIN)
				return ret;
			if (ret >= 0)
				ld->hops_pending = 0;
		}
		if (ld->nr_events >= max || (ld->nr_events >= min && n == 0))
			break;
		if (ld->nr_events >= min && min)
			break;
		if (n)
			continue;
		/* nothing there: wait (or, with min 0, look once; IOPOLL polls here) */
		if (!min) {
			ret = io_uring_peek_cqe(&ld->ring, &cqe);
			if (ret == -EAGAIN)
				break;
		} else if (tsp) {
			ret = io_uring_wait_cqe_timeout(&ld->ring, &cqe, tsp);
			if (ret == -ETIME)
				break;
		} else {
			ret = io_uring_wait_cqe(&ld->ring, &cqe);
		}
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -ETIME)
			return ret;
	}
	return ld->nr_events;
}

static struct io_u *bc_event(struct thread_data *td, int event)
{
	struct bc_data *ld = td->io_ops_data;

	return ld->events[event];
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/*
 * One chain on the ring before fio starts: checks the program, the file
 * and the ring flags together.  0 or the negative errno of the CQE.
 */
static int probe_chain(struct thread_data *td)
{
	struct bc_data *ld = td->io_ops_data;
	struct bc_lookup *lk = &ld->lk[0];
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	sqe = io_uring_get_sqe(&ld->ring);
	if (!sqe)
		return -EBUSY;
	lk->key = bc_key_of(ld->files[0].db.bt.seed, 0);
	prep_chain(td, sqe, 0, 0, lk);
	io_uring_sqe_set_data(sqe, NULL);
	ret = io_uring_submit(&ld->ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&ld->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&ld->ring, cqe);
	return ret < 0 ? ret : 0;
}

static void bc_cleanup(struct thread_data *td)
{
	struct bc_data *ld = td->io_ops_data;
	unsigned int i;

	if (!ld)
		return;
	if (ld->ring_ok)
		io_uring_queue_exit(&ld->ring);
	if (ld->obj)
		io_uring_ext_bpf_chain_close(ld->obj);
	for (i = 0; ld->files && i < ld->nr_files; i++) {
		if (ld->files[i].fd >= 0)
			close(ld->files[i].fd);
		if (ld->files[i].db_open)
			bcdb_close(&ld->files[i].db);
	}
	free(ld->files);
	free(ld->lk);
	free(ld->events);
	free(ld->bufs);
	free(ld);
	td->io_ops_data = NULL;
}

static int bc_init(struct thread_data *td)
{
	struct bc_options *o = td->eo;
	struct bc_data *ld;
	struct fio_file *f;
	unsigned int i;
	int ret, prog_fd, *fds = NULL;

	if (o->mode > BC_MODE_PREAD) {
		bc_err(td, "unknown mode %u", o->mode);
		return 1;
	}
	if (o->mode == BC_MODE_PREAD && (o->registerfiles || o->fixedbufs || o->hipri)) {
		bc_err(td, "%s: mode=pread reads with pread(2) and has no ring; use it with another mode",
		       o->hipri ? "hipri" : o->fixedbufs ? "fixedbufs" : "registerfiles");
		return 1;
	}
	if (o->hipri && !td->o.odirect) {
		bc_err(td, "hipri (IOPOLL) needs direct=1");
		return 1;
	}
	if (td_write(td) || td_trim(td)) {
		bc_err(td, "lookups only read: use rw=randread or rw=read");
		return 1;
	}
	if (!td->o.nr_files || !td->files_index) {
		bc_err(td, "no tree file: set filename=");
		return 1;
	}

	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return 1;
	td->io_ops_data = ld;
	ld->depth = td->o.iodepth ? td->o.iodepth : 1;
	ld->nr_files = td->files_index;
	ld->files = calloc(ld->nr_files, sizeof(*ld->files));
	ld->lk = calloc(ld->depth, sizeof(*ld->lk));
	ld->events = calloc(ld->depth, sizeof(*ld->events));
	if (!ld->files || !ld->lk || !ld->events ||
	    posix_memalign(&ld->bufs, 4096, (size_t) ld->depth * BC_SLOT))
		goto nomem;
	memset(ld->bufs, 0, (size_t) ld->depth * BC_SLOT);
	for (i = 0; i < ld->depth; i++)
		ld->lk[i].buf = (char *) ld->bufs + (size_t) i * BC_SLOT;
	for (i = 0; i < ld->nr_files; i++)
		ld->files[i].fd = -1;

	/* the files: our own fds, and the reader's for the superblock and verify */
	for_each_file(td, f, i) {
		struct bc_file *bf = &ld->files[i];

		f->engine_pos = i;
		if (bc_check_file(td, f, &bf->db))
			goto fail;
		bf->db_open = 1;
		if (i && bf->db.block_size != ld->node_size) {
			bc_err(td, "%s: node size %u differs from the first file's %u",
			       f->file_name, bf->db.block_size, ld->node_size);
			goto fail;
		}
		ld->node_size = bf->db.block_size;
		bf->fd = open(f->file_name, O_RDONLY | O_CLOEXEC | (td->o.odirect ? O_DIRECT : 0));
		if (bf->fd < 0) {
			bc_err(td, "%s: %s", f->file_name, strerror(errno));
			goto fail;
		}
		/*
		 * mode=pread reads through our fd: the superblock checked above,
		 * not read again (bcdb_open_fd's unaligned read would fail with
		 * O_DIRECT); bcdb_btree_lookup reads whole nodes into an aligned
		 * buffer.  bf->fd stays ours (owns_fd 0).
		 */
		bf->pdb = bf->db;
		bf->pdb.fd = bf->fd;
		bf->pdb.owns_fd = 0;
	}
	if (o->mode == BC_MODE_PREAD)
		return 0;

	ret = io_uring_queue_init(ld->depth, &ld->ring, o->hipri ? IORING_SETUP_IOPOLL : 0);
	if (ret) {
		bc_err(td, "io_uring_queue_init(%u%s): %s", ld->depth,
		       o->hipri ? ", IOPOLL" : "", strerror(-ret));
		goto fail;
	}
	ld->ring_ok = 1;

	if (o->mode != BC_MODE_USER || o->registerfiles) {
		fds = calloc(ld->nr_files, sizeof(*fds));
		if (!fds)
			goto nomem;
		for (i = 0; i < ld->nr_files; i++)
			fds[i] = ld->files[i].fd;
	}

	/* the node buffers, registered buffer i = lk[i].buf = io_u->index i */
	if (o->fixedbufs) {
		struct iovec *iov = calloc(ld->depth, sizeof(*iov));

		if (!iov)
			goto nomem;
		for (i = 0; i < ld->depth; i++) {
			iov[i].iov_base = ld->lk[i].buf;
			iov[i].iov_len = BC_SLOT;
		}
		ret = io_uring_register_buffers(&ld->ring, iov, ld->depth);
		free(iov);
		if (ret) {
			bc_err(td, "fixedbufs: %s", strerror(-ret));
			goto fail;
		}
	}

	if (o->mode == BC_MODE_USER) {
		if (o->registerfiles) {
			ret = io_uring_register_files(&ld->ring, fds, ld->nr_files);
			if (ret) {
				bc_err(td, "registerfiles: %s", strerror(-ret));
				goto fail;
			}
		}
		free(fds);
		return 0;
	}

	/* chain modes: the opcode, the program, the registered files */
	{
		struct io_uring probe;

		/* an IOPOLL ring answers 0: ask a plain ring whether the kernel has it */
		ret = io_uring_queue_init(2, &probe, 0);
		if (!ret) {
			ret = io_uring_ext_bpf_chain_supported(&probe);
			io_uring_queue_exit(&probe);
		}
		if (ret != 1) {
			bc_err(td, "this kernel has no IORING_OP_BPF_CHAIN (%s): mode=%s needs the bpfchain kernel, mode=user and mode=pread run anywhere",
			       ret < 0 ? strerror(-ret) : "not in the probe", mode_names[o->mode]);
			goto fail;
		}
	}
	{
		libbpf_print_fn_t old = libbpf_set_print(silent_print);

		prog_fd = io_uring_ext_bpf_chain_load(o->prog_obj, o->prog_name, &ld->obj);
		libbpf_set_print(old);
		if (prog_fd < 0) {
			bc_err(td, "prog_obj=%s prog_name=%s: cannot load: %s", o->prog_obj,
			       o->prog_name ? o->prog_name : "(first)", strerror(-prog_fd));
			goto fail;
		}
	}
	ret = io_uring_register_files(&ld->ring, fds, ld->nr_files);
	if (ret) {
		bc_err(td, "registering the tree files: %s", strerror(-ret));
		goto fail;
	}
	ret = io_uring_ext_register_bpf_chain(&ld->ring, &prog_fd, 1, 0);
	if (ret) {
		bc_err(td, "registering the program: %s", strerror(-ret));
		goto fail;
	}
	free(fds);
	fds = NULL;

	/* one lookup now, so that a refusal is one line here, not an I/O error later */
	ret = probe_chain(td);
	if (ret == -EOPNOTSUPP && o->hipri) {
		bc_err(td, "hipri: this kernel refuses IORING_OP_BPF_CHAIN on IOPOLL rings (EOPNOTSUPP); use hipri=0, or mode=user for polled reads");
		goto fail;
	}
	if (ret == -EINVAL && o->fixedbufs) {
		bc_err(td, "fixedbufs: this kernel refuses IORING_BPF_CHAIN_FIXED_BUF (EINVAL); use fixedbufs=0");
		goto fail;
	}
	if (ret) {
		bc_err(td, "first chain on %s failed: %s", td->files[0]->file_name, errname(ret));
		goto fail;
	}
	return 0;

nomem:
	bc_err(td, "out of memory");
fail:
	free(fds);
	bc_cleanup(td);
	return 1;
}

/* fio finds the engine by dlsym("ioengine") */
struct ioengine_ops ioengine = {
	.name			= "bpf_chain",
	.version		= FIO_IOOPS_VERSION,
	.flags			= FIO_DISKLESSIO | FIO_NOEXTEND | FIO_NODISKUTIL |
				  FIO_ASYNCIO_SETS_ISSUE_TIME,
	.init			= bc_init,
	.setup			= bc_setup,
	.queue			= bc_queue,
	.commit			= bc_commit,
	.getevents		= bc_getevents,
	.event			= bc_event,
	.cleanup		= bc_cleanup,
	.open_file		= bc_open_file,
	.close_file		= bc_close_file,
	.get_file_size		= bc_get_file_size,
	.options		= options,
	.option_struct_size	= sizeof(struct bc_options),
};

