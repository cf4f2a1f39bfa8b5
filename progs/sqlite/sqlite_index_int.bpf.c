// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * SQLite index lookup on a one-column index of INTEGER keys, then the row, in
 * one chain: sqlite_index.bpf.h's walk with key_type BCSQL_KEY_INT (struct
 * bcsql_index_scratch, sqlite_format.h).
 */
#include "sqlite_index.bpf.h"

SQ_INDEX_PROGRAM(sqlite_index_int, BCSQL_KEY_INT);
