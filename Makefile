# bpfchain: ties the folders together.  Each folder builds on its own; every
# target first makes sure the Debian packages are there (rig/deps.sh).
SUBDIRS := linux-patches rig progs liburing-ext fio-engine bench selftests sqlite

# user space, against the series' uapi headers (build/obj/usr/include)
USERSPACE = for d in $(SUBDIRS); do $(MAKE) -s -C $$d all $(1) || exit 1; done

all: kernel
	@$(call USERSPACE)

deps:
	@rig/deps.sh

kernel: deps
	@rig/kernel.sh build

test: all
	@rig/test-all

# The debug kernel: linux-patches/debug.config (KASAN, kmemleak, lockdep,
# debugobjects, fault injection) on top of the usual config, objects in
# build/obj-debug, from the same tree as make kernel.
DEBUG_OBJ := $(CURDIR)/build/obj-debug
kernel-debug: deps
	@KOBJ=$(DEBUG_OBJ) KCONFIG_EXTRA=$(CURDIR)/linux-patches/debug.config rig/kernel.sh build

# make test's suite with every guest booting the debug kernel, logs in
# build/tests-debug.  KASAN and kmemleak under emulation are slow: longer
# timeouts (override with BPFCHAIN_VM_TIMEOUT, BPFCHAIN_TEST_TIMEOUT).  User
# space takes build/obj's uapi headers, or the debug build's when there is
# no build/obj (the same series either way).  BPFCHAIN_TEST_ONLY=REGEX keeps
# only the tests whose names match (rig/test-all).
test-debug: kernel-debug
	@$(call USERSPACE,$(if $(wildcard build/obj/usr/include/linux/bpf.h),,KHDR=$(DEBUG_OBJ)/usr/include KOBJ=$(DEBUG_OBJ)))
	@BPFCHAIN_KERNEL=$(DEBUG_OBJ)/arch/x86/boot/bzImage BPFCHAIN_TESTS=$(CURDIR)/build/tests-debug \
		BPFCHAIN_VM_TIMEOUT=$${BPFCHAIN_VM_TIMEOUT:-10800} BPFCHAIN_TEST_TIMEOUT=$${BPFCHAIN_TEST_TIMEOUT:-1200} \
		rig/test-all

# A kernel configured as users run it: Debian's own 6.12 configuration
# (linux-config-6.12, cloud-amd64: BTF, cgroups, NVMe multipath, integrity,
# zoned devices, LSMs), its modules left out, plus the series' fragment that
# builds in what the rig needs; objects in build/obj-distro, from the same
# tree as make kernel.  test-distro runs make test's suite on it, logs in
# build/tests-distro; its guest took 1799 s on 2026-12-01, close to make
# test's 2400 s limit, so its own default is 3600 s (BPFCHAIN_VM_TIMEOUT).
DISTRO_OBJ := $(CURDIR)/build/obj-distro
DISTRO_CONFIG := /usr/src/linux-config-6.12/config.amd64_none_cloud-amd64.xz
kernel-distro: deps
	@KOBJ=$(DISTRO_OBJ) KCONFIG_BASE=$(DISTRO_CONFIG) rig/kernel.sh build

test-distro: kernel-distro
	@$(call USERSPACE,$(if $(wildcard build/obj/usr/include/linux/bpf.h),,KHDR=$(DISTRO_OBJ)/usr/include KOBJ=$(DISTRO_OBJ)))
	@BPFCHAIN_KERNEL=$(DISTRO_OBJ)/arch/x86/boot/bzImage BPFCHAIN_TESTS=$(CURDIR)/build/tests-distro \
		BPFCHAIN_VM_TIMEOUT=$${BPFCHAIN_VM_TIMEOUT:-3600} rig/test-all

# The Figure 3 benchmark, in one boot (about 50 minutes): the guest runs
# bench/run-bench while bench/host-monitor counts the guest's CPU time and
# the host's load, then bench/report writes build/bench/results.{csv,md}
# and fig3.png (bench/README.md)
bench: all
	@mkdir -p build/bench && rig/vm-run --describe > build/bench/host.txt
	@bench/host-monitor build/bench -- rig/vm-run -t 5400 -- bench/run-bench build/bench
	@bench/report build/bench
	@echo "results: build/bench/results.md, plot: build/bench/fig3.png"

# The SQLite benchmark (bench/sqlite/README.md), in one boot of a guest of
# 512 MiB: random rowid lookups on a 1.2 GiB database through the SQLite
# library, a user-space O_DIRECT traversal and bpfchain-sqlite's chains
# (about 13 minutes).  The database is built once on the host and kept in
# build/bench-sqlite/db; results in build/bench-sqlite (results.md,
# sqlite.png).
SQLITE_BENCH := build/bench-sqlite
bench-sqlite: all
	@mkdir -p $(SQLITE_BENCH) && rig/vm-run -m 512M --describe > $(SQLITE_BENCH)/host.txt
	@bench/sqlite/mkdb.sh $(SQLITE_BENCH)/db/bench.db
	@bench/host-monitor $(SQLITE_BENCH) -- rig/vm-run -m 512M -s 3G -t 2400 -- \
		bench/sqlite/run $(SQLITE_BENCH) $(SQLITE_BENCH)/db/bench.db
	@bench/sqlite/report $(SQLITE_BENCH)
	@echo "results: $(SQLITE_BENCH)/results.md, plot: $(SQLITE_BENCH)/sqlite.png"

# The short version, after everything is built: the main job of the README
demo: all
	@mkdir -p build/demo && rig/vm-run --describe > build/demo/host.txt
	@bench/host-monitor build/demo -- rig/vm-run -t 1800 -- bench/run-bench --quick build/demo
	@bench/report build/demo
	@sed -n '/^## Matched baselines/,/^## Matched speedups/p' build/demo/results.md | sed '$$d'
	@sed -n '/^## Per hop/,/^## The paper/p' build/demo/results.md | sed '$$d'
	@sed -n '/^## The host/,/^## Every point/p' build/demo/results.md | sed '$$d'
	@echo "everything: build/demo/results.md, plot: build/demo/fig3.png"

# Run a command in the guest: make vm CMD="uname -a"
vm: kernel
	@rig/vm-run -- $(or $(CMD),uname -a)

export:
	@rig/kernel.sh export

checkpatch: deps
	@rig/kernel.sh checkpatch

# every patch builds on its own (slow: a full build, then one per patch)
check-series: deps
	@rig/kernel.sh check-series

# every patch compiles on its own: the objects it touches, -Werror (minutes)
check-objects: deps
	@rig/kernel.sh check-objects

list-subdirs:
	@echo $(SUBDIRS)

clean:
	@for d in $(SUBDIRS); do $(MAKE) -s -C $$d clean; done
	rm -rf build/obj build/obj-debug build/obj-distro build/tests build/tests-debug build/tests-distro build/vm

.PHONY: all deps kernel kernel-debug test test-debug kernel-distro test-distro bench bench-sqlite demo vm export checkpatch check-series check-objects list-subdirs clean
