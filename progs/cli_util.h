/* SPDX-License-Identifier: MIT */
/* Number parsing shared by the bpfchain command-line tools. */
#ifndef BPFCHAIN_CLI_UTIL_H
#define BPFCHAIN_CLI_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Decimal, 0x hex or 0 octal, with an optional k/m/g (x1000) suffix. */
static inline int bc_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -errno;
	switch (*end) {
	case 'k': case 'K': v *= 1000ULL; end++; break;
	case 'm': case 'M': v *= 1000000ULL; end++; break;
	case 'g': case 'G': v *= 1000000000ULL; end++; break;
	default: break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

#endif /* BPFCHAIN_CLI_UTIL_H */
