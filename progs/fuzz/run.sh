#!/bin/bash
# Run the fuzzers of build/progs/fuzz (make -C progs fuzz), each in turn:
#   run.sh --runs N [TARGET...]      N inputs each, from the seeds and the
#                                    regression inputs (progs/fuzz/regress/),
#                                    a fixed libFuzzer seed: the host test
#   run.sh --seconds S [TARGET...]   S seconds each, growing the corpus in
#                                    build/progs/fuzz/corpus/ across runs
# Prints "fuzz TARGET: N inputs, C crashes" per target.  A crash's input is
# kept in build/progs/fuzz/artifacts/; replay it with
# build/progs/fuzz/fuzz_TARGET FILE.  Exit 0, 1 on any crash, 77 when
# clang cannot build libFuzzer targets.
set -u
here=$(cd "$(dirname "$0")" && pwd)
progs=$(dirname "$here")
out=$(cd "$progs/.." && pwd)/build/progs/fuzz
mode=${1:-} n=${2:-}
case "$mode" in
--runs|--seconds) [[ $n =~ ^[0-9]+$ ]] || { echo "usage: $0 --runs N|--seconds S [TARGET...]"; exit 2; };;
*) echo "usage: $0 --runs N|--seconds S [TARGET...]"; exit 2;;
esac
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(db parse build)

# libFuzzer comes with clang's runtime (libclang-rt-14-dev on Debian 12)
probe=$(mktemp -d); trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' > "$probe/p.c"
if ! ${FUZZ_CC:-clang} -fsanitize=fuzzer,address -o "$probe/p" "$probe/p.c" 2> "$probe/err"; then
	echo "clang cannot build a libFuzzer target: $(head -1 "$probe/err")"
	exit 77
fi
make -s -C "$progs" fuzz >&2 || { echo "building the fuzzers failed"; exit 1; }

mkdir -p "$out/artifacts"
fail=0
for t in "${targets[@]}"; do
	bin=$out/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz $t: no such target"; fail=1; continue; }
	if [ "$mode" = --runs ]; then
		# a fresh corpus each time: the same inputs, run after run
		corpus=$probe/corpus-$t
		mkdir -p "$corpus"
		limit=(-runs="$n" -seed=1)
	else
		corpus=$out/corpus/$t
		mkdir -p "$corpus"
		limit=(-max_total_time="$n")
	fi
	dirs=("$corpus" "$out/seeds/$t")
	[ -d "$here/regress/$t" ] && dirs+=("$here/regress/$t")
	log=$probe/log-$t
	start=$SECONDS
	"$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$t-" "${dirs[@]}" > "$log" 2>&1
	rc=$?
	secs=$((SECONDS - start))
	# "Done N runs"; after a crash, the last "#N" status line
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
	[ -n "$runs" ] || runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)/\1/p' "$log" | tail -1)
	[ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -1)
	if [ $rc = 0 ]; then
		echo "fuzz $t: ${runs:-?} inputs, 0 crashes (${secs} s)"
	else
		fail=1
		echo "fuzz $t: ${runs:-?} inputs, 1 crash (exit $rc, ${secs} s); the report:"
		# a sanitizer's stack says where; an abort()'s is the harness's own
		drop='^#[0-9]+|^INFO:|^(MS|Base64):|^stat::|^NOTE:|^ +Combine libFuzzer|^$'
		grep -q -E 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$log" || drop="$drop|^    #[0-9]+ "
		grep -v -E "$drop" "$log" | tail -40
	fi
done
exit $fail
