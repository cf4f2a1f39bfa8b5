# The SQLite benchmark's plot (bench/sqlite/report writes the data and calls it):
#   gnuplot -e "dir='OUT'; n=N; titles='pread chain-q1 ...'; ref='L P50 P99 CPU'; cpu='guest'" sqlite.gp
# .sqlite: one line per cache budget (levels of the b-tree in memory): the
# levels, then lookups/s of the n series, their p50 µs, p99 µs and guest CPU
# µs per lookup (cpu: "guest", or "process (getrusage)" when the host's counts
# are missing).  ref: SQLite's four figures (no cache axis: a dashed line).
set terminal pngcairo size 1400,1000 font ",10" noenhanced
set output dir."/sqlite.png"
set multiplot layout 2,2 title "Random rowid lookups, SQLite database larger than the guest's memory"
set grid
set key top left
set xlabel "b-tree levels cached in user memory (pread, chains)"
set xtics 1
col(f, s) = 1 + f * n + s
set ylabel "lookups/s"
set title "Throughput"
plot for [s=1:n] dir."/.sqlite" using 1:(column(col(0, s))) with linespoints title word(titles, s), \
     real(word(ref, 1)) with lines dashtype 2 lc "black" title "SQLite library"
set logscale y
set ylabel "p50 latency (µs)"
set title "Median latency"
plot for [s=1:n] dir."/.sqlite" using 1:(column(col(1, s))) with linespoints title word(titles, s), \
     real(word(ref, 2)) with lines dashtype 2 lc "black" title "SQLite library"
set ylabel "p99 latency (µs)"
set title "99th percentile latency"
plot for [s=1:n] dir."/.sqlite" using 1:(column(col(2, s))) with linespoints title word(titles, s), \
     real(word(ref, 3)) with lines dashtype 2 lc "black" title "SQLite library"
unset logscale y
set ylabel cpu." CPU per lookup (µs)"
set title cpu eq "guest" ? "Guest CPU per lookup (vCPU time, interrupts included)" : "Process CPU per lookup (getrusage)"
plot for [s=1:n] dir."/.sqlite" using 1:(column(col(3, s))) with linespoints title word(titles, s), \
     real(word(ref, 4)) with lines dashtype 2 lc "black" title "SQLite library"
unset multiplot
