#!/bin/bash
# The patched kernel: build/linux is a git tree holding Debian's
# linux-source-6.12 as its first commit (tag "base") and one commit per patch
# of linux-patches/series on top.  Objects go to a separate directory, so the
# tree stays clean and a one-file change rebuilds incrementally.
#
#   kernel.sh tree        unpack and apply the series (only when it changed)
#   kernel.sh build       tree + config + bzImage + uapi headers
#   kernel.sh export      write the tree's commits back to linux-patches/,
#                         and the series' kselftests to selftests/
#   kernel.sh check-series   build every prefix of the series (bisectable)
#   kernel.sh check-objects  compile, at every patch, the objects it touches
#   kernel.sh checkpatch [PATCH...]  scripts/checkpatch.pl --strict (default:
#                         every patch of the series)
#
# KOBJ names the object directory (default build/obj) and KCONFIG_EXTRA adds
# config fragments on top of linux-patches/bpfchain.config (debug variant).
# KCONFIG_BASE names a distribution's configuration (plain or .xz) to start
# from instead of allnoconfig (make kernel-distro): its modules are left out
# (the fragments build in what the rig needs) and its signing keys, which
# only the distribution has, are not asked for.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BPFCHAIN_BUILD:-$top/build}
src=$build/linux
obj=${KOBJ:-$build/obj}
patches=$top/linux-patches
tarball=/usr/src/linux-source-6.12.tar.xz
state=$build/linux.state

die() { echo "kernel: $*" >&2; exit 1; }
g() { git -C "$src" "$@"; }

series() { grep -v -e '^#' -e '^[[:space:]]*$' "$patches/series" 2>/dev/null || true; }

series_hash() {
	local p
	{
		series
		for p in $(series); do cat "$patches/$p"; done
	} | sha256sum | cut -c1-16
}

src_version() { dpkg-query -W -f='${Version}' linux-source-6.12; }

unpack() {
	local ver=$1
	if [ -d "$src" ]; then
		mv "$src" "$src.old-$(date +%s)"
		echo "kernel: linux-source-6.12 is now $ver; the old tree was moved aside"
	fi
	echo "kernel: unpacking linux-source-6.12 $ver into $src"
	rm -rf "$build/linux-source-6.12"
	tar -xJf "$tarball" -C "$build"
	mv "$build/linux-source-6.12" "$src"
	g init -q -b bpfchain
	g config user.name "bpfchain developers"
	g config user.email "dev@bpfchain.example.org"
	g config core.abbrev 12
	# Debian's .gitignore ignores every top-level path: add by force.
	g add -A -f
	g commit -q -m "Debian linux-source-6.12 $ver"
	g tag base
	rm -f "$state"
}

cmd_tree() {
	local ver want have head p
	mkdir -p "$build"
	[ -f "$tarball" ] || die "$tarball missing: run make deps"
	ver=$(src_version)
	if ! g rev-parse -q --verify base >/dev/null 2>&1 ||
	   [ "$(g log -1 --format=%s base)" != "Debian linux-source-6.12 $ver" ]; then
		unpack "$ver"
	fi

	want=$(series_hash)
	have=$(cut -d' ' -f1 "$state" 2>/dev/null || true)
	[ "$want" = "$have" ] && return 0

	head=$(g rev-parse HEAD)
	if [ -n "$(g status --porcelain --untracked-files=no)" ] ||
	   { [ -f "$state" ] && [ "$head" != "$(cut -d' ' -f2 "$state")" ]; } ||
	   { [ ! -f "$state" ] && [ "$head" != "$(g rev-parse base)" ]; }; then
		die "$src has edits or commits that are not in linux-patches/ and the series changed: run 'make export' to keep them, or 'git -C $src reset --hard base' to drop them"
	fi

	g reset -q --hard base
	for p in $(series); do
		[ -f "$patches/$p" ] || die "series names $p, which does not exist"
		if ! g am -q --3way "$patches/$p" >/dev/null 2>&1; then
			g am --abort >/dev/null 2>&1 || true
			die "patch $p does not apply to linux-source-6.12 $ver"
		fi
	done
	echo "$want $(g rev-parse HEAD)" > "$state"
	echo "kernel: applied $(series | wc -l) patch(es) from linux-patches/series"
}

# the distribution's configuration named by KCONFIG_BASE, or nothing
base_config() {
	case "${KCONFIG_BASE:-}" in
	'') ;;
	*.xz) xz -dc "$KCONFIG_BASE";;
	*) cat "$KCONFIG_BASE";;
	esac
}

cmd_config() {
	local frags=("$patches/bpfchain.config") f want line
	for f in ${KCONFIG_EXTRA:-}; do frags+=("$f"); done
	want=$({ echo "$(src_version)"; cat "${frags[@]}"; base_config; } | sha256sum | cut -c1-16)
	mkdir -p "$obj"
	[ -f "$obj/.config" ] && [ "$(cat "$obj/.bpfchain-config" 2>/dev/null)" = "$want" ] && return 0

	if [ -n "${KCONFIG_BASE:-}" ]; then
		echo "kernel: configuring $obj (${KCONFIG_BASE##*/} without modules + kvm_guest.config + ${frags[*]##*/})"
		base_config | sed -E -e 's/^(CONFIG_[A-Za-z0-9_]+)=m$/# \1 is not set/' \
			-e 's/^(CONFIG_SYSTEM_(TRUSTED|REVOCATION)_KEYS)=.*/\1=""/' > "$obj/.config"
		make -s -C "$src" O="$obj" olddefconfig >/dev/null
	else
		echo "kernel: configuring $obj (allnoconfig + kvm_guest.config + ${frags[*]##*/})"
		make -s -C "$src" O="$obj" allnoconfig >/dev/null
	fi
	"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"$src/kernel/configs/kvm_guest.config" "${frags[@]}" >/dev/null
	make -s -C "$src" O="$obj" olddefconfig >/dev/null
	# merge_config only warns: a requested option that did not stick is an error.
	for f in "${frags[@]}"; do
		while read -r line; do
			case "$line" in
			CONFIG_*=[0-9]*)
				# a distribution's sizes (NR_CPUS with MAXSMP) stand
				[ -n "${KCONFIG_BASE:-}" ] || grep -qx "$line" "$obj/.config" ||
					die "$line from ${f##*/} is not in the resulting config (missing dependency?)";;
			CONFIG_*=y | CONFIG_*=m)
				grep -qx "$line" "$obj/.config" ||
					die "$line from ${f##*/} is not in the resulting config (missing dependency?)";;
			esac
		done < "$f"
	done
	echo "$want" > "$obj/.bpfchain-config"
}

# make_progress LOG WHAT make-args...: make -C build/linux O=$obj with its
# output in LOG, and a line every 30 s (BPFCHAIN_PROGRESS_SECS) while it
# runs: kbuild steps done (CC, LD, ...), of how many the last complete
# build took ($obj/.build-steps; "~" as it is an estimate), and the last
# one.  Returns make's status.
make_progress() {
	local log=$1 what=$2 every=${BPFCHAIN_PROGRESS_SECS:-30} pid rc est='' n last t0=$SECONDS next
	shift 2
	[ -s "$obj/.build-steps" ] && est=$(cat "$obj/.build-steps")
	make -C "$src" O="$obj" -j"$(nproc)" "$@" > "$log" 2>&1 &
	pid=$!
	next=$((SECONDS + every))
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		[ "$SECONDS" -ge "$next" ] || continue
		next=$((SECONDS + every))
		n=$(grep -c '^  [A-Z]' "$log" || true)
		last=$(grep '^  [A-Z]' "$log" | tail -1 | tr -s ' ' | sed 's/^ //' || true)
		if [ -n "$est" ] && [ "$est" -gt 0 ]; then
			echo "kernel: $what: $((SECONDS - t0)) s, $n of ~$est steps ($((n * 100 / est)) %), last: $last"
		else
			echo "kernel: $what: $((SECONDS - t0)) s, $n steps (CC, LD, ...) done, last: $last"
		fi
	done
	rc=0
	wait "$pid" || rc=$?
	if [ "$rc" = 0 ]; then
		n=$(grep -c '^  [A-Z]' "$log" || true)
		# an incremental build says nothing about a full one
		[ -z "$est" ] || [ "$n" -gt $((est / 2)) ] && echo "$n" > "$obj/.build-steps"
		echo "kernel: $what: done in $((SECONDS - t0)) s, $n steps"
	fi
	return "$rc"
}

cmd_build() {
	local log=$obj/build.log
	cmd_tree
	cmd_config
	echo "kernel: building $obj/arch/x86/boot/bzImage (log: $log; a line every ${BPFCHAIN_PROGRESS_SECS:-30} s)"
	if ! make_progress "$log" "bzImage" bzImage headers; then
		grep -E 'error|Error' "$log" | head -20 >&2 || true
		tail -20 "$log" >&2
		die "build failed"
	fi
	grep -E '^[^ ]+:[0-9]+:[0-9]+: warning:' "$log" | sort -u >&2 || true
}

cmd_export() {
	local n f
	g rev-parse -q --verify base >/dev/null || die "no kernel tree: run make kernel"
	[ -z "$(g status --porcelain --untracked-files=no)" ] ||
		die "$src has uncommitted edits: commit them first"
	rm -f "$patches"/[0-9][0-9][0-9][0-9]-*.patch
	n=$(g rev-list --count base..HEAD)
	if [ "$n" -gt 0 ]; then
		g config branch.bpfchain.description "$(cat "$patches/cover-letter.txt")"
		g format-patch -q --zero-commit --no-signature --cover-letter \
			--cover-from-description=subject -o "$patches" base..HEAD
	fi
	{
		echo "# Applied in order by rig/kernel.sh; regenerated by 'make export'."
		for f in "$patches"/[0-9][0-9][0-9][0-9]-*.patch; do
			[ -e "$f" ] || continue
			case "${f##*/}" in 0000-cover-letter.patch) continue;; esac
			echo "${f##*/}"
		done
	} > "$patches/series"
	echo "$(series_hash) $(g rev-parse HEAD)" > "$state"
	# selftests/ is the series' kselftest folder, copied, never edited
	rm -f "$top"/selftests/*.[ch]
	cp "$src"/tools/testing/selftests/io_uring_bpf_chain/{*.c,*.h,config} "$top/selftests/"
	echo "kernel: exported $n patch(es) to linux-patches/ and the kselftests to selftests/"
}

cmd_checkpatch() {
	local p pass=0 fail=0 list=("$@")
	g rev-parse -q --verify base >/dev/null || cmd_tree
	[ ${#list[@]} -gt 0 ] || list=($(series))
	for p in "${list[@]}"; do
		# FILE_PATH_CHANGES asks whether MAINTAINERS needs updating for
		# every new file: the series' entry covers its folders.
		# UNKNOWN_COMMIT_ID looks commit ids up in the tree's history,
		# and Debian's source tarball has none: the upstream ids that the
		# nvme fixes cite (Fixes:, "commit ...") were checked against the
		# public lists' archives instead.
		# /usr/bin first: spdxcheck.py needs Debian's python3 and its ply
		if (cd "$src" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict -q \
			--ignore FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID "$patches/$p") >/tmp/checkpatch.$$ 2>&1; then
			echo "ok checkpatch $p"; pass=$((pass + 1))
		else
			echo "not ok checkpatch $p"; sed 's/^/# /' /tmp/checkpatch.$$; fail=$((fail + 1))
		fi
	done
	rm -f /tmp/checkpatch.$$
	echo "checkpatch: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# Before walking the series' commits: the tree is clean; $head is where
# to come back to, $obj the series' own object directory, configured.
series_walk_start() {
	cmd_tree
	[ -z "$(g status --porcelain --untracked-files=no)" ] ||
		die "$src has uncommitted edits: commit them first"
	head=$(g rev-parse HEAD)
	obj=${KOBJ:-$build/obj-series}
	cmd_config
}

# Build every prefix of the series in its own object directory, so that
# each patch is known to build on its own (bisectable).  Slow: one full
# build, then one incremental build per patch.
cmd_check_series() {
	local c n=0 head
	series_walk_start
	for c in $(g rev-list --reverse base..HEAD); do
		n=$((n + 1))
		g checkout -q "$c"
		if make_progress "$obj/series.log" "patch $n" bzImage; then
			echo "ok $n $(g log -1 --format=%s "$c")"
		else
			grep -E 'error' "$obj/series.log" | head -10 >&2
			g checkout -q bpfchain
			die "patch $n does not build: $(g log -1 --format=%s "$c")"
		fi
	done
	g checkout -q bpfchain
	[ "$(g rev-parse HEAD)" = "$head" ] || die "tree moved during the check"
}

# At every patch, compile with -Werror the objects built from the C files
# it touches (every io_uring/bpf_chain object when it touches their header
# or include/, the C files beside a private header it touches): a quick
# check that each patch compiles on its own,
# minutes where check-series rebuilds most of the kernel at each header
# change.  The whole series is built first, so that an object missing from
# the object directory is one this configuration does not build (skipped);
# linking at each patch is not checked (check-series does that).
cmd_check_objects() {
	local c n=0 fail=0 f o files objs head
	series_walk_start
	# every object this configuration builds exists, from the whole series
	make_progress "$obj/series.log" "the whole series" bzImage ||
		die "the series does not build"
	for c in $(g rev-list --reverse base..HEAD); do
		n=$((n + 1))
		g checkout -q "$c"
		files=$(g show --format= --name-only "$c" | grep '\.c$' | grep -v '^tools/' || true)
		if g show --format= --name-only "$c" | grep -q -e '^io_uring/bpf_chain.*\.h$' -e '^include/'; then
			files="$files $(cd "$src" && ls io_uring/bpf_chain*.c 2>/dev/null || true)"
		fi
		# a subsystem's private header: the C files beside it
		for f in $(g show --format= --name-only "$c" | grep '\.h$' |
			   grep -v -e '^include/' -e '^tools/' -e '^arch/' || true); do
			files="$files $(cd "$src" && ls "${f%/*}"/*.c 2>/dev/null || true)"
		done
		objs=""
		for f in $files; do
			o=${f%.c}.o
			case $o in
			io_uring/bpf_chain*) objs="$objs $o";;
			*) [ -e "$obj/$o" ] && objs="$objs $o";;
			esac
		done
		objs=$(echo $objs | tr ' ' '\n' | sort -u | xargs)
		if [ -z "$objs" ]; then
			echo "ok $n (no object here) $(g log -1 --format=%s "$c")"
		elif make -s -C "$src" O="$obj" -j"$(nproc)" KCFLAGS=-Werror $objs \
				> "$obj/objects-$n.log" 2>&1; then
			echo "ok $n $(g log -1 --format=%s "$c"): $objs"
		else
			echo "not ok $n $(g log -1 --format=%s "$c")"
			grep -E 'error|warning' "$obj/objects-$n.log" | head -5
			fail=1
		fi
	done
	g checkout -q bpfchain
	[ "$(g rev-parse HEAD)" = "$head" ] || die "tree moved during the check"
	[ "$fail" = 0 ] || die "a patch does not compile on its own"
}

case "${1:-}" in
tree) cmd_tree;;
config) cmd_tree; cmd_config;;
build) cmd_build;;
export) cmd_export;;
checkpatch) shift; cmd_checkpatch "$@";;
check-series) cmd_check_series;;
check-objects) cmd_check_objects;;
*) echo "usage: $0 tree|config|build|export|checkpatch|check-series|check-objects" >&2; exit 2;;
esac
