#!/bin/bash
# demo-realm.sh ACTR_LANE — the realm part of `make demo`: in a network
# namespace that holds only lo (tests/rtc/netns-run.sh), our test actrix
# (AIS + signaling), an echo node and a caller: `actr-lane node` and
# `actr-lane call` (SPEC §5) in one run, each step reported.
set -u
tool=$(readlink -f "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${DEMO_IN_NETNS:-}" != 1 ]; then
  exec env DEMO_IN_NETNS=1 "$root/tests/rtc/netns-run.sh" /bin/bash "$0" "$tool"
fi
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
first_line() {
  for _ in $(seq 200); do [ -s "$1" ] && { head -1 "$1"; return 0; }; sleep 0.1; done
  echo "demo: no first line in $1" >&2; cat "${1%.out}.err" >&2; exit 1
}
echo "== realm: a test actrix and two libactr nodes (loopback-only network namespace)"
/usr/bin/python3 "$root/tests/realm/test_actrix.py" >"$tmp/actrix.out" 2>"$tmp/actrix.err" &
pids+=($!)
read -r _ ais sig <<<"$(first_line "$tmp/actrix.out")"
ais=${ais#ais=} sig=${sig#signaling=}
echo "actrix: AIS $ais, signaling $sig"
"$tool" node --ais "$ais" --signaling "$sig" --realm 101 --type acme:echo:1.0 --echo \
  >"$tmp/node.out" 2>"$tmp/node.err" &
node=$!
pids+=($node)
echo "echo node: $(first_line "$tmp/node.out")"
rc=0
for spec in 1024:200 65536:50 1048576:8; do
  size=${spec%:*} count=${spec#*:}
  printf 'caller, %d calls of %d bytes: ' "$count" "$size"
  if ! timeout 120 "$tool" call --ais "$ais" --signaling "$sig" --realm 101 --type acme:caller:1.0 \
       --target acme:echo:1.0 --route echo.Echo.Say --size "$size" --count "$count" 2>"$tmp/call.err"; then
    echo "FAILED"; cat "$tmp/call.err"; rc=1
  fi
done
kill -TERM "$node"; wait "$node" || rc=1
tail -1 "$tmp/node.err"
[ $rc = 0 ] && echo "realm: every reply matched" || echo "realm: FAILED"
exit $rc
