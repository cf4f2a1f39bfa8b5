/* SPDX-License-Identifier: MIT */
/* Number parsing shared by the bpfchain command-line tools. */
#ifndef BPFCHAIN_CLI_UTIL_H
#define BPFCHAIN_CLI_UTIL_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Decimal, 0x hex or 0 octal, with an optional k/m/g (x1000) suffix:
 * 0, -EINVAL for anything else, -ERANGE past 2^64 - 1.
 */
static inline int bc_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	/* a digit first: strtoull would take " -1" as 2^64 - 1, "k" as 0 */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -errno;
	switch (*end) {
	case 'k': case 'K': mul = 1000ULL; end++; break;
	case 'm': case 'M': mul = 1000000ULL; end++; break;
	case 'g': case 'G': mul = 1000000000ULL; end++; break;
	default: break;
	}
	if (*end)
		return -EINVAL;
	if (v > ULLONG_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

#endif /* BPFCHAIN_CLI_UTIL_H */
