# soak-rss.gnuplot — the RSS plot of scripts/soak.py.  Variables given with -e:
# csv (seconds,rss_kib,threads,fds), wcsv (start,end,median_kib of each window
# after the warm-up), png, warmup (s), level, lo, hi (MiB: the median after the
# warm-up and its +-tol band), tol (0.10), dur (s), y0, y1 (MiB: the linear
# trend after the warm-up at its start and at the end).
set terminal pngcairo size 1100,560 noenhanced font ",10"
set output png
set datafile separator ","
set title "actr-lane serve under the soak: RSS sampled every second"
set xlabel "time (s)"
set ylabel "VmRSS (MiB)"
set y2label "threads"
set ytics nomirror
set y2tics
set key below maxrows 2
set grid
set xrange [0:*]
set yrange [0:*]
set y2range [0:*]
set arrow from warmup, graph 0 to warmup, graph 1 nohead dt 2 lc rgb "gray40"
set label "end of warm-up" at warmup, graph 0.97 offset 0.5,0 tc rgb "gray40"
set arrow from dur, graph 0 to dur, graph 1 nohead dt 2 lc rgb "gray40"
set label "end of traffic" at dur, graph 0.97 right offset -0.5,0 tc rgb "gray40"
set arrow from warmup, y0 to dur, y1 nohead lw 2 lc rgb "#207020" front
plot csv using 1:3 axes x1y2 with lines lc rgb "#b0b0b0" title "serve threads (right axis)", \
     csv using 1:($2/1024) with lines lw 1.2 lc rgb "#1f5fa8" title "serve VmRSS", \
     wcsv using 1:($3/1024):($2-$1):(0) with vectors nohead lw 4 lc rgb "#e07000" title "median of each window", \
     level with lines dt 1 lc rgb "red" title sprintf("median after warm-up (%.1f MiB)", level), \
     hi with lines dt 3 lc rgb "red" title sprintf("+-%g%%", tol * 100), \
     lo with lines dt 3 lc rgb "red" notitle, \
     NaN with lines lw 2 lc rgb "#207020" title "linear trend after warm-up"
