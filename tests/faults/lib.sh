# lib.sh — shared pieces of the fault tests (sourced; POSIX sh).  Runs inside
# tests/rtc/netns-run.sh: a network namespace holding only lo, where we are
# root, so iptables rules here touch nothing outside the test.
#
# The impairment is applied to every packet on lo, once: loss by iptables'
# statistic match in INPUT, delay by nfq_delay (NFQUEUE in OUTPUT), since
# the kernel has no netem.  A packet between two local sockets passes OUTPUT
# and INPUT once each, so a round trip sees the delay twice (like `netem
# delay 20ms` on lo) and loses 1-(1-p)^2 of probes.

NFQ_NUM=7

# impair_start NFQ_DELAY_BIN LOSS DELAY_MS: LOSS is a probability (0.03).
impair_start() {
  if [ "$3" -gt 0 ]; then
    "$1" $NFQ_NUM "$3" >"$FDIR/nfq.out" 2>"$FDIR/nfq.err" &
    NFQ_PID=$!
    _w=0
    while ! grep -q ready "$FDIR/nfq.out" 2>/dev/null; do
      _w=$((_w + 1))
      [ $_w -lt 50 ] || { echo "nfq_delay did not start: $(cat "$FDIR/nfq.err")"; exit 1; }
      sleep 0.1
    done
    iptables -A OUTPUT -o lo -j NFQUEUE --queue-num $NFQ_NUM || exit 1
  fi
  if [ "$2" != 0 ]; then
    iptables -A INPUT -i lo -m statistic --mode random --probability "$2" -j DROP || exit 1
  fi
}

# impair_measure MIN_LOSS_PCT MAX_LOSS_PCT MIN_RTT_MS: ping 500 times; the
# round-trip loss and the minimum RTT must be in range.  Prints one line.
impair_measure() {
  out=$(ping -c 500 -i 0.002 -W 2 -q 127.0.0.1 2>&1)
  loss=$(echo "$out" | sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p')
  rtt=$(echo "$out" | sed -n 's/^rtt min\/avg\/max\/mdev = \([0-9.]*\)\/\([0-9.]*\)\/.*/\1 \2/p')
  set -- "$1" "$2" "$3" $rtt
  MEASURED_RTT="$4 $5"
  echo "MEASURED impairment: round-trip loss ${loss}% of 500 pings, rtt min $4 ms avg $5 ms"
  awk -v l="$loss" -v lo="$1" -v hi="$2" -v r="$4" -v rmin="$3" \
    'BEGIN { exit !(l >= lo && l <= hi && r >= rmin) }' ||
    { echo "FAILED: impairment not as configured (loss ${lo}..${hi}%, rtt >= $3 ms wanted)"; exit 1; }
}

# cut_on / cut_off: drop every packet on lo (the link cut), and restore.
cut_on() { iptables -I INPUT 1 -i lo -j DROP; }
cut_off() { iptables -D INPUT -i lo -j DROP; }

# serve_start BIN [ARGS]: start `actr-lane serve` on 127.0.0.1:PORT (PORT
# from $SERVE_PORT, 0 for any); sets SP and URL.
serve_start() {
  bin=$1; shift
  rm -f "$FDIR/serve.out" # (a previous serve's line must not be read)
  "$bin" serve --listen 127.0.0.1:${SERVE_PORT:-0} "$@" >"$FDIR/serve.out" 2>"$FDIR/serve.err" &
  SP=$!
  _w=0
  while [ ! -s "$FDIR/serve.out" ] && [ $_w -lt 100 ]; do sleep 0.1; _w=$((_w + 1)); done
  URL=$(head -1 "$FDIR/serve.out" | sed -n 's/^listening \(ws:\/\/127.0.0.1:[0-9]*\)$/\1/p')
  [ -n "$URL" ] || { echo "no listening line: $(cat "$FDIR/serve.out" "$FDIR/serve.err")"; exit 1; }
}

now_ms() { date +%s%3N; }
