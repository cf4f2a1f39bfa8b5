// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_chain: the io_uring engine.  One fio I/O is one B+-tree lookup.
 *
 *	ioengine=external:/abs/path/bpf_chain.so
 *
 * Modes (mode=):
 *   chain          one IORING_OP_BPF_CHAIN per lookup, the kernel picks the tier
 *   chain-generic  the same with IORING_BPF_CHAIN_GENERIC (generic tier forced)
 *   user           the same lookup walked in user space, one io_uring read
 *                  per node; the engine issues the next read from its own
 *                  completion loop and completes the fio I/O at the leaf
 *
 * The lifecycle is fio's engines/io_uring.c one: .init takes the options
 * and allocates, .post_init sets up the ring, registered files and buffers
 * (fio's io_u buffers, buffer i = io_u->index) and the program, .prep
 * builds the I/O's SQE, .queue hands it to the ring, .commit submits.
 * A mode is a row of the modes table: how its SQE is built and what a CQE
 * of it means.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <bpf/libbpf.h>
#include "liburing-ext.h"
#include "bpfchain_progs.h"	/* progs/: the programs' skeletons */
#include "bpf_chain.h"

enum fio_bpfchain_mode {
	FIO_BPFCHAIN_CHAIN = 0,
	FIO_BPFCHAIN_CHAIN_GENERIC,
	FIO_BPFCHAIN_USER,
	FIO_BPFCHAIN_PREAD,	/* now the bpf_chain_psync engine: refused at init */
};

struct fio_bpfchain_data;

struct fio_bpfchain_mode_ops {
	const char *name;
	int chain;		/* IORING_OP_BPF_CHAIN: program, registered files */
	unsigned int chain_flags;
	/* the first SQE of a lookup */
	void (*prep)(struct thread_data *td, struct fio_bpfchain_data *ld, struct io_u *io_u,
		     struct fio_bpfchain_lookup *lk, struct io_uring_sqe *sqe);
	/* a CQE of the lookup: 1 = the next hop is queued, else the lookup is over */
	int (*cqe)(struct thread_data *td, struct fio_bpfchain_data *ld, struct io_u *io_u,
		   struct fio_bpfchain_lookup *lk, int res);
};

struct fio_bpfchain_data {
	struct fio_bpfchain_tree t;	/* first: tree.c's hooks take td->io_ops_data */
	const struct fio_bpfchain_mode_ops *m;
	struct io_uring ring;
	int ring_ok;
	struct bpf_object *obj;		/* prog_obj= */
	struct btree_lookup *skel;	/* the default program */
	struct io_u **io_u_index;	/* by io_u->index (.io_u_init) */
	struct io_uring_sqe *sqes;	/* built by .prep, by io_u->index */
	struct io_u **queued;		/* queued since the last commit */
	unsigned int nr_queued;
	unsigned int hops_pending;	/* mode=user: next-hop SQEs not submitted yet */
	struct io_u **events;
	unsigned int nr_events;
};

static struct fio_option options[] = {
	{
		.name	= "mode",
		.lname	= "Lookup mode",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct fio_bpfchain_options, mode),
		.def	= "chain",
		.help	= "How a lookup walks the tree: chain, chain-generic or user",
		.posval = {
			  { .ival = "chain",
			    .oval = FIO_BPFCHAIN_CHAIN,
			    .help = "IORING_OP_BPF_CHAIN, the kernel chooses the tier",
			  },
			  { .ival = "chain-generic",
			    .oval = FIO_BPFCHAIN_CHAIN_GENERIC,
			    .help = "IORING_OP_BPF_CHAIN with IORING_BPF_CHAIN_GENERIC",
			  },
			  { .ival = "user",
			    .oval = FIO_BPFCHAIN_USER,
			    .help = "User-space traversal, one io_uring read per node",
			  },
			  { .ival = "pread",
			    .oval = FIO_BPFCHAIN_PREAD,
			    .help = "Moved: the bpf_chain_psync engine",
			  },
		},
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "prog_obj",
		.lname	= "BPF object",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct fio_bpfchain_options, prog_obj),
		.help	= "BPF object file of a lookup program (chain modes; default: progs' btree_lookup, built in)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "prog_name",
		.lname	= "BPF program name",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct fio_bpfchain_options, prog_name),
		.help	= "Function name of the program in prog_obj (default: its first program)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "registerfiles",
		.lname	= "Register files",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct fio_bpfchain_options, registerfiles),
		.maxval	= 1,
		.help	= "Register the tree files with the ring (always on in chain modes)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fixedbufs",
		.lname	= "Fixed buffers",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct fio_bpfchain_options, fixedbufs),
		.maxval	= 1,
		.help	= "Register the io_u buffers: READ_FIXED (user), IORING_BPF_CHAIN_FIXED_BUF (chain modes)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "hipri",
		.lname	= "High Priority",
		.type	= FIO_OPT_STR_SET,
		.off1	= offsetof(struct fio_bpfchain_options, hipri),
		.maxval	= 1,
		.help	= "IOPOLL ring (needs direct=1 and NVMe poll queues)",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	FIO_BPFCHAIN_OPT_VERIFY_LOOKUPS,
	{
		.name	= NULL,
	},
};

/* ------------------------------------------------------------ the modes */

/* A chain on tree file fileno into buf (registered buffer buf_index with fixedbufs). */
static void chain_sqe(struct thread_data *td, struct fio_bpfchain_data *ld, unsigned int fileno,
		      void *buf, unsigned int buf_index, struct fio_bpfchain_lookup *lk,
		      struct io_uring_sqe *sqe)
{
	struct fio_bpfchain_options *o = td->eo;
	struct fio_bpfchain_file *bf = &ld->t.files[fileno];
	unsigned int flags = ld->m->chain_flags;

	memset(&lk->s, 0, sizeof(lk->s));
	lk->s.key = lk->key;
	lk->s.file_size = bf->db.file_size;	/* the program checks pointers */
	io_uring_ext_prep_bpf_chain(sqe, fileno, buf, ld->t.node_size,
				    bcdb_btree_start(&bf->db), 0);
	io_uring_ext_sqe_set_scratch(sqe, &lk->s, sizeof(lk->s));
	if (o->fixedbufs) {
		/* the kernel reads the last block into the registered buffer */
		flags |= IORING_BPF_CHAIN_FIXED_BUF;
		sqe->buf_index = buf_index;
	}
	io_uring_ext_sqe_set_chain_flags(sqe, flags);
}

static void chain_prep(struct thread_data *td, struct fio_bpfchain_data *ld, struct io_u *io_u,
		       struct fio_bpfchain_lookup *lk, struct io_uring_sqe *sqe)
{
	chain_sqe(td, ld, io_u->file->engine_pos, io_u->xfer_buf, io_u->index, lk, sqe);
	io_uring_sqe_set_data(sqe, io_u);
}

static int chain_cqe(struct thread_data *td, struct fio_bpfchain_data *ld, struct io_u *io_u,
		     struct fio_bpfchain_lookup *lk, int res)
{
	lk->r.found = lk->s.found;
	lk->r.value = lk->s.value;
	lk->r.blocks = lk->s.hops;
	fio_bpfchain_complete(td, &ld->t, io_u, res < 0 ? res : 0);
	return 0;
}

/* mode=user: the read of lk->off into the io_u's buffer. */
static void user_read(struct thread_data *td, struct fio_bpfchain_data *ld, struct io_u *io_u,
		      struct fio_bpfchain_lookup *lk, struct io_uring_sqe *sqe)
{
	struct fio_bpfchain_options *o = td->eo;
	int fd = o->registerfiles ? (int) io_u->file->engine_pos
				  : fio_bpfchain_file_of(&ld->t, io_u)->fd;

	if (o->fixedbufs)
		io_uring_prep_read_fixed(sqe, fd, io_u->xfer_buf, ld->t.node_size, lk->off,
					 io_u->index);
	else
		io_uring_prep_read(sqe, fd, io_u->xfer_buf, ld->t.node_size, lk->off);
	if (o->registerfiles)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, io_u);
}

static void user_prep(struct thread_data *td, struct fio_bpfchain_data *ld, struct io_u *io_u,
		      struct fio_bpfchain_lookup *lk, struct io_uring_sqe *sqe)
{
	lk->off = bcdb_btree_start(&fio_bpfchain_file_of(&ld->t, io_u)->db);
	lk->expect = BC_LEVEL_ANY;
	user_read(td, ld, io_u, lk, sqe);
}

/*
 * mode=user, one hop: the read of lk->off finished with res.  The checks
 * are the reader's own (bcdb_btree_step), so both fail alike.
 */
static int user_cqe(struct thread_data *td, struct fio_bpfchain_data *ld, struct io_u *io_u,
		    struct fio_bpfchain_lookup *lk, int res)
{
	struct fio_bpfchain_file *bf = fio_bpfchain_file_of(&ld->t, io_u);
	struct io_uring_sqe *sqe;
	int ret = res;

	if (res >= 0 && (unsigned int) res < ld->t.node_size)
		ret = -BC_E_EOF;
	else if (res >= 0)
		ret = bcdb_btree_step(&bf->db, io_u->xfer_buf, lk->key, &lk->expect, &lk->off,
				      &lk->r);
	if (ret > 0) {
		/* at most one SQE per lookup: the SQ (>= iodepth entries) has room */
		sqe = io_uring_get_sqe(&ld->ring);
		if (sqe) {
			user_read(td, ld, io_u, lk, sqe);
			ld->hops_pending++;
			return 1;
		}
		ret = -EBUSY;
	}
	fio_bpfchain_complete(td, &ld->t, io_u, ret);
	return 0;
}

static const struct fio_bpfchain_mode_ops modes[] = {
	[FIO_BPFCHAIN_CHAIN] = { "chain", 1, 0, chain_prep, chain_cqe },
	[FIO_BPFCHAIN_CHAIN_GENERIC] = { "chain-generic", 1, IORING_BPF_CHAIN_GENERIC,
					 chain_prep, chain_cqe },
	[FIO_BPFCHAIN_USER] = { "user", 0, 0, user_prep, user_cqe },
};

/* ------------------------------------------------------------ I/O */

static int fio_bpfchain_prep(struct thread_data *td, struct io_u *io_u)
{
	struct fio_bpfchain_data *ld = td->io_ops_data;
	struct fio_bpfchain_lookup *lk = fio_bpfchain_prep_key(td, &ld->t, io_u);

	if (!lk->err)
		ld->m->prep(td, ld, io_u, lk, &ld->sqes[io_u->index]);
	return 0;
}

static void set_issue_time(struct thread_data *td, struct io_u *io_u, const struct timespec *now)
{
	memcpy(&io_u->issue_time, now, sizeof(*now));
	if (td->o.read_iolog_file)
		memcpy(&td->last_issue, now, sizeof(*now));
}

static enum fio_q_status fio_bpfchain_queue(struct thread_data *td, struct io_u *io_u)
{
	struct fio_bpfchain_data *ld = td->io_ops_data;
	struct fio_bpfchain_lookup *lk = &ld->t.lk[io_u->index];
	struct io_uring_sqe *sqe;

	fio_ro_check(td, io_u);

	if (lk->err) {
		if (fio_fill_issue_time(td)) {
			struct timespec now;

			fio_gettime(&now, NULL);
			set_issue_time(td, io_u, &now);
		}
		fio_bpfchain_complete(td, &ld->t, io_u, lk->err);
		io_u_mark_submit(td, 1);
		io_u_mark_complete(td, 1);
		return FIO_Q_COMPLETED;
	}
	if (ld->nr_queued == ld->t.nr_lk)
		return FIO_Q_BUSY;
	sqe = io_uring_get_sqe(&ld->ring);
	if (!sqe)
		return FIO_Q_BUSY;
	memcpy(sqe, &ld->sqes[io_u->index], sizeof(*sqe));
	ld->queued[ld->nr_queued++] = io_u;
	return FIO_Q_QUEUED;
}

/* The issue time is when the SQEs went to the kernel (as engines/io_uring.c). */
static void mark_queued(struct thread_data *td, struct fio_bpfchain_data *ld)
{
	struct timespec now;
	unsigned int i;

	if (fio_fill_issue_time(td)) {
		fio_gettime(&now, NULL);
		for (i = 0; i < ld->nr_queued; i++) {
			set_issue_time(td, ld->queued[i], &now);
			io_u_queued(td, ld->queued[i]);
		}
	}
	io_u_mark_submit(td, ld->nr_queued);
	ld->nr_queued = 0;
	ld->hops_pending = 0;
}

static int fio_bpfchain_commit(struct thread_data *td)
{
	struct fio_bpfchain_data *ld = td->io_ops_data;
	int ret;

	if (!ld->nr_queued && !ld->hops_pending)
		return 0;
	do {
		ret = io_uring_submit(&ld->ring);
	} while (ret == -EINTR || ret == -EAGAIN);
	if (ret < 0) {
		td_verror(td, -ret, "io_uring_submit");
		return ret;
	}
	mark_queued(td, ld);
	return 0;
}

static void handle_cqe(struct thread_data *td, struct fio_bpfchain_data *ld,
		       struct io_uring_cqe *cqe)
{
	struct io_u *io_u = io_uring_cqe_get_data(cqe);

	if (!io_u)		/* not a fio I/O (cannot happen) */
		return;
	if (!ld->m->cqe(td, ld, io_u, &ld->t.lk[io_u->index], cqe->res))
		ld->events[ld->nr_events++] = io_u;
}

/* mode=user: hand the next hops queued by user_cqe() to the kernel, without waiting. */
static int submit_hops(struct fio_bpfchain_data *ld)
{
	int ret;

	if (!ld->hops_pending)
		return 0;
	ret = io_uring_submit(&ld->ring);
	if (ret >= 0)
		ld->hops_pending = 0;
	return ret < 0 && ret != -EINTR && ret != -EAGAIN ? ret : 0;
}

/*
 * Reap lookups.  In mode=user a CQE is usually one hop, and its next hop
 * is queued on the SQ; the engine submits the hops it queued together with
 * its next wait (io_uring_submit_and_wait), so a user-space traversal pays
 * one system call per round of hops, as a batched io_uring application
 * would, and before it returns to fio.
 */
static int fio_bpfchain_getevents(struct thread_data *td, unsigned int min, unsigned int max,
				  const struct timespec *t)
{
	struct fio_bpfchain_data *ld = td->io_ops_data;
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
	for (;;) {
		n = 0;
		io_uring_for_each_cqe(&ld->ring, head, cqe) {
			handle_cqe(td, ld, cqe);
			n++;
			if (ld->nr_events >= max)
				break;
		}
		io_uring_cq_advance(&ld->ring, n);
		if (ld->nr_events >= max || (ld->nr_events >= min && (min || !n))) {
			ret = submit_hops(ld);
			if (ret)
				return ret;
			break;
		}
		if (n)
			continue;
		/* nothing there: wait (or, with min 0, look once; IOPOLL polls here) */
		if (!min) {
			ret = submit_hops(ld);
			if (ret)
				return ret;
			ret = io_uring_peek_cqe(&ld->ring, &cqe);
			if (ret == -EAGAIN)
				break;
		} else if (tsp) {
			ret = submit_hops(ld);
			if (ret)
				return ret;
			ret = io_uring_wait_cqe_timeout(&ld->ring, &cqe, tsp);
			if (ret == -ETIME)
				break;
		} else if (ld->hops_pending) {
			/* the next hops and the wait in one io_uring_enter() */
			ret = io_uring_submit_and_wait(&ld->ring, 1);
			if (ret >= 0)
				ld->hops_pending = 0;
		} else {
			ret = io_uring_wait_cqe(&ld->ring, &cqe);
		}
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -ETIME)
			return ret;
	}
	return ld->nr_events;
}

static struct io_u *fio_bpfchain_event(struct thread_data *td, int event)
{
	struct fio_bpfchain_data *ld = td->io_ops_data;

	return ld->events[event];
}

/* ------------------------------------------------------------ set-up */

static int fio_bpfchain_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct fio_bpfchain_data *ld = td->io_ops_data;

	ld->io_u_index[io_u->index] = io_u;
	return 0;
}

static void fio_bpfchain_cleanup(struct thread_data *td)
{
	struct fio_bpfchain_data *ld = td->io_ops_data;

	if (!ld)
		return;
	if (ld->ring_ok)
		io_uring_queue_exit(&ld->ring);
	if (ld->obj)
		io_uring_ext_bpf_chain_close(ld->obj);
	btree_lookup__destroy(ld->skel);
	fio_bpfchain_free_tree(&ld->t);
	free(ld->io_u_index);
	free(ld->sqes);
	free(ld->queued);
	free(ld->events);
	free(ld);
	td->io_ops_data = NULL;
}

/* .init: the options and the engine's memory; nothing opened yet. */
static int fio_bpfchain_init(struct thread_data *td)
{
	struct fio_bpfchain_options *o = td->eo;
	struct fio_bpfchain_data *ld;
	unsigned int depth;

	if (o->mode == FIO_BPFCHAIN_PREAD) {
		char *so = strdup(td->o.ioengine_so_path ? td->o.ioengine_so_path : ".");

		fio_bpfchain_err(td, "mode=pread is a synchronous engine of its own now: ioengine=external:%s/bpf_chain_psync.so",
				 so ? dirname(so) : ".");
		free(so);
		return 1;
	}
	if (o->mode > FIO_BPFCHAIN_PREAD) {
		fio_bpfchain_err(td, "unknown mode %u", o->mode);
		return 1;
	}
	if (o->hipri && !td->o.odirect) {
		fio_bpfchain_err(td, "hipri (IOPOLL) needs direct=1");
		return 1;
	}
	ld = calloc(1, sizeof(*ld));
	if (!ld) {
		log_err("bpf_chain: out of memory\n");
		return 1;
	}
	td->io_ops_data = ld;
	ld->m = &modes[o->mode];
	ld->t.mode_name = ld->m->name;
	ld->t.leaf_in_buf = ld->m->chain;
	/* IORING_OP_BPF_CHAIN reads registered files only */
	if (ld->m->chain)
		o->registerfiles = 1;
	if (fio_bpfchain_init_tree(td, &ld->t))
		return 1;
	depth = ld->t.nr_lk;
	ld->io_u_index = calloc(depth, sizeof(*ld->io_u_index));
	ld->sqes = calloc(depth, sizeof(*ld->sqes));
	ld->queued = calloc(depth, sizeof(*ld->queued));
	ld->events = calloc(depth, sizeof(*ld->events));
	if (!ld->io_u_index || !ld->sqes || !ld->queued || !ld->events) {
		fio_bpfchain_err(td, "out of memory");
		return 1;
	}
	return 0;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/*
 * One chain on the ring before fio starts, with io_u 0's buffer: checks
 * the program, the file and the ring flags together.  0 or the CQE's
 * negative errno.
 */
static int probe_chain(struct thread_data *td, struct fio_bpfchain_data *ld)
{
	struct io_u *io_u = ld->io_u_index[0];
	struct fio_bpfchain_lookup *lk = &ld->t.lk[0];
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	sqe = io_uring_get_sqe(&ld->ring);
	if (!sqe || !io_u)
		return -EBUSY;
	lk->key = bc_key_of(ld->t.files[0].db.bt.seed, 0);
	chain_sqe(td, ld, 0, io_u->buf, 0, lk, sqe);
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

/* The program: the opcode, then the object, then one real chain. */
static int setup_chain(struct thread_data *td, struct fio_bpfchain_data *ld)
{
	struct fio_bpfchain_options *o = td->eo;
	libbpf_print_fn_t old;
	struct io_uring probe;
	int ret, prog_fd;

	/* an IOPOLL ring answers 0: ask a plain ring whether the kernel has it */
	ret = io_uring_queue_init(2, &probe, 0);
	if (!ret) {
		ret = io_uring_ext_bpf_chain_supported(&probe);
		io_uring_queue_exit(&probe);
	}
	if (ret != 1) {
		fio_bpfchain_err(td, "this kernel has no IORING_OP_BPF_CHAIN (%s): mode=%s needs the bpfchain kernel, mode=user and the bpf_chain_psync engine run anywhere",
				 ret < 0 ? strerror(-ret) : "not in the probe", ld->m->name);
		return EOPNOTSUPP;
	}
	old = libbpf_set_print(silent_print);
	if (o->prog_obj)
		prog_fd = io_uring_ext_bpf_chain_load(o->prog_obj, o->prog_name, &ld->obj);
	else
		prog_fd = BC_PROG_LOAD(btree_lookup, &ld->skel);
	libbpf_set_print(old);
	if (prog_fd < 0 && o->prog_obj)
		fio_bpfchain_err(td, "prog_obj=%s prog_name=%s: cannot load: %s", o->prog_obj,
				 o->prog_name ? o->prog_name : "(first)", strerror(-prog_fd));
	else if (prog_fd < 0)
		fio_bpfchain_err(td, "the built-in btree_lookup program: cannot load: %s",
				 strerror(-prog_fd));
	if (prog_fd < 0)
		return -prog_fd;
	ret = io_uring_ext_register_bpf_chain(&ld->ring, &prog_fd, 1, 0);
	if (ret) {
		fio_bpfchain_err(td, "registering the program: %s", strerror(-ret));
		return -ret;
	}
	/* one lookup now, so that a refusal is one line here, not an I/O error later */
	ret = probe_chain(td, ld);
	if (ret == -EOPNOTSUPP && o->hipri)
		fio_bpfchain_err(td, "hipri: this kernel refuses IORING_OP_BPF_CHAIN on IOPOLL rings (EOPNOTSUPP); use hipri=0, or mode=user for polled reads");
	else if (ret == -EINVAL && o->fixedbufs)
		fio_bpfchain_err(td, "fixedbufs: this kernel refuses IORING_BPF_CHAIN_FIXED_BUF (EINVAL); use fixedbufs=0");
	else if (ret)
		fio_bpfchain_err(td, "first chain on %s failed: %s", td->files[0]->file_name,
				 fio_bpfchain_errname(ret));
	return -ret;
}

/*
 * The ring, set up as fio's own io_uring engine sets up its ring, so that the
 * baselines and the chains are measured on the same kind of ring as fio's
 * stock engine: completion work runs when the task enters the kernel
 * (COOP_TASKRUN, with TASKRUN_FLAG so that liburing's peek knows to enter),
 * and, where the kernel has them, only this task submits (SINGLE_ISSUER)
 * and completion work waits until it asks for completions (DEFER_TASKRUN).
 * Each flag is dropped in fio's order when the kernel refuses it (EINVAL).
 */
static int queue_init(struct fio_bpfchain_data *ld, unsigned int depth, unsigned int flags)
{
	static const unsigned int tries[] = {
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
			IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
		0,
	};
	unsigned int i;
	int ret = -EINVAL;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]) && ret == -EINVAL; i++)
		ret = io_uring_queue_init(depth, &ld->ring, flags | tries[i]);
	return ret;
}

/* The files, the ring, registered buffers and files, the program: 0 or an errno. */
static int setup_ring(struct thread_data *td, struct fio_bpfchain_data *ld)
{
	struct fio_bpfchain_options *o = td->eo;
	unsigned int i, depth = ld->t.nr_lk;
	int ret;

	ret = fio_bpfchain_open_trees(td, &ld->t);
	if (ret)
		return ret;
	ret = queue_init(ld, depth, o->hipri ? IORING_SETUP_IOPOLL : 0);
	if (ret) {
		fio_bpfchain_err(td, "io_uring_queue_init(%u%s): %s", depth,
				 o->hipri ? ", IOPOLL" : "", strerror(-ret));
		return -ret;
	}
	ld->ring_ok = 1;

	/* registered buffer i = io_u i's buffer, as engines/io_uring.c */
	if (o->fixedbufs) {
		struct iovec *iov = calloc(depth, sizeof(*iov));

		if (!iov) {
			fio_bpfchain_err(td, "out of memory");
			return ENOMEM;
		}
		for (i = 0; i < depth; i++) {
			iov[i].iov_base = ld->io_u_index[i]->buf;
			iov[i].iov_len = td_max_bs(td);
		}
		ret = io_uring_register_buffers(&ld->ring, iov, depth);
		free(iov);
		if (ret) {
			fio_bpfchain_err(td, "fixedbufs: %s", strerror(-ret));
			return -ret;
		}
	}
	if (o->registerfiles) {
		int *fds = calloc(ld->t.nr_files, sizeof(*fds));

		if (!fds) {
			fio_bpfchain_err(td, "out of memory");
			return ENOMEM;
		}
		for (i = 0; i < ld->t.nr_files; i++)
			fds[i] = ld->t.files[i].fd;
		ret = io_uring_register_files(&ld->ring, fds, ld->t.nr_files);
		free(fds);
		if (ret) {
			fio_bpfchain_err(td, "registering the tree files: %s", strerror(-ret));
			return -ret;
		}
	}
	return ld->m->chain ? setup_chain(td, ld) : 0;
}

/* .post_init: fio reports the errno (td_verror) after the engine's one line. */
static int fio_bpfchain_post_init(struct thread_data *td)
{
	int err = setup_ring(td, td->io_ops_data);

	if (err)
		td_verror(td, err, "bpf_chain post_init");
	return err ? 1 : 0;
}

/* fio finds the engine by dlsym("ioengine") */
struct ioengine_ops ioengine = {
	.name			= "bpf_chain",
	.version		= FIO_IOOPS_VERSION,
	.flags			= FIO_DISKLESSIO | FIO_NOEXTEND | FIO_NODISKUTIL |
				  FIO_ASYNCIO_SETS_ISSUE_TIME,
	.init			= fio_bpfchain_init,
	.post_init		= fio_bpfchain_post_init,
	.io_u_init		= fio_bpfchain_io_u_init,
	.setup			= fio_bpfchain_setup,
	.prep			= fio_bpfchain_prep,
	.queue			= fio_bpfchain_queue,
	.commit			= fio_bpfchain_commit,
	.getevents		= fio_bpfchain_getevents,
	.event			= fio_bpfchain_event,
	.cleanup		= fio_bpfchain_cleanup,
	.open_file		= fio_bpfchain_open_file,
	.close_file		= fio_bpfchain_close_file,
	.get_file_size		= fio_bpfchain_get_file_size,
	.unlink_file		= fio_bpfchain_unlink_file,
	.options		= options,
	.option_struct_size	= sizeof(struct fio_bpfchain_options),
};
