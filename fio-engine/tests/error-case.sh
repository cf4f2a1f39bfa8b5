#!/bin/bash
# Guest test: a misuse of the engine gives its one-line error and a
# non-zero exit, never a crash.
#   error-case.sh CASE
# CASE: bad-option bad-mode missing-file wrong-bs pread-moved
#       unlink-user unlink-psync verify-crc32c
#       verify-corrupt-user verify-corrupt-chain verify-corrupt-psync
# (-psync cases run the bpf_chain_psync engine, the others bpf_chain.)
# Exit 0 pass, 1 fail, 77 skip.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/.." && pwd)
case=$1
dir=${BC_DIR:-/mnt/nvme}
engines=${BC_ENGINE_DIR:-$top/build/fio-engine}
engine=$engines/bpf_chain.so
case $case in *-psync) engine=$engines/bpf_chain_psync.so;; esac

[ -f "$engine" ] || { echo "FAIL: $engine missing (make -C fio-engine)"; exit 1; }
if [ "$dir" = /mnt/nvme ] && ! mountpoint -q "$dir"; then
	echo "SKIP: $dir is not mounted (run in the guest: rig/vm-run)"; exit 77
fi
"$here/mktrees.sh" "$dir" >/dev/null || exit 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$dir/bc-depth6.db
base=(--name=err --ioengine=external:"$engine" --rw=randread --direct=1 --norandommap)
need_chain=0
out_json=0
keep=		# a tree the job must leave as it was

# expect: fio arguments after --ioengine, then the pattern of the one line
case $case in
bad-option)	args=(--filename="$tree" --bs=512 --io_size=51200 --no_such_option=1)
		want="unrecognized option '--no_such_option=1'";;
bad-mode)	args=(--filename="$tree" --bs=512 --io_size=51200 --mode=fast)
		want="failed parsing mode=fast";;
missing-file)	args=(--filename="$dir/bc-missing.db" --bs=512 --io_size=51200)
		want="^bpf_chain: err: $dir/bc-missing.db: no such tree file";;
wrong-bs)	args=(--filename="$tree" --bs=4096 --io_size=409600)
		want="^bpf_chain: err: $tree has 512-byte nodes: set bs=512";;
pread-moved)	args=(--filename="$tree" --bs=512 --io_size=51200 --mode=pread)
		want="^bpf_chain: err: mode=pread is a synchronous engine of its own now: ioengine=external:$engines/bpf_chain_psync.so$";;
unlink-user|unlink-psync)
		# fio deletes the job's files at the end with unlink=1: refused
		# at init, and the tree is still there, unchanged
		cp "$dir/bc-depth1.db" "$dir/bc-unlink.db" || exit 1
		keep=$dir/bc-unlink.db
		args=(--filename="$keep" --bs=4096 --io_size=40960 --unlink=1)
		[ "$case" = unlink-user ] && args+=(--mode=user)
		want="^bpf_chain(_psync)?: err: unlink=1 would delete the tree file: the engine never deletes a tree, drop it$";;
verify-crc32c)	# fio's verify= checks data fio wrote: refused, pointing at verify_lookups
		args=(--filename="$tree" --bs=512 --io_size=51200 --mode=user --verify=crc32c)
		want="^bpf_chain: err: verify= checks data fio wrote, .*: use verify_lookups=1";;
verify-corrupt-user|verify-corrupt-chain|verify-corrupt-psync)
		# one leaf value changed on disk: the reader reads the same bytes,
		# but the value is not the one mkdb wrote, so verify_lookups fails
		# the I/O with EIO (fio error 5); every key of the 200 is looked up
		cp "$dir/bc-depth1.db" "$dir/bc-corrupt.db" || exit 1
		printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' |
			dd of="$dir/bc-corrupt.db" bs=1 seek=$((4096 + 16 + 16 * 7 + 8)) conv=notrunc status=none
		sync
		args=(--filename="$dir/bc-corrupt.db" --bs=4096 --io_size=819200 --rw=read
		      --verify_lookups=1)
		[ "$case" = verify-corrupt-psync ] || args+=(--mode=${case#verify-corrupt-})
		want="^bpf_chain(_psync)?: err: .*: lookup of key 0x[0-9a-f]* differs from the pread reader \(value not the one mkdb wrote\)"
		[ "$case" = verify-corrupt-chain ] && need_chain=1
		out_json=1;;
*)		echo "FAIL: unknown case $case"; exit 1;;
esac

fio --output-format=json --output="$work/out.json" "${base[@]}" "${args[@]}" 2> "$work/err"
rc=$?
cat "$work/err"
rm -f "$dir/bc-corrupt.db"
if [ -n "$keep" ]; then
	cmp -s "$dir/bc-depth1.db" "$keep" || { echo "FAIL: $case: $keep was deleted or changed"; rm -f "$keep"; exit 1; }
	rm -f "$keep"
fi
if [ $need_chain = 1 ] && grep -q "has no IORING_OP_BPF_CHAIN" "$work/err"; then
	echo "SKIP: the running kernel has no IORING_OP_BPF_CHAIN"; exit 77
fi
if [ $rc = 0 ] || [ $rc -ge 128 ]; then
	echo "FAIL: $case: fio exit $rc (want an error exit, not 0 and not a signal)"; exit 1
fi
if ! grep -Eq "$want" "$work/err"; then
	echo "FAIL: $case: stderr lacks: $want"; exit 1
fi
lines=$(grep -Ec '^bpf_chain(_psync)?:' "$work/err")
if [ "$lines" -gt 1 ]; then
	echo "FAIL: $case: $lines engine error lines, want one"; exit 1
fi
if [ "$case" = missing-file ] && [ -e "$dir/bc-missing.db" ]; then
	echo "FAIL: $case: fio created $dir/bc-missing.db"; rm -f "$dir/bc-missing.db"; exit 1
fi
if [ $out_json = 1 ]; then
	err=$(jq -r '.jobs[0].error' "$work/out.json" 2>/dev/null)
	[ "$err" = 5 ] || { echo "FAIL: $case: jobs[0].error=$err, want 5 (EIO)"; exit 1; }
fi
echo "PASS: $case: exit $rc, one line: $(grep -E "$want" "$work/err" | head -1)"
