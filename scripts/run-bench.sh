#!/bin/sh
# run-bench.sh — every benchmark, one after the other (never in parallel: the
# machine has two cores).  Each prints readable lines (#), BENCH lines, and
# GOAL lines (issue 13: a ratio measured in the run, its two sides
# interleaved; bench/bench_common.h); the run ends with every GOAL line
# again, one per goal: ratio, goal, PASS or SHORT.
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# keep FILE CMD...: run CMD showing its output, keep a copy in FILE, and
# fail as CMD fails (a pipe into tee alone would hide its exit status).
keep() {
  f=$1; shift
  { rc=0; "$@" || rc=$?; echo "$rc" >"$f.rc"; } | tee "$f"
  return "$(cat "$f.rc")"
}
echo "== in-process lane"
keep "$out/inproc" build/bench/bench_inproc
echo "== fragment + reassemble"
keep "$out/frag" build/bench/bench_fragment all
echo "== WebSocket lane vs raw TCP vs NNG ws"
keep "$out/ws" build/bench/bench_ws
echo "== WebRTC data channel: libactr <-> libactr vs Chromium <-> Chromium (loopback-only namespace)"
keep "$out/raw" tests/rtc/netns-run.sh build/bench/rtc/bench_webrtc
# The same with 16000-byte SCTP packets (sctp_mtu, an explicit setting for
# peers known to take them on a path known to carry them; loopback's MTU is
# 64 KiB): its figures and goal lines are named dc.raw.mtu16000.*.
echo "== WebRTC data channel with sctp_mtu 16000 (libactr <-> libactr only; loopback-only namespace)"
keep "$out/raw_mtu" tests/rtc/netns-run.sh build/bench/rtc/bench_webrtc --mtu 16000 --no-chromium
# Both peers in one process, on two runtimes (the layout before 2026-12-02,
# sharing usrsctp's global lock): dc.raw.one_process.*, no goal lines.
echo "== WebRTC data channel, both peers in one process (libactr <-> libactr only; loopback-only namespace)"
keep "$out/raw_oneproc" tests/rtc/netns-run.sh build/bench/rtc/bench_webrtc --one-process --no-chromium
echo "== DataChannel lane over WebRTC (fragments of 65527 bytes; loopback-only namespace)"
keep "$out/lane" tests/rtc/netns-run.sh build/bench/bench_dc_lane
# The lane against the raw channel measured just before, in this run.
fig() { awk -v n="$2" '$1 == "BENCH" && $2 == n { print $3 }' "$out/$1"; }
raw64=$(fig raw dc.raw.64k.throughput); raw_rtt=$(fig raw dc.raw.1k.rtt.p50)
lane1m=$(fig lane lane.dc.1m.throughput); lane_rtt=$(fig lane lane.dc.1k.rtt.p50)
lane_hrtt=$(fig lane lane.dc.1k.rtt.handler.p50)
if [ -n "$raw64" ] && [ -n "$raw_rtt" ] && [ -n "$lane1m" ] && [ -n "$lane_rtt" ] && [ -n "$lane_hrtt" ]; then
  awk -v r="$raw64" -v l="$lane1m" -v rr="$raw_rtt" -v lr="$lane_rtt" -v hr="$lane_hrtt" 'BEGIN {
    printf "# DataChannel lane vs raw channel, this run: 1 MiB lane messages at %.0f%% of the raw 64 KiB figure; 1 KiB round trip %+.1f us (recv threads), %+.1f us (handlers)\n", 100 * l / r, (lr - rr) * 1e6, (hr - rr) * 1e6
    printf "BENCH lane.dc.1k.rtt.over_raw.p50 %.9f s\n", lr - rr
    printf "BENCH lane.dc.1k.rtt.handler.over_raw.p50 %.9f s\n", hr - rr
  }'
fi
echo "== scale: idle WebSocket connections on one serve, WebRTC peer connections in one runtime"
keep "$out/scale" tests/rtc/netns-run.sh build/bench/bench_scale --serve build/src/tool/actr-lane
echo "== transport: wire rebuilt, 10 s link cut, memory per destination (loopback-only namespace)"
keep "$out/transport" tests/rtc/netns-run.sh build/bench/bench_transport build/src/tool/actr-lane
echo "== goals (issue 13): median ratio of interleaved rounds, its spread, the goal"
cat "$out"/inproc "$out"/frag "$out"/ws "$out"/raw "$out"/raw_mtu "$out"/lane "$out"/scale 2>/dev/null |
  awk '$1 == "GOAL" { printf "%-34s %8s  goal %s %-5s  %-5s  (%s rounds, spread %s)\n", $2, $3, $4, $5, $6, $8, $10 }'
