#!/bin/bash
# bench/report on a small runs.csv: one row per point with the median run
# and the spread, the speedups and the targets are right, and the plot is a
# PNG.
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat > "$out/runs.csv" <<CSV
mode,depth,threads,batch,lookups_per_s,mean_us,p50_us,p99_us,cpu_us_per_lookup,rep
"floor","1","1","1",10000,100,95,150,20,"1"
"pread","6","1","1",1500,660,650,700,120,"1"
"uring","6","1","1",1000,1000,990,1100,150,"1"
"chain-generic","6","1","1",2000,500,490,600,60,"1"
"chain","6","1","1",2500,400,390,500,40,"1"
"chain-poll","6","1","1",3000,700,390,500,30,"1"
"uring","6","1","4",3000,1300,1290,1400,150,"1"
"chain","6","1","4",6000,650,640,700,40,"1"
"floor","1","1","1",10000,100,95,150,20,"2"
"pread","6","1","1",1400,700,650,700,130,"2"
"uring","6","1","1",900,1100,990,1100,150,"2"
"chain-generic","6","1","1",2000,500,490,600,60,"2"
"chain","6","1","1",2700,380,390,500,40,"2"
"chain-poll","6","1","1",3100,690,390,500,30,"2"
"pread","6","1","1",1600,640,650,700,110,"3"
"uring","6","1","1",1100,900,990,1100,150,"3"
"chain","6","1","1",2600,390,390,500,40,"3"
"chain-poll","6","1","1",2500,800,390,500,30,"3"
CSV
"$here/report" "$out" || { echo "FAIL: report exited $?"; exit 1; }
fail=0
check() { grep -qF -- "$1" "$out/$2" || { echo "FAIL: $3"; cat "$out/$2"; fail=1; }; }
rows=$(tail -n +2 "$out/results.csv" | grep -c .)
[ "$rows" -eq 8 ] || { echo "FAIL: $rows points in results.csv, want 8"; fail=1; }
# pread: runs 1400, 1500, 1600 -> median run 1500 (mean 660, CPU 120)
check 'pread,6,1,1,1500,660,650,700,120,3,1400,1600' results.csv "pread median row"
# chain-poll: 2500, 3000, 3100 -> 3000, spread (3100 - 2500) / 3000 = 20 %
check '| chain-poll | 6 | 1 | 1 | 3000 | 20 % | 700 |' results.md "chain-poll row and spread"
check '| 6 | 1 | 1.50 | 2.00 | 2.60 | 3.00 | 600.0 | 390 | 700 |' results.md "speedup row"
# targets, chain: 2600/1500 = 1.73x pread, 2600/1000 = 2.60x uring,
# 390/600 = 0.65x the floor, CPU 40 vs 120 = 67 % below; chain-poll:
# 2.00x, 3.00x, 700/600 = 1.17x, 30 vs 120 = 75 % below
check '| lookups/s vs pread | >= 2.5x | 1.73x, missed by 31 % | 2.00x, missed by 20 % |' results.md "pread target"
check '| lookups/s vs uring | >= 2x | 2.60x, met | 3.00x, met |' results.md "uring target"
check '| mean latency vs 6 × floor | <= 1.3x | 0.65x, met | 1.17x, met |' results.md "latency target"
check '| CPU per lookup below pread | >= 60 % | 67 %, met | 75 %, met |' results.md "CPU target"
file "$out/fig3.png" | grep -q 'PNG image' || { echo "FAIL: no PNG"; fail=1; }
[ $fail = 0 ] && echo "report: medians, spread, speedups, targets and plot ok"
exit $fail
