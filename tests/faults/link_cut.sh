#!/bin/sh
# link_cut.sh ACTR_LANE — the link cut for 10 s (every packet on lo dropped)
# under a WebSocket and a WebRTC transfer through `actr-lane serve`/`send`,
# then restored.  Documented behaviour (docs/faults.md):
#  1. default settings (dead peer after at most 8 s): both sends give up
#     during the cut and exit non-zero, within 20 s; once the link is back,
#     new sends to the same serve succeed (serve dropped its sessions too).
#  2. --peer-timeout-ms 40000 on both ends: the cut is ridden through; both
#     transfers complete with every echo checked (exit 0).
# Never a hang: every send runs under `timeout`.  Run inside netns-run.sh.
set -u
BIN=$1
FDIR=$(mktemp -d)
SP=
trap 'kill $SP 2>/dev/null; iptables -D INPUT -i lo -j DROP 2>/dev/null; rm -rf "$FDIR"' EXIT
. "$(dirname "$0")/lib.sh"
fail=0

bg_send() {
  name=$1; shift
  ( timeout 90 "$BIN" send --url "$URL" "$@" >"$FDIR/$name.out" 2>&1
    echo "$? $(now_ms)" >"$FDIR/$name.end" ) &
}
running() { [ ! -s "$FDIR/$1.end" ] || { echo "FAILED: $1 ended before the cut (too short):"; cat "$FDIR/$1.out"; fail=1; }; }
# in_flight NAME...: wait (up to 60 s) until each transfer is under way:
# connected, and its first progress line printed (a second into the run),
# so that the cut falls on a transfer, not on its set-up (which takes
# longer on a loaded machine or under ASan).
in_flight() {
  for n in "$@"; do
    w=0
    while ! grep -q 'echoes' "$FDIR/$n.out" 2>/dev/null && [ ! -s "$FDIR/$n.end" ] && [ $w -lt 600 ]; do
      sleep 0.1; w=$((w + 1))
    done
  done
}
wait_end() { # NAME: wait (up to 90 s) and set RC and END
  w=0
  while [ ! -s "$FDIR/$1.end" ] && [ $w -lt 900 ]; do sleep 0.1; w=$((w + 1)); done
  RC=124 END=$(now_ms)
  [ -s "$FDIR/$1.end" ] && read -r RC END <"$FDIR/$1.end"
}
ok_send() {
  if out=$(timeout 60 "$BIN" send --url "$URL" "$@" 2>&1); then
    echo "ok: send $* -> $(echo "$out" | tail -1)"
  else
    echo "FAILED: send $*"; echo "$out"; fail=1
  fi
}

# 1. Defaults.
serve_start "$BIN"
bg_send ws1 --lane ws --size 1048576 --count 100000
bg_send rtc1 --lane rtc --size 65536 --count 1000000
in_flight ws1 rtc1
running ws1; running rtc1
cut_on; t=$(now_ms)
sleep 10
cut_off
echo "FAULTS link-cut: 10 s cut ended"
for n in ws1 rtc1; do
  wait_end $n
  echo "FAULTS link-cut default $n: exit $RC after $((END - t)) ms ($(grep 'actr-lane send:' "$FDIR/$n.out" | head -1))"
  if [ "$RC" -eq 0 ] || [ $((END - t)) -gt 20000 ]; then
    echo "FAILED: $n wanted a non-zero exit within 20 s of the cut"; cat "$FDIR/$n.out"; fail=1
  fi
done
ok_send --lane ws --size 65536 --count 20
ok_send --lane rtc --size 65536 --count 20
kill -INT $SP; wait $SP || { echo "FAILED: serve exited $?"; fail=1; }

# 2. Peer timeout 40 s on both ends: the transfers survive the cut.  One
# lane kind at a time, each cut once it is under way (long enough to still
# be running then on a fast machine, short enough under ASan: 2000 MiB take
# ~4 s at the 530 MB/s of a fast machine, ~20 s under ASan).
serve_start "$BIN" --peer-timeout-ms 40000
for spec in "ws2 ws 1048576 2000" "rtc2 rtc 65536 3000"; do
  set -- $spec
  bg_send "$1" --lane "$2" --size "$3" --count "$4" --peer-timeout-ms 40000 --timeout-ms 60000
  in_flight "$1"
  running "$1"
  cut_on; t=$(now_ms)
  sleep 10
  cut_off
  wait_end "$1"
  echo "FAULTS link-cut peer-timeout-40s $1: exit $RC, $((END - t)) ms after the cut began: $(tail -1 "$FDIR/$1.out")"
  [ "$RC" -eq 0 ] || { echo "FAILED: $1 did not ride through the cut"; cat "$FDIR/$1.out"; fail=1; }
done
kill -INT $SP; wait $SP || { echo "FAILED: serve exited $?"; fail=1; }
SP=
exit $fail
