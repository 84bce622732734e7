#!/bin/bash
# frag_interop.sh ACTR_LANE chromium|aiortc [PEER ARGS...] — independent
# WebRTC stacks speaking the DataChannel fragment protocol (SPEC §1.3) with
# `actr-lane serve` over /signal (SPEC §5).
#
# Starts `actr-lane serve --listen 127.0.0.1:0`, reads the port from its first
# stdout line, runs the peer (frag_chromium.cjs: headless Chromium driven by
# playwright-core; frag_aiortc.py: aiortc) against ws://127.0.0.1:PORT/signal;
# the peer exchanges messages of 0 B .. 4 MiB on every DataChannel lane and
# checks every echoed byte.  Then SIGINT must stop serve with exit 0.
# Every wait is bounded; every process started here is killed on any exit.
# Run inside tests/rtc/netns-run.sh (a network namespace holding only lo).
set -u
tool=$1 peer=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
serve_pid= peer_pid= watchdog=
cleanup() {
  # The peer first, gently: `timeout` passes SIGTERM on, and the peer closes
  # its browser; then SIGKILL whatever is left.  (Under netns-run the PID
  # namespace also takes down everything when the test ends.)
  if [ -n "$peer_pid" ]; then
    kill -TERM "$peer_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$peer_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  for p in $peer_pid $watchdog $serve_pid; do
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 3' INT TERM
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'; }
serve_log() {
  [ -s "$tmp/serve.err" ] || return 0
  echo "--- actr-lane serve stderr (last 40 lines):"
  tail -n 40 "$tmp/serve.err"
}
# UDP drops in this network namespace (a full socket receive buffer drops
# datagrams: SCTP retransmits them, or abandons them on the partially
# reliable STREAM_LATENCY_FIRST channel).
udp_stats() {
  awk '/^Udp:/ { if (!n++) split($0, k); else for (i = 2; i <= NF; i++) v[k[i]] = $i }
       END { printf "UDP in this netns: InDatagrams %s InErrors %s RcvbufErrors %s SndbufErrors %s\n",
             v["InDatagrams"], v["InErrors"], v["RcvbufErrors"], v["SndbufErrors"] }' /proc/net/snmp
}
fail() {
  echo "frag_interop: FAIL $* ($(elapsed))" >&2
  echo "frag_interop: $(udp_stats)" >&2
  serve_log >&2
  exit 1
}

case $peer in
  chromium)
    command -v node >/dev/null || fail "node missing"
    [ -x /usr/bin/chromium ] || fail "/usr/bin/chromium missing"
    [ -d "$here/node_modules/playwright-core" ] || fail "playwright-core missing (scripts/install-npm.sh)"
    peer_cmd=(node "$here/frag_chromium.cjs") ;;
  aiortc)
    [ -x /usr/bin/python3 ] || fail "/usr/bin/python3 missing"
    peer_cmd=(/usr/bin/python3 "$here/frag_aiortc.py") ;;
  *) fail "unknown peer '$peer' (chromium or aiortc)" ;;
esac

"$tool" serve --listen 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
line=
for _ in $(seq 200); do # up to 20 s for the first line
  IFS= read -r line <"$tmp/serve.out" && [ -n "$line" ] && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.1
done
case $line in
  "listening ws://127.0.0.1:"*) ;;
  *) fail "serve's first line is '$line', not 'listening ws://127.0.0.1:PORT'" ;;
esac
url="${line#listening }/signal"
echo "frag_interop: actr-lane serve at ${line#listening } ($(elapsed))"

# The peer is bounded on its own (it gives up on the exchange after 200 s);
# `timeout` is the backstop, SIGTERM then SIGKILL.
timeout -k 10 260 "${peer_cmd[@]}" "$url" "$@" &
peer_pid=$!
wait "$peer_pid"
rc=$?
peer_pid=
alive=
kill -0 "$serve_pid" 2>/dev/null || alive="; actr-lane serve is not running any more"
case $rc in
  0) ;;
  124|137) fail "$peer peer timed out (exit $rc)$alive" ;;
  *) fail "$peer peer exited $rc$alive" ;;
esac
[ -z "$alive" ] || fail "actr-lane serve died during the exchange"
echo "frag_interop: $peer peer passed ($(elapsed)); $(udp_stats)"

kill -INT "$serve_pid"
# A watchdog bounds the wait: serve killed by it exits 137, not 0.
(trap 'kill $s 2>/dev/null; exit 0' TERM
 sleep 15 & s=$!; wait $s; kill -KILL "$serve_pid") >/dev/null 2>&1 &
watchdog=$!
wait "$serve_pid"
rc=$?
serve_pid=
kill "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
watchdog=
[ $rc -eq 0 ] || fail "serve exited $rc after SIGINT (137: did not stop in 15 s)"
if grep -qiE 'AddressSanitizer|LeakSanitizer|runtime error' "$tmp/serve.err"; then
  fail "sanitizer report from serve"
fi
echo "frag_interop: ok: $peer <-> actr-lane serve, every echo matched; serve stopped cleanly ($(elapsed))"
