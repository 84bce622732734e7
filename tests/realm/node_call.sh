#!/bin/bash
# node_call.sh ACTR_LANE DIALECT OFFER_RULE — two libactr nodes in an actr
# realm (SPEC §5 `node` and `call`): our test actrix (AIS + signaling), an
# echo node, and calls of several sizes that must all come back byte for
# byte; then the node stops on SIGTERM (exit 0, unregistered: a later call
# finds nobody), and bad arguments or an unreachable AIS fail cleanly.
# Run inside tests/rtc/netns-run.sh (only lo): everything is on 127.0.0.1,
# every wait is bounded, every process started here is killed on exit.
set -u
tool=$1 dialect=$2 rule=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "node_call: $*" >&2; for f in "$tmp"/*.err; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

# first_line FILE: wait (20 s at most) for the first line of FILE.
first_line() {
  for _ in $(seq 200); do [ -s "$1" ] && { head -1 "$1"; return; }; sleep 0.1; done
  fail "no first line in $1"
}

/usr/bin/python3 "$here/test_actrix.py" --dialect "$dialect" --offer-rule "$rule" \
  >"$tmp/actrix.out" 2>"$tmp/actrix.err" &
pids+=($!)
read -r word ais sig <<<"$(first_line "$tmp/actrix.out")"
[ "$word" = listening ] || fail "actrix said '$word $ais $sig'"
ais=${ais#ais=} sig=${sig#signaling=}
common=(--ais "$ais" --signaling "$sig" --realm 101 --actr-version "$dialect")

"$tool" node "${common[@]}" --type acme:echo:1.0 --echo >"$tmp/node.out" 2>"$tmp/node.err" &
node=$!
pids+=($node)
line=$(first_line "$tmp/node.out")
[[ $line =~ ^registered\ [0-9a-f]+@101/acme:echo:1\.0$ ]] || fail "node said '$line'"
echo "node: $line"

for spec in 0:3 1:5 65527:3 65528:3 200000:4 4194304:2; do
  size=${spec%:*} count=${spec#*:}
  timeout 120 "$tool" call "${common[@]}" --type acme:caller:1.0 --target acme:echo:1.0 \
    --route echo.Echo.Say --size "$size" --count "$count" --timeout-ms 20000 \
    >"$tmp/call.out" 2>"$tmp/call.err" || fail "call of $size bytes x $count failed"
  grep -q "$count of $count replies matched" "$tmp/call.out" || fail "call said: $(cat "$tmp/call.out")"
  echo "$(cat "$tmp/call.out")"
done

# SIGTERM: the node closes, unregisters and exits 0.
kill -TERM "$node"
for _ in $(seq 100); do kill -0 "$node" 2>/dev/null || break; sleep 0.1; done
kill -0 "$node" 2>/dev/null && fail "node still running 10 s after SIGTERM"
wait "$node"; rc=$?
[ "$rc" = 0 ] || fail "node exited $rc on SIGTERM"
if timeout 60 "$tool" call "${common[@]}" --type acme:caller:1.0 --target acme:echo:1.0 \
     --route echo.Echo.Say --size 10 --count 1 >"$tmp/late.out" 2>"$tmp/late.err"; then
  fail "a call after the node left succeeded"
fi
grep -q "no actor of type acme:echo:1.0" "$tmp/late.err" || fail "late call: $(cat "$tmp/late.err")"

# Bad arguments: exit 2 and one line; an unreachable AIS: exit 1, no hang.
"$tool" node --ais "$ais" --signaling "$sig" --type acme:echo:1.0 --echo 2>"$tmp/bad.err"
[ $? = 2 ] && [ "$(wc -l <"$tmp/bad.err")" = 1 ] || fail "missing --realm: $(cat "$tmp/bad.err")"
"$tool" node "${common[@]}" --type "acme:echo" --echo 2>"$tmp/bad.err"
[ $? != 0 ] && grep -q "version required" "$tmp/bad.err" || fail "bad --type: $(cat "$tmp/bad.err")"
timeout 60 "$tool" node --ais http://127.0.0.1:9/ais --signaling "$sig" --realm 101 \
  --type acme:echo:1.0 --echo 2>"$tmp/bad.err"
[ $? = 1 ] && grep -q CONNECTION "$tmp/bad.err" || fail "unreachable AIS: $(cat "$tmp/bad.err")"
echo "node_call $dialect $rule: PASS"
