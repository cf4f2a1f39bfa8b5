// SPDX-License-Identifier: MIT
/*
 * Guest tests of progs/: the BPF programs, loaded by libbpf from their
 * skeletons into the patched kernel, run block by block with
 * BPF_PROG_TEST_RUN and as whole chains with IORING_OP_BPF_CHAIN in both
 * tiers, every answer compared with the pread(2) reader (libbpfchain-db).
 * Loading, the ring's program table, the SQEs and the ring's counters go
 * through liburing-ext, so these tests are also the library's on
 * thousands of chains.  One file per sub-command:
 *
 *   progs-guest-test load                               load.c
 *   progs-guest-test test-run                           test_run.c
 *   progs-guest-test chain-btree   DIR direct|buffered  chain.c
 *   progs-guest-test chain-range   DIR direct|buffered  chain.c
 *   progs-guest-test chain-hash    DIR direct|buffered  chain.c
 *   progs-guest-test chain-corrupt DIR direct|buffered  corrupt.c
 *
 * Exit 0 pass, 1 fail, 77 skip (the reason on stdout).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "guest.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*dir_mode)(const char *dir, const char *mode);
	} chain_cmds[] = {
		{ "chain-btree", t_chain_btree }, { "chain-range", t_chain_range },
		{ "chain-hash", t_chain_hash }, { "chain-corrupt", t_chain_corrupt },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);
	if (argc == 2 && !strcmp(argv[1], "load"))
		return t_load();
	if (argc == 2 && !strcmp(argv[1], "test-run"))
		return t_test_run();
	for (size_t i = 0; argc == 4 && i < ARRAY_LEN(chain_cmds); i++)
		if (!strcmp(argv[1], chain_cmds[i].name))
			return chain_cmds[i].dir_mode(argv[2], argv[3]);
	fprintf(stderr, "usage: progs-guest-test load | test-run |\n"
		"       progs-guest-test chain-btree|chain-range|chain-hash|chain-corrupt DIR direct|buffered\n");
	return 2;
}
