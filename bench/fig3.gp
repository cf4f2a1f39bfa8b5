# Figure 3 of "BPF for storage", with matched baselines, and the cost of a hop.
#   gnuplot -e "dir='OUT'; floor=F; hd=D; hop='pread=X uring=Y ...'; cpu='guest'" fig3.gp
# (bench/report writes the data files and calls it.)  F: the polled floor's
# mean µs, or NaN; D: the depth of the batch axis; hop: each mode's guest
# CPU per hop, for the legend; cpu: "guest", or "fio task" when the host's
# counts are missing.
#   .depth  depth, speedups chain-generic/uring chain/uring chain/pread
#           chain-poll/uring-poll, mean µs and CPU µs/lookup of pread
#           uring uring-poll chain-generic chain chain-poll
#   .batch  batch, chain-generic/uring chain/uring chain-poll/uring-poll
set terminal pngcairo size 1400,1000 font ",10" noenhanced
set output dir."/fig3.png"
set multiplot layout 2,2
set grid
set key top left
set xlabel "B+-tree depth (512-byte nodes)"
set ylabel "speedup over the matched baseline"
set title "Lookups/s vs depth, 1 thread, batch 1"
plot dir."/.depth" using 1:2 with linespoints title "chain-generic / uring", \
     dir."/.depth" using 1:3 with linespoints title "chain / uring", \
     dir."/.depth" using 1:4 with linespoints title "chain / pread", \
     dir."/.depth" using 1:5 with linespoints title "chain-poll / uring-poll", \
     1 with lines dashtype 2 lc "black" notitle
set ylabel "mean latency (µs)"
set title "Latency vs depth, 1 thread, batch 1"
plot for [i=1:6] dir."/.depth" using 1:(column(5 + i)) with linespoints \
        title word("pread uring uring-poll chain-generic chain chain-poll", i), \
     dir."/.depth" using 1:($1 * floor) with lines dashtype 2 title "depth x polled floor"
set ylabel cpu." CPU per lookup (µs)"
set title cpu." CPU vs depth: the slope is the CPU of one hop"
plot for [i=1:6] dir."/.depth" using 1:(column(11 + i)) with linespoints \
        title sprintf("%s (%s µs/hop)", word("pread uring uring-poll chain-generic chain chain-poll", i), \
                      word(hop, i)[strstrt(word(hop, i), "=") + 1:])
set xlabel "batch size (lookups in flight)"
set ylabel "speedup over the matched baseline"
set title sprintf("Speedup vs batch size, depth %d", hd)
set logscale x 2
plot dir."/.batch" using 1:2 with linespoints title "chain-generic / uring", \
     dir."/.batch" using 1:3 with linespoints title "chain / uring", \
     dir."/.batch" using 1:4 with linespoints title "chain-poll / uring-poll", \
     1 with lines dashtype 2 lc "black" notitle
unset multiplot
