#!/bin/bash
# ws_interop.sh — libactr's WebSocket lanes against independent
# implementations, through actr-lane (the tool is the contract, SPEC §5).
#
#   ws_interop.sh ACTR_LANE python|node client   the peer is the client of
#       `actr-lane serve`; then SIGINT must stop serve cleanly (exit 0)
#   ws_interop.sh ACTR_LANE python|node server   the peer is an echo server;
#       `actr-lane send` drives every payload type and sizes 0 B .. 8 MiB
#
# Every process is on 127.0.0.1 with an ephemeral port, every wait is
# bounded, and every process started here is killed on any exit.
set -u
tool=$1 peer=$2 role=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 3' INT TERM
fail() { echo "ws_interop: $*" >&2; exit 1; }

case $peer in
  python) [ -x /usr/bin/python3 ] || fail "/usr/bin/python3 missing"
          peer_cmd=(/usr/bin/python3 "$here/ws_peer.py") ;;
  node) command -v node >/dev/null || fail "node missing (install nodejs node-ws)"
        [ -d /usr/share/nodejs/ws ] || fail "/usr/share/nodejs/ws missing (install node-ws)"
        peer_cmd=(node "$here/ws_peer.js") ;;
  *) fail "unknown peer $peer" ;;
esac

# start_bg FIFO CMD...: run CMD with stdout on a fifo kept open on fd 3.
start_bg() {
  local fifo=$1; shift
  mkfifo "$fifo"
  "$@" >"$fifo" 2>"$tmp/bg.err" &
  pids+=($!)
  exec 3<"$fifo"
}
first_line() { # read the first stdout line of the background process (bounded)
  local line
  IFS= read -r -t 20 line <&3 || { cat "$tmp/bg.err" >&2; fail "no first line from $*"; }
  echo "$line"
}

if [ "$role" = client ]; then
  start_bg "$tmp/out" "$tool" serve --listen 127.0.0.1:0
  line=$(first_line actr-lane serve)
  case $line in "listening ws://127.0.0.1:"*) ;; *) fail "serve said '$line'" ;; esac
  url="${line#listening }/lane"
  timeout 180 "${peer_cmd[@]}" client "$url" || { cat "$tmp/bg.err" >&2; fail "$peer client failed"; }
  serve_pid=${pids[0]}
  kill -INT "$serve_pid"
  # A watchdog bounds the wait: serve killed by it exits 137, not 0.
  (trap 'kill $s 2>/dev/null; exit 0' TERM
   sleep 10 & s=$!; wait $s; kill -KILL "$serve_pid") >/dev/null 2>&1 &
  watchdog=$!
  wait "$serve_pid"; rc=$?
  kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null
  [ $rc -eq 0 ] || { cat "$tmp/bg.err" >&2; fail "serve exited $rc after SIGINT (137: did not stop in 10 s)"; }
  echo "ok: $peer client <-> actr-lane serve; serve stopped cleanly"
else
  start_bg "$tmp/out" "${peer_cmd[@]}" server
  line=$(first_line "$peer" server)
  port=${line#PORT }
  [[ $port =~ ^[0-9]+$ ]] || fail "peer said '$line'"
  url="ws://127.0.0.1:$port/lane"
  n=0
  for type in RPC_RELIABLE RPC_SIGNAL STREAM_RELIABLE STREAM_LATENCY_FIRST MEDIA_RTP; do
    for spec in 0:20 1:20 120:20 121:20 65530:10 65531:10 1048576:4 8388608:2 1024:2000; do
      size=${spec%:*} count=${spec#*:}
      timeout 120 "$tool" send --url "$url" --type "$type" --size "$size" --count "$count" \
        >"$tmp/send.out" 2>&1 || { cat "$tmp/send.out" >&2; fail "send $type $size x $count"; }
      n=$((n + 1))
    done
  done
  # Refused and unreachable: one line, non-zero, no hang.
  timeout 20 "$tool" send --url "ws://127.0.0.1:$port/lane" --type NOPE >/dev/null 2>&1 && fail "bad --type accepted"
  echo "ok: actr-lane send -> $peer server, $n runs, every echo matched"
fi
