#!/bin/sh
# run-bench.sh — every benchmark, one after the other (never in parallel: the
# machine has two cores).  Each prints readable lines (#) and BENCH lines.
set -eu
cd "$(dirname "$0")/.."
echo "== in-process lane"
build/bench/bench_inproc
echo "== fragment + reassemble"
build/bench/bench_fragment all
echo "== WebSocket lane vs raw TCP vs NNG ws"
build/bench/bench_ws
echo "== WebRTC data channel: libactr <-> libactr vs Chromium <-> Chromium (loopback-only namespace)"
tests/rtc/netns-run.sh build/bench/rtc/bench_webrtc
echo "== DataChannel lane over WebRTC (fragments of 65527 bytes; loopback-only namespace)"
tests/rtc/netns-run.sh build/bench/bench_dc_lane
