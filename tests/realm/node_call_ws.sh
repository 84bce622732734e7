#!/bin/bash
# node_call_ws.sh ACTR_LANE — the direct WebSocket wire through the tool
# (issue 11): an echo node that also listens for direct WebSockets
# (--ws-listen), every UDP packet on lo dropped so that WebRTC cannot
# connect, and `actr-lane call` (0.5) still gets every reply byte for byte:
# discovery gave the node's ws:// address, the call went over it.  Run
# inside tests/rtc/netns-run.sh (only lo; the iptables rule dies with it).
set -u
tool=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "node_call_ws: $*" >&2; for f in "$tmp"/*.err; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }
first_line() {
  for _ in $(seq 200); do [ -s "$1" ] && { head -1 "$1"; return; }; sleep 0.1; done
  fail "no first line in $1"
}

/usr/bin/python3 "$here/test_actrix.py" >"$tmp/actrix.out" 2>"$tmp/actrix.err" &
pids+=($!)
read -r word ais sig <<<"$(first_line "$tmp/actrix.out")"
[ "$word" = listening ] || fail "actrix said '$word $ais $sig'"
ais=${ais#ais=} sig=${sig#signaling=}
common=(--ais "$ais" --signaling "$sig" --realm 101)

"$tool" node "${common[@]}" --type acme:echo:1.0 --echo --ws-listen 127.0.0.1 \
  >"$tmp/node.out" 2>"$tmp/node.err" &
pids+=($!)
line=$(first_line "$tmp/node.out")
[[ $line =~ ^registered ]] || fail "node said '$line'"
iptables -A INPUT -i lo -p udp -j DROP || fail "iptables"
for spec in 0:3 65528:3 4194304:2; do
  size=${spec%:*} count=${spec#*:}
  timeout 120 "$tool" call "${common[@]}" --type acme:caller:1.0 --target acme:echo:1.0 \
    --route echo.Echo.Say --size "$size" --count "$count" --timeout-ms 20000 \
    >"$tmp/call.out" 2>"$tmp/call.err" || fail "call of $size bytes x $count failed"
  grep -q "$count of $count replies matched" "$tmp/call.out" || fail "call said: $(cat "$tmp/call.out")"
  cat "$tmp/call.out"
done
echo "node_call_ws: PASS"
