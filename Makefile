# bpfchain: ties the folders together.  Each folder builds on its own; every
# target first makes sure the Debian packages are there (rig/deps.sh).
SUBDIRS := linux-patches rig progs liburing-ext selftests

all: kernel
	@for d in $(SUBDIRS); do $(MAKE) -s -C $$d all || exit 1; done

deps:
	@rig/deps.sh

kernel: deps
	@rig/kernel.sh build

test: all
	@rig/test-all

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

list-subdirs:
	@echo $(SUBDIRS)

clean:
	@for d in $(SUBDIRS); do $(MAKE) -s -C $$d clean; done
	rm -rf build/obj build/tests build/vm

.PHONY: all deps kernel test vm export checkpatch check-series list-subdirs clean
