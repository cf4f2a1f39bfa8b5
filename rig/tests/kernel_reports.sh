#!/bin/bash
# Rig check (host side): rig/kernel-reports, the splat detector of
# rig/test-all, fails on a kernel report and shows it, and passes the
# stack dumps that fault injection prints on purpose.
rig=$(cd "$(dirname "$0")/.." && pwd)
samples=$rig/tests/dmesg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect WANT-EXIT WHAT FILE [TEXT-THE-OUTPUT-MUST-SHOW]
expect() {
	local want=$1 what=$2 file=$3 show=${4:-} rc
	"$rig/kernel-reports" "$file" > "$tmp/out" 2>&1
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $what: exit $rc, want $want"; cat "$tmp/out"; fail=1
	elif [ -n "$show" ] && ! grep -qF -- "$show" "$tmp/out"; then
		echo "FAIL: $what: the output does not show '$show'"; cat "$tmp/out"; fail=1
	else
		echo "ok: $what: exit $rc"
	fi
}

expect 1 "KASAN report fails" "$samples/kasan.txt" "BUG: KASAN: slab-use-after-free in io_chain_next_hop"
# the report's body comes with it, not only its first line
expect 1 "KASAN report shows its stack" "$samples/kasan.txt" "nvme_irq+0x1b4/0x260"
expect 0 "fault-injection stack dumps pass" "$samples/fault-injection.txt"
[ ! -s "$tmp/out" ] || { echo "FAIL: output on a clean log:"; cat "$tmp/out"; fail=1; }

# each kind of report, one line of it, in the middle of the clean log
while IFS= read -r line; do
	{ head -n 10 "$samples/fault-injection.txt"; echo "[   60.000000] $line"
	  tail -n +11 "$samples/fault-injection.txt"; } > "$tmp/dmesg"
	expect 1 "report '${line:0:40}...'" "$tmp/dmesg" "$line"
done <<'REPORTS'
WARNING: possible circular locking dependency detected
WARNING: inconsistent lock state
WARNING: possible recursive locking detected
WARNING: suspicious RCU usage
BUG: sleeping function called from invalid context at kernel/locking/mutex.c:585
ODEBUG: free active (active state 0) object: ffff88810a2b3c00 object type: timer_list hint: nvme_timeout+0x0/0x2a0
unreferenced object 0xffff888103f5a000 (size 512):
WARNING: CPU: 1 PID: 231 at io_uring/bpf_chain.c:412 io_chain_end+0x61/0x120
Oops: general protection fault, probably for non-canonical address 0xdffffc0000000002: 0000 [#1] SMP KASAN
kmemleak: Kernel memory leak detector disabled
REPORTS

expect 2 "unreadable file is an error" "$tmp/does-not-exist"
exit $fail
