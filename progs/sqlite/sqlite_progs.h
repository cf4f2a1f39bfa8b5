/* SPDX-License-Identifier: MIT */
/*
 * The SQLite IO_CHAIN programs, for applications: the bpftool skeletons
 * build/progs/sqlite/sqlite_{rowid,index_int,index_text,range}.skel.h carry each object
 * inside the binary.  Load one with BC_PROG_LOAD (../bpfchain_progs.h):
 *
 *	struct sqlite_rowid *skel;
 *	int fd = BC_PROG_LOAD(sqlite_rowid, &skel);	// the fd, or -errno
 *	...
 *	sqlite_rowid__destroy(skel);
 *
 * Each object holds one program, bpfchain_sqlite_NAME, in section io_chain;
 * sqlite_format.h has their scratch areas.  Build with -I progs
 * -I progs/sqlite -I build/progs -I build/progs/sqlite -I include; link
 * with -lbpf.
 */
#ifndef BPFCHAIN_SQLITE_PROGS_H
#define BPFCHAIN_SQLITE_PROGS_H

#include "bpfchain_progs.h"
#include "sqlite_format.h"
#include "sqlite_rowid.skel.h"
#include "sqlite_index_int.skel.h"
#include "sqlite_index_text.skel.h"
#include "sqlite_range.skel.h"

#endif /* BPFCHAIN_SQLITE_PROGS_H */
