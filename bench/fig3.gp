# Figure 3 of "BPF for storage": speedup vs depth (1 and 2 threads),
# latency vs depth, speedup vs batch size.
#   gnuplot -e "dir='OUT'; floor=F" fig3.gp    (F: the floor's mean µs, or NaN)
set terminal pngcairo size 1500,420 font ",10" noenhanced
set output dir."/fig3.png"
set multiplot layout 1,3
set grid
set key top left
set xlabel "B+-tree depth"
set ylabel "speedup over user-space io_uring"
set title "Lookups/s vs depth"
plot dir."/.speedup1" using 1:3 with linespoints title "chain-generic, 1 thread", \
     dir."/.speedup1" using 1:4 with linespoints title "chain, 1 thread", \
     dir."/.speedup1" using 1:5 with linespoints title "chain-poll, 1 thread", \
     dir."/.speedup2" using 1:3 with linespoints title "chain-generic, 2 threads", \
     dir."/.speedup2" using 1:4 with linespoints title "chain, 2 threads", \
     dir."/.speedup2" using 1:5 with linespoints title "chain-poll, 2 threads", \
     dir."/.speedup1" using 1:2 with linespoints title "pread, 1 thread"
set ylabel "mean latency (µs)"
set title "Latency vs depth, 1 thread"
plot dir."/.speedup1" using 1:6 with linespoints title "user-space io_uring", \
     dir."/.speedup1" using 1:7 with linespoints title "chain-generic", \
     dir."/.speedup1" using 1:8 with linespoints title "chain", \
     dir."/.speedup1" using 1:9 with linespoints title "chain-poll", \
     dir."/.speedup1" using 1:($1 * floor) with lines dashtype 2 title "depth x floor"
set xlabel "batch size (lookups in flight)"
set ylabel "speedup over user-space io_uring"
set title "Speedup vs batch size, depth 6"
set logscale x 2
plot dir."/.batch" using 1:2 with linespoints title "chain-generic", \
     dir."/.batch" using 1:3 with linespoints title "chain", \
     dir."/.batch" using 1:4 with linespoints title "chain-poll"
unset multiplot
