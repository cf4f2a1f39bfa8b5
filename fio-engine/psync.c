// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf_chain_psync: the synchronous baseline, a fio sync engine.  One fio
 * I/O is one B+-tree lookup done inside ->queue with one pread(2) per node
 * (libbpfchain-db's bcdb_btree_lookup, the reader's own walk and checks)
 * through the engine's fd, O_DIRECT with direct=1.
 *
 *	ioengine=external:/abs/path/bpf_chain_psync.so
 */
#include <stdlib.h>

#include "bpf_chain.h"

struct fio_bpfchain_psync_data {
	struct fio_bpfchain_tree t;	/* first: tree.c's hooks take td->io_ops_data */
};

static struct fio_option options[] = {
	FIO_BPFCHAIN_OPT_VERIFY_LOOKUPS,
	{
		.name	= NULL,
	},
};

static int fio_bpfchain_psync_prep(struct thread_data *td, struct io_u *io_u)
{
	struct fio_bpfchain_psync_data *sd = td->io_ops_data;

	fio_bpfchain_prep_key(td, &sd->t, io_u);
	return 0;
}

static enum fio_q_status fio_bpfchain_psync_queue(struct thread_data *td, struct io_u *io_u)
{
	struct fio_bpfchain_psync_data *sd = td->io_ops_data;
	struct fio_bpfchain_lookup *lk = &sd->t.lk[io_u->index];
	int err = lk->err;

	fio_ro_check(td, io_u);
	if (!err)
		err = bcdb_btree_lookup(&fio_bpfchain_file_of(&sd->t, io_u)->io, lk->key, &lk->r);
	fio_bpfchain_complete(td, &sd->t, io_u, err);
	return FIO_Q_COMPLETED;
}

static void fio_bpfchain_psync_cleanup(struct thread_data *td)
{
	struct fio_bpfchain_psync_data *sd = td->io_ops_data;

	if (!sd)
		return;
	fio_bpfchain_free_tree(&sd->t);
	free(sd);
	td->io_ops_data = NULL;
}

static int fio_bpfchain_psync_init(struct thread_data *td)
{
	struct fio_bpfchain_psync_data *sd = calloc(1, sizeof(*sd));

	if (!sd) {
		log_err("bpf_chain_psync: out of memory\n");
		return 1;
	}
	td->io_ops_data = sd;
	sd->t.mode_name = "psync";
	return fio_bpfchain_init_tree(td, &sd->t);
}

static int fio_bpfchain_psync_post_init(struct thread_data *td)
{
	struct fio_bpfchain_psync_data *sd = td->io_ops_data;
	int err = fio_bpfchain_open_trees(td, &sd->t);

	/* fio reports the errno after the engine's one line */
	if (err)
		td_verror(td, err, "bpf_chain_psync post_init");
	return err ? 1 : 0;
}

/* fio finds the engine by dlsym("ioengine") */
struct ioengine_ops ioengine = {
	.name			= "bpf_chain_psync",
	.version		= FIO_IOOPS_VERSION,
	.flags			= FIO_SYNCIO | FIO_DISKLESSIO | FIO_NOEXTEND | FIO_NODISKUTIL,
	.init			= fio_bpfchain_psync_init,
	.post_init		= fio_bpfchain_psync_post_init,
	.setup			= fio_bpfchain_setup,
	.prep			= fio_bpfchain_psync_prep,
	.queue			= fio_bpfchain_psync_queue,
	.cleanup		= fio_bpfchain_psync_cleanup,
	.open_file		= fio_bpfchain_open_file,
	.close_file		= fio_bpfchain_close_file,
	.get_file_size		= fio_bpfchain_get_file_size,
	.unlink_file		= fio_bpfchain_unlink_file,
	.options		= options,
	.option_struct_size	= sizeof(struct fio_bpfchain_options),
};
