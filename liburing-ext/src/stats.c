/* SPDX-License-Identifier: MIT */
/*
 * The IORING_OP_BPF_CHAIN counters of a ring, parsed from its fdinfo:
 *
 *	BpfChainProgs:	3		(only when the ring lock was free)
 *	BpfChainChains:	12
 *	BpfChainHopsGeneric:	96
 *	BpfChainHopsDriver:	40
 *	BpfChainHandoffs:	hole=0 boundary=0 stale=1
 *	BpfChainPollWaits:	5
 *	BpfChainMaps:	built=2 invalidated=1
 *	BpfChainErrors:	read=0 prog=1 loop=0 offset=0
 *	BpfChainInlineLimits:	1
 *
 * The driver tier's three lines, BpfChainPollWaits and BpfChainInlineLimits
 * are optional (0 when absent: a kernel without the driver tier, the poll
 * loop's hand-off to io-wq or the limit of hops read without blocking);
 * the others are required.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liburing-ext.h"

/* "key:" at the start of line: the rest of the line, else NULL */
static const char *value_of(const char *line, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(line, key, n) || line[n] != ':')
		return NULL;
	return line + n + 1;
}

/* "name=NUMBER" somewhere in s */
static int field(const char *s, const char *name, __u64 *val)
{
	size_t n = strlen(name);
	const char *p = s;
	char *end;

	while ((p = strstr(p, name))) {
		if ((p == s || p[-1] == ' ' || p[-1] == '\t') && p[n] == '=') {
			*val = strtoull(p + n + 1, &end, 10);
			return end == p + n + 1 ? -1 : 0;
		}
		p += n;
	}
	return -1;
}

static int number(const char *s, __u64 *val)
{
	char *end;

	*val = strtoull(s, &end, 10);
	return end == s ? -1 : 0;
}

int io_uring_ext_bpf_chain_stats(struct io_uring *ring,
				 struct io_uring_ext_bpf_chain_stats *stats)
{
	enum { CHAINS = 1, HOPS = 2, ERRORS = 4, ALL = 7 };
	struct io_uring_ext_bpf_chain_stats st;
	char path[64], line[256];
	const char *v;
	unsigned seen = 0;
	int at_start = 1, this_start;
	__u64 progs;
	FILE *f;

	if (!ring || !stats)
		return -EINVAL;
	/* /proc/self/fdinfo/N of a closed fd would say ENOENT */
	if (fcntl(ring->ring_fd, F_GETFD) < 0)
		return -errno;
	memset(&st, 0, sizeof(st));
	st.progs = -1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ring->ring_fd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* a line longer than the buffer: only its first piece counts */
		this_start = at_start;
		at_start = strchr(line, '\n') != NULL;
		if (!this_start)
			continue;
		if ((v = value_of(line, "BpfChainProgs"))) {
			if (!number(v, &progs))
				st.progs = (__s64) progs;
		} else if ((v = value_of(line, "BpfChainChains"))) {
			if (!number(v, &st.chains))
				seen |= CHAINS;
		} else if ((v = value_of(line, "BpfChainHopsGeneric"))) {
			if (!number(v, &st.hops_generic))
				seen |= HOPS;
		} else if ((v = value_of(line, "BpfChainHopsDriver"))) {
			number(v, &st.hops_driver);
		} else if ((v = value_of(line, "BpfChainHandoffs"))) {
			field(v, "hole", &st.handoff_hole);
			field(v, "boundary", &st.handoff_boundary);
			field(v, "stale", &st.handoff_stale);
		} else if ((v = value_of(line, "BpfChainPollWaits"))) {
			number(v, &st.poll_waits);
		} else if ((v = value_of(line, "BpfChainInlineLimits"))) {
			number(v, &st.inline_limits);
		} else if ((v = value_of(line, "BpfChainMaps"))) {
			field(v, "built", &st.maps_built);
			field(v, "invalidated", &st.maps_invalidated);
		} else if ((v = value_of(line, "BpfChainErrors"))) {
			if (!field(v, "read", &st.err_read) &&
			    !field(v, "prog", &st.err_prog) &&
			    !field(v, "loop", &st.err_loop) &&
			    !field(v, "offset", &st.err_offset))
				seen |= ERRORS;
		}
	}
	fclose(f);
	if (seen != ALL)
		return -ENOTSUP;
	*stats = st;
	return 0;
}
