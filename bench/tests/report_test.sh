#!/bin/bash
# bench/report on a small results.csv: the table has every row, the
# speedups are right, and the plot is a PNG.
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat > "$out/results.csv" <<CSV
mode,depth,threads,batch,lookups_per_s,mean_us,p50_us,p99_us,cpu_us_per_lookup
"floor","1","1","1",10000,100,95,150,20
"pread","6","1","1",1500,660,650,700,120
"uring","6","1","1",1000,1000,990,1100,150
"chain-generic","6","1","1",2000,500,490,600,60
"chain","6","1","1",2500,400,390,500,40
"uring","6","1","4",3000,1300,1290,1400,150
"chain","6","1","4",6000,650,640,700,40
CSV
"$here/report" "$out" || { echo "FAIL: report exited $?"; exit 1; }
fail=0
rows=$(grep -c '^| ' "$out/results.md")
[ "$rows" -eq 10 ] || { echo "FAIL: $rows table rows"; fail=1; }
grep -q '^| 6 | 1 | 1.50 | 2.00 | 2.50 | 600.0 | 400 |$' "$out/results.md" ||
	{ echo "FAIL: speedup row"; grep '^| 6 |' "$out/results.md"; fail=1; }
file "$out/fig3.png" | grep -q 'PNG image' || { echo "FAIL: no PNG"; fail=1; }
[ $fail = 0 ] && echo "report: table, speedups and plot ok"
exit $fail
