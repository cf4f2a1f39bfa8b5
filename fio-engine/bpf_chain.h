/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The two fio ioengines of fio-engine/, built from the same sources: one
 * fio I/O is one point lookup in a B+-tree file built by bpfchain-mkdb
 * (progs/).
 *
 *   bpf_chain.so        io_uring engine (uring.c): mode=chain, chain-generic,
 *                       user
 *   bpf_chain_psync.so  synchronous engine (psync.c): one pread(2) per node,
 *                       the lookup done in ->queue
 *
 * tree.c holds what both share: the job checks, the tree files, the key of
 * an I/O and verify_lookups.
 */
#ifndef FIO_BPFCHAIN_H
#define FIO_BPFCHAIN_H

#include <stdint.h>

#include "fio.h"
#include "optgroup.h"

#include "bpfchain_db.h"	/* progs/: the pread reader; includes format.h */

/* Shared between the files of one engine, never exported: fio looks up ioengine only. */
#pragma GCC visibility push(hidden)

/* Both engines' options; bpf_chain_psync lists only verify_lookups. */
struct fio_bpfchain_options {
	void *pad;		/* fio: no option may sit at offset 0 */
	unsigned int verify_lookups;
	unsigned int mode;	/* bpf_chain: enum fio_bpfchain_mode */
	char *prog_obj;
	char *prog_name;
	unsigned int registerfiles;
	unsigned int fixedbufs;
	unsigned int hipri;
};

/* The option both engines have (tree.c). */
#define FIO_BPFCHAIN_OPT_VERIFY_LOOKUPS {					\
		.name	= "verify_lookups",					\
		.lname	= "Verify lookups",					\
		.type	= FIO_OPT_STR_SET,					\
		.off1	= offsetof(struct fio_bpfchain_options, verify_lookups), \
		.maxval	= 1,							\
		.help	= "Check every answer against the pread reader; mismatch = EIO", \
		.category = FIO_OPT_C_ENGINE,					\
		.group	= FIO_OPT_G_INVALID,					\
	}

/* One tree file, by fio_file->engine_pos. */
struct fio_bpfchain_file {
	struct bcdb db;		/* buffered reader: superblock, verify_lookups */
	int db_open;
	int fd;			/* the engine's fd for lookups (O_DIRECT with direct=1) */
	struct bcdb io;		/* db's superblock, reading through fd (psync) */
};

/* One lookup, by io_u->index; the node buffer is the io_u's. */
struct fio_bpfchain_lookup {
	struct bc_lookup_scratch s;	/* chain modes: the program's scratch */
	uint64_t key;
	int err;			/* set by ->prep: complete with it in ->queue */
	uint64_t off;			/* mode=user: block being read */
	uint32_t expect;		/* mode=user: level of that block */
	struct bcdb_result r;		/* the answer; blocks = nodes read */
};

/* What both engines keep: first member of each engine's private data. */
struct fio_bpfchain_tree {
	struct fio_bpfchain_file *files;
	unsigned int nr_files;
	uint32_t node_size;
	struct fio_bpfchain_lookup *lk;
	unsigned int nr_lk;
	unsigned int reports;	/* verify mismatches printed so far */
	const char *mode_name;	/* in verify reports */
	int leaf_in_buf;	/* the lookup leaves the answering leaf in the buffer */
};

void fio_bpfchain_err(struct thread_data *td, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *fio_bpfchain_errname(int err);

/* The engines' hooks shared by both (tree.c). */
int fio_bpfchain_setup(struct thread_data *td);
int fio_bpfchain_get_file_size(struct thread_data *td, struct fio_file *f);
int fio_bpfchain_open_file(struct thread_data *td, struct fio_file *f);
int fio_bpfchain_close_file(struct thread_data *td, struct fio_file *f);
int fio_bpfchain_unlink_file(struct thread_data *td, struct fio_file *f);

/* .init: job checks, then the tree state allocated (nr_lk = iodepth). */
int fio_bpfchain_init_tree(struct thread_data *td, struct fio_bpfchain_tree *t);
/* .post_init: the tree files opened (fds O_DIRECT with direct=1); 0 or an errno. */
int fio_bpfchain_open_trees(struct thread_data *td, struct fio_bpfchain_tree *t);
void fio_bpfchain_free_tree(struct fio_bpfchain_tree *t);

/* .prep: the io_u's key in its lookup slot (lk->err set when it has none). */
struct fio_bpfchain_lookup *fio_bpfchain_prep_key(struct thread_data *td,
						  struct fio_bpfchain_tree *t,
						  struct io_u *io_u);
/* A lookup is over with err (0 or -errno): verify_lookups, then io_u->error. */
void fio_bpfchain_complete(struct thread_data *td, struct fio_bpfchain_tree *t,
			   struct io_u *io_u, int err);

static inline struct fio_bpfchain_file *fio_bpfchain_file_of(struct fio_bpfchain_tree *t,
							     struct io_u *io_u)
{
	return &t->files[io_u->file->engine_pos];
}

#pragma GCC visibility pop

#endif
