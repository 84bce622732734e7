#!/bin/sh
# bench-plot.sh LOG OUTDIR — from the BENCH lines of a `make bench` run
# (SPEC §6: BENCH <name> <value> <unit>): OUTDIR/bench.csv (every figure) and
# OUTDIR/bench-throughput.png, throughput by message size of each lane and
# each baseline of the run (figures named <what>.<size>.throughput, sizes
# 1k, 64k, 1m, 16m).  Needs gnuplot.
set -eu
log=$1; dir=$2
mkdir -p "$dir"
awk 'BEGIN { print "name,value,unit" } $1 == "BENCH" { print $2 "," $3 "," $4 }' "$log" >"$dir/bench.csv"
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One block per series: "size_bytes MB/s", series named by what precedes the size.
awk -F, 'NR > 1 && $1 ~ /\.(1k|64k|1m|16m)\.throughput$/ && $3 == "B/s" {
    n = split($1, p, "."); size = p[n - 1]; series = p[1]
    for (i = 2; i < n - 1; i++) series = series "." p[i]
    bytes = size == "1k" ? 1024 : size == "64k" ? 65536 : size == "1m" ? 1048576 : 16777216
    v[series] = v[series] bytes " " $2 / 1e6 "\n"
  }
  END { for (s in v) printf "\"%s\"\n%s\n\n", s, v[s] }' "$dir/bench.csv" >"$data"
if ! [ -s "$data" ]; then
  echo "bench-plot: no throughput figures in $log" >&2
  exit 1
fi
blocks=$(grep -c '^"' "$data")
gnuplot <<GP
set terminal pngcairo size 1000,600 noenhanced
set output "$dir/bench-throughput.png"
set title "make bench: throughput by message size (one run; lanes beside their baselines)"
set logscale xy
set xlabel "message size (bytes)"
set ylabel "MB/s"
set key outside right
set grid
plot for [i=0:$((blocks - 1))] "$data" index i using 1:2 with linespoints title columnheader(1)
GP
echo "bench-plot: $dir/bench.csv, $dir/bench-throughput.png"
