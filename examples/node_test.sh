#!/bin/bash
# node_test.sh NODE_EXAMPLE TEST_ACTRIX — run examples/node.c against our
# test actrix (tests/realm/test_actrix.py: AIS + signaling on 127.0.0.1).
# Every wait is bounded; the actrix is killed and the temp dir removed on
# exit.  Run inside tests/rtc/netns-run.sh (only lo).
set -u
example=$1 actrix=$2
tmp=$(mktemp -d)
actrix_pid=
cleanup() {
  [ -n "$actrix_pid" ] && { kill -KILL "$actrix_pid" 2>/dev/null; wait "$actrix_pid" 2>/dev/null; }
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "example_node: $*" >&2; echo "--- actrix stderr" >&2; tail -20 "$tmp/actrix.err" >&2; exit 1; }

/usr/bin/python3 "$actrix" >"$tmp/actrix.out" 2>"$tmp/actrix.err" &
actrix_pid=$!
# Its first line: "listening ais=URL signaling=URL" (20 s at most).
for _ in $(seq 200); do [ -s "$tmp/actrix.out" ] && break; sleep 0.1; done
read -r word ais sig <"$tmp/actrix.out" || fail "the actrix printed nothing"
[ "$word" = listening ] || fail "the actrix said '$word $ais $sig'"
ais=${ais#ais=} sig=${sig#signaling=}
echo "actrix: AIS $ais, signaling $sig"

timeout 120 "$example" "$ais" "$sig" 101 || fail "the example failed (exit $?)"
