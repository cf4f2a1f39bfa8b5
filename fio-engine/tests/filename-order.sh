#!/bin/bash
# Guest test: --filename=X --directory=D finds D/X as --directory=D
# --filename=X does (fio joins the directory only to names added after it;
# the engines join the others once every option is parsed), in both
# engines, and nothing is created in the working directory.
# Exit 0 pass, 1 fail, 77 skip.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$here/.." && pwd)
dir=${BC_DIR:-/mnt/nvme}
engines=${BC_ENGINE_DIR:-$top/build/fio-engine}
n=200

if [ "$dir" = /mnt/nvme ] && ! mountpoint -q "$dir"; then
	echo "SKIP: $dir is not mounted (run in the guest: rig/vm-run)"; exit 77
fi
"$here/mktrees.sh" "$dir" >/dev/null || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

run() {		# label, engine options...
	local label=$1 rc
	shift
	fio --name=order --rw=randread --bs=512 --io_size=$((n * 512)) \
		--output-format=json --output="$work/out.json" "$@" --verify_lookups=1 2> "$work/err"
	rc=$?
	cat "$work/err"
	if [ $rc != 0 ] || [ "$(jq -r '.jobs[0].error' "$work/out.json" 2>/dev/null)" != 0 ] ||
	   [ "$(jq -r '.jobs[0].read.total_ios' "$work/out.json" 2>/dev/null)" != $n ]; then
		echo "FAIL: $label: fio exit $rc, not $n verified lookups"; exit 1
	fi
	echo "ok: $label: $n lookups verified"
}

for eng in "bpf_chain.so --mode=user" bpf_chain_psync.so; do
	set -- $eng
	e=(--ioengine=external:"$engines/$1" "${@:2}")
	run "$1 --directory first" --directory="$dir" "${e[@]}" --filename=bc-depth6.db
	run "$1 --filename first" "${e[@]}" --filename=bc-depth6.db --directory="$dir"
done
[ -z "$(ls -A "$work" | grep -v '^out.json$\|^err$')" ] ||
	{ echo "FAIL: files created in the working directory: $(ls "$work")"; exit 1; }
echo "PASS: both option orders find $dir/bc-depth6.db, in both engines"
