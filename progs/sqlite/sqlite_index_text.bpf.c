// SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT
/*
 * SQLite index lookup on a one-column index of TEXT (BINARY) keys, then the row, in
 * one chain: sqlite_index.bpf.h's walk with key_type BCSQL_KEY_TEXT (struct
 * bcsql_index_scratch, sqlite_format.h).
 */
#include "sqlite_index.bpf.h"

SQ_INDEX_PROGRAM(sqlite_index_text, BCSQL_KEY_TEXT);
