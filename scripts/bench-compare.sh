#!/bin/sh
# bench-compare.sh BEFORE_BUILD AFTER_BUILD [ROUNDS] — the same benchmarks
# from two build directories (say, of the commit before a change and of the
# change), run alternately (before, after, before, after, ...) so that both
# sides see the same machine, then per BENCH figure: the median of each
# side and after/before.  For "no regression beyond noise" checks, in one
# sitting.  WebRTC benches run in the loopback-only namespace.
set -eu
cd "$(dirname "$0")/.."
A=$1; B=$2; ROUNDS=${3:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() { # side build name cmd...
  side=$1; dir=$2; shift 2
  "$@" 2>/dev/null | awk -v s="$side" '$1 == "BENCH" { print s, $2, $3 }' >>"$out/all" || true
}
for r in $(seq "$ROUNDS"); do
  for side in before after; do
    [ "$side" = before ] && d=$A || d=$B
    echo "round $r: $side ($d)" >&2
    run "$side" "$d" "$d/bench/bench_inproc"
    run "$side" "$d" "$d/bench/bench_fragment" all
    run "$side" "$d" "$d/bench/bench_ws"
    run "$side" "$d" tests/rtc/netns-run.sh "$d/bench/bench_dc_lane"
  done
done
awk '
  { v[$1 SUBSEP $2] = v[$1 SUBSEP $2] " " $3; names[$2] = 1 }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    printf "%-44s %14s %14s %8s\n", "figure", "before", "after", "after/before"
    for (n in names) {
      if (!((("before") SUBSEP n) in v) || !((("after") SUBSEP n) in v)) continue
      b = median(v["before" SUBSEP n]); a = median(v["after" SUBSEP n])
      printf "%-44s %14.6g %14.6g %8.3f\n", n, b, a, b ? a / b : 0
    }
  }' "$out/all" | sort
