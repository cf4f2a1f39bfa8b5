# bpfchain: ties the folders together.  Each folder builds on its own; every
# target first makes sure the Debian packages are there (rig/deps.sh).
SUBDIRS := linux-patches rig progs liburing-ext fio-engine bench selftests

all: kernel
	@for d in $(SUBDIRS); do $(MAKE) -s -C $$d all || exit 1; done

deps:
	@rig/deps.sh

kernel: deps
	@rig/kernel.sh build

test: all
	@rig/test-all

# The Figure 3 benchmark, in one boot: build/bench/results.{csv,md}, fig3.png
bench: all
	@mkdir -p build/bench && rig/vm-run --describe > build/bench/host.txt
	@rig/vm-run -t 5400 -- bench/run-bench build/bench

# The short version, after everything is built: the main job of the README
demo: all
	@mkdir -p build/demo && rig/vm-run --describe > build/demo/host.txt
	@rig/vm-run -t 1800 -- bench/run-bench --quick build/demo
	@cat build/demo/results.md
	@echo "plot: build/demo/fig3.png"

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

.PHONY: all deps kernel test bench demo vm export checkpatch check-series list-subdirs clean
