#!/bin/bash
# Rig check (host side): vm-run reports the guest's exit status, a guest
# that panics, and a guest that hangs, each with its own exit code and the
# serial log's tail, instead of passing or hanging.
rig=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
fail=0

expect() {
	local want=$1 what=$2 rc; shift 2
	"$rig/vm-run" -q -l "$log/serial.log" "$@" > "$log/out" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		echo "ok: $what: exit $rc"
	else
		echo "FAIL: $what: exit $rc, want $want"; cat "$log/out"; fail=1
	fi
}

expect 3 "guest command status comes back" -- bash -c 'exit 3'
expect 125 "guest kernel panic" -- bash -c 'echo c > /proc/sysrq-trigger; sleep 60'
grep -q 'last lines of' "$log/out" || { echo "FAIL: no serial log tail after a panic"; fail=1; }
expect 124 "hung guest is killed" -t 15 -- sleep 600
exit $fail
