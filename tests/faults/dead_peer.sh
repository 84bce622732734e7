#!/bin/sh
# dead_peer.sh ACTR_LANE TEST_FAULTS — a peer killed mid-transfer.
#  1. `serve` killed (SIGKILL) while a WebSocket and a WebRTC `send` are
#     transferring: each send exits non-zero within 20 s (the WebRTC side
#     cannot learn it from the kernel: it notices the silence, 8 s by
#     default).  `serve` restarted on the same port: both lanes work again.
#  2. `send` killed mid-transfer: `serve` lets go of the session (its
#     threads return to what they were) and serves new sends.
#  3. The library (test_faults dead): blocked send and recv calls on both
#     sides of a WebSocket connection and a WebRTC link whose network goes
#     away return errors within 20 s.
# Run inside tests/rtc/netns-run.sh.
set -u
BIN=$1 LIB=$2
FDIR=$(mktemp -d)
SP=
trap 'kill $SP 2>/dev/null; rm -rf "$FDIR"' EXIT
. "$(dirname "$0")/lib.sh"
fail=0

# bg_send NAME ARGS...: send in the background; NAME.end gets "rc end_ms".
bg_send() {
  name=$1; shift
  ( timeout 60 "$BIN" send --url "$URL" "$@" >"$FDIR/$name.out" 2>&1
    echo "$? $(now_ms)" >"$FDIR/$name.end" ) &
}
# check_ended NAME SINCE_MS: exited non-zero, within 20 s of SINCE_MS.
check_ended() {
  n=0
  while [ ! -s "$FDIR/$1.end" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
  if [ ! -s "$FDIR/$1.end" ]; then
    echo "FAILED: $1 still running 30 s after the kill"; fail=1; return
  fi
  read -r rc end <"$FDIR/$1.end"
  ms=$((end - $2))
  echo "FAULTS dead-peer tool $1: exit $rc after $ms ms ($(grep 'actr-lane send:' "$FDIR/$1.out" | head -1))"
  if [ "$rc" -eq 0 ] || [ "$ms" -gt 20000 ]; then
    echo "FAILED: $1 wanted a non-zero exit within 20 s"; cat "$FDIR/$1.out"; fail=1
  fi
}
running() { [ ! -s "$FDIR/$1.end" ] || { echo "FAILED: $1 ended before the kill:"; cat "$FDIR/$1.out"; fail=1; }; }
ok_send() {
  if out=$(timeout 60 "$BIN" send --url "$URL" "$@" 2>&1); then
    echo "ok: send $* -> $(echo "$out" | tail -1)"
  else
    echo "FAILED: send $*"; echo "$out"; fail=1
  fi
}

# 1. serve killed mid-transfer, then restarted on the same port.
serve_start "$BIN"
PORT=${URL##*:}
bg_send ws1 --lane ws --size 1048576 --count 100000
bg_send rtc1 --lane rtc --size 1048576 --count 100000
sleep 3
running ws1; running rtc1
kill -KILL $SP
t=$(now_ms)
wait $SP 2>/dev/null
check_ended ws1 "$t"
check_ended rtc1 "$t"
SERVE_PORT=$PORT serve_start "$BIN"
[ "$URL" = "ws://127.0.0.1:$PORT" ] || { echo "FAILED: serve restarted on $URL"; fail=1; }
ok_send --lane ws --size 65536 --count 20
ok_send --lane rtc --size 65536 --count 20

# 2. send killed mid-transfer: serve lets go and serves again.
threads() { sed -n 's/^Threads:[[:space:]]*//p' /proc/$SP/status; }
base=$(threads)
for lane in ws rtc; do
  "$BIN" send --url "$URL" --lane $lane --size 1048576 --count 100000 >/dev/null 2>&1 & # (killed below)
  P=$!
  sleep 3
  kill -KILL $P
  wait $P 2>/dev/null
done
# One reading decides (the loop's last): serve's thread count may rise for
# a moment later on (a timer thread starting for the next send), which
# says nothing of the killed senders' sessions.
n=0
now=$(threads)
while [ "$now" -gt "$base" ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n + 1)); now=$(threads); done
echo "FAULTS dead-peer tool: serve threads $base before, $now after two killed senders"
[ "$now" -le "$base" ] || { echo "FAILED: serve kept the killed senders' sessions"; fail=1; }
ok_send --lane ws --size 65536 --count 20
ok_send --lane rtc --size 65536 --count 20
kill -INT $SP
wait $SP || { echo "FAILED: serve exited $?"; fail=1; }
SP=

# 3. The library, both sides.
"$LIB" dead || fail=1
exit $fail
