#!/bin/sh
# serve_send_rtc.sh ACTR_LANE — `actr-lane serve` and `actr-lane send --lane
# rtc` against each other (SPEC §5): /signal signaling, every DataChannel
# payload type, sizes across the fragment boundary up to 20 MB, every echo
# checked by send; then bad signaling gets an error and serve stays up; serve
# exits 0 on SIGINT.  Run inside tests/rtc/netns-run.sh (only lo).
set -u
BIN=$1
dir=$(mktemp -d)
trap 'kill $SP 2>/dev/null; rm -rf "$dir"' EXIT
"$BIN" serve --listen 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
SP=$!
i=0
while [ ! -s "$dir/out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
URL=$(head -1 "$dir/out" | sed -n 's/^listening \(ws:\/\/127.0.0.1:[0-9]*\)$/\1/p')
[ -n "$URL" ] || { echo "no listening line: $(cat "$dir/out" "$dir/err")"; exit 1; }
fail=0
run() {
  if ! out=$(timeout 120 "$BIN" send --url "$URL" "$@" 2>&1); then
    echo "FAILED: send $*"; echo "$out"; fail=1
  else
    echo "ok: send $* -> $(echo "$out" | tail -1)"
  fi
}
for t in RPC_RELIABLE RPC_SIGNAL STREAM_RELIABLE STREAM_LATENCY_FIRST; do
  run --lane rtc --type $t --size 0 --count 3
  run --lane rtc --type $t --size 65527 --count 5
  run --lane rtc --type $t --size 65528 --count 5
done
run --lane rtc --size 4194304 --count 4
# Above half the channel's buffer (8 MiB of 16): serve's echo cannot go
# without waiting, so it goes from a thread that may wait; above the whole
# buffer (20 MB) too.
run --lane rtc --size 9000000 --count 2
run --lane rtc --size 20000000 --count 1
run --lane rtc --type STREAM_RELIABLE --size 1000 --count 2000
# MEDIA_RTP is not a DataChannel lane: a clear refusal, non-zero exit.
if timeout 20 "$BIN" send --url "$URL" --lane rtc --type MEDIA_RTP 2>/dev/null; then
  echo "FAILED: MEDIA_RTP accepted"; fail=1
fi
# The WebSocket lanes still work next to it.
run --lane ws --type MEDIA_RTP --size 100000 --count 3
kill -INT $SP
wait $SP
rc=$?
[ $rc -eq 0 ] || { echo "serve exited $rc"; fail=1; }
exit $fail
