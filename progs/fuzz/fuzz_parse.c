// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: bc_parse_u64() (cli_util.h), which reads every number
 * given to bpfchain-mkdb and bpfchain-lookup, against a model written from
 * its comment: decimal, 0x hex or 0 octal digits, then at most one k/m/g
 * (x1000) suffix, and nothing else.  The number must fit in 64 bits after
 * the suffix; anything else is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli_util.h"

/* 1 and *v, or 0 when s is not a number. */
static int model(const char *s, uint64_t *v)
{
	unsigned __int128 x = 0, mul = 1;
	unsigned int base = 10, d;
	const char *p = s;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (!*p)
			return 0;
	} else if (p[0] == '0') {
		base = 8;
	}
	if (!*p)
		return 0;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (d >= base)
			return 0;
		x = x * base + d;
		if (x > UINT64_MAX)
			return 0;
	}
	if (p == s || (base == 16 && p == s + 2))
		return 0;
	switch (*p) {
	case 'k': case 'K': mul = 1000; p++; break;
	case 'm': case 'M': mul = 1000000; p++; break;
	case 'g': case 'G': mul = 1000000000; p++; break;
	}
	if (*p || x * mul > UINT64_MAX)
		return 0;
	*v = (uint64_t)(x * mul);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64];
	uint64_t got = 0xdead, want = 0;
	int ok, want_ok;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (strlen(s) != size)	/* argv strings hold no NUL */
		return 0;
	ok = bc_parse_u64(s, &got) == 0;
	want_ok = model(s, &want);
	if (ok != want_ok || (ok && got != want)) {
		fprintf(stderr, "fuzz_parse: \"%s\": parsed %s %llu, want %s %llu\n", s,
			ok ? "ok" : "refused", (unsigned long long)got,
			want_ok ? "ok" : "refused", (unsigned long long)want);
		abort();
	}
	return 0;
}
