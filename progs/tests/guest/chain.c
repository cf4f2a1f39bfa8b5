// SPDX-License-Identifier: MIT
/*
 * progs-guest-test chain-btree|chain-range|chain-hash DIR direct|buffered:
 * the programs as whole chains, one IORING_OP_BPF_CHAIN SQE each, in the
 * driver tier and in the generic tier (env.c's run_batch), on files of the
 * file system mounted at DIR.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "guest.h"

void chain_init(const char *dir, const char *mode, const char *name)
{
	static char label[PATH_MAX + 32];

	if (!strcmp(mode, "direct"))
		use_direct = 1;
	else if (strcmp(mode, "buffered"))
		die("mode must be direct or buffered", EINVAL);
	snprintf(label, sizeof(label), "%s %s %s", name, dir, mode);
	load_all();
	make_workdir(dir);
	env_init(BE_URING, label);
}

int chain_finish(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	remove_workdir();
	CHECK(env.driver.chains == env.generic.chains && env.generic.hops_driver == 0,
	      "tiers: %ld and %ld chains, %ld driver hops in the generic tier", env.driver.chains,
	      env.generic.chains, env.generic.hops_driver);
	CHECK(env.nvme ? env.driver.hops_driver > 0 && env.driver.hops_generic == 0 :
	      env.driver.hops_driver == 0, "driver tier %s: %ld driver hops, %ld generic",
	      env.nvme ? "on NVMe" : "off NVMe", env.driver.hops_driver, env.driver.hops_generic);
	return finish(env.name, "%s; %ld chains in each tier, %ld blocks each; driver tier: %ld "
		      "by the driver (BpfChainHopsDriver), %ld by the generic tier; generic tier: "
		      "%ld (BpfChainHopsGeneric)", buf, env.chains, env.hops,
		      env.driver.hops_driver, env.driver.hops_generic, env.generic.hops_generic);
}

int t_chain_btree(const char *dir, const char *mode)
{
	struct stats st = { 0 };
	struct range_stats rs = { 0 };

	chain_init(dir, mode, "chain-btree");
	for (size_t i = 0; i < ARRAY_LEN(trees) && failures <= 40; i++)
		lookups_on(&trees[i], 400 + i, 3000, 0, &st, &rs);
	return chain_finish("depth 1-6, lookups %ld present %ld absent %ld errors",
			    st.present, st.absent, st.errors);
}

int t_chain_range(const char *dir, const char *mode)
{
	struct stats st = { 0 };
	struct range_stats rs = { 0 };

	chain_init(dir, mode, "chain-range");
	for (size_t i = 0; i < ARRAY_LEN(trees) && failures <= 40; i++)
		lookups_on(&trees[i], 500 + i, 0, 60, &st, &rs);
	for (size_t i = 0; i < ARRAY_LEN(small_trees) && failures <= 40; i++)
		lookups_on(&small_trees[i], 600 + i, 0, 20, &st, &rs);
	return chain_finish("%ld ranges in %ld chains (%ld values, %ld resumed)",
			    rs.ranges, rs.calls, rs.values, rs.resumed);
}

int t_chain_hash(const char *dir, const char *mode)
{
	struct stats st = { 0 };
	uint32_t max_chain = 0;

	chain_init(dir, mode, "chain-hash");
	for (size_t i = 0; i < ARRAY_LEN(htabs) && failures <= 40; i++)
		hash_on(&htabs[i], 700 + i, 3000, &st, &max_chain);
	CHECK(max_chain >= 3, "no hash table had a chain of 3 blocks (longest %u)", max_chain);
	return chain_finish("lookups %ld present %ld absent, longest chain %u blocks",
			    st.present, st.absent, max_chain);
}

