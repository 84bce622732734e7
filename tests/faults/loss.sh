#!/bin/sh
# loss.sh NFQ_DELAY ACTR_LANE TEST_FAULTS AIORTC_LOSS_PY — 3% loss and 20 ms
# delay on every packet (40 ms round trip), measured before anything else.
# Then every reliable lane (WebSocket; the RPC_RELIABLE, RPC_SIGNAL and
# STREAM_RELIABLE DataChannel lanes) through `actr-lane serve`/`send`: one
# message each of 1 KiB, 64 KiB, 1 MiB and 4 MiB, every echo checked (send
# exits 0 only if all matched, in order); the four lanes at once, on their
# own connections.  Then through the library (test_faults loss: one-way
# figures, STREAM_LATENCY_FIRST), then aiortc's own data channel under the
# same impairment, and the Mathis bound of each for comparison.  Run inside
# tests/rtc/netns-run.sh.
set -u
NFQ=$1 BIN=$2 LIB=$3 AIO=$4
FDIR=$(mktemp -d)
trap 'kill $SP $NFQ_PID 2>/dev/null; rm -rf "$FDIR"' EXIT
SP= NFQ_PID=
. "$(dirname "$0")/lib.sh"

impair_start "$NFQ" 0.03 20
# Expected round trip: 40 ms and 1-0.97^2 = 5.9% loss (500 pings: +-1.1%).
impair_measure 2.5 10 39.5
RTT=$(echo "$MEASURED_RTT" | cut -d' ' -f2)

serve_start "$BIN"
lane_run() { # lane type: the four sizes in turn; "ok" or the failure in $FDIR/status.*
  for s in 1024 65536 1048576 4194304; do
    if ! timeout 300 "$BIN" send --url "$URL" --lane "$1" --type "$2" --size $s --count 1 \
        --timeout-ms 240000 >"$FDIR/out.$1.$2.$s" 2>&1; then
      { echo "FAILED: send --lane $1 --type $2 --size $s"; cat "$FDIR/out.$1.$2.$s"; } >"$FDIR/status.$1.$2"
      return
    fi
  done
  echo ok >"$FDIR/status.$1.$2"
}
lane_run ws RPC_RELIABLE & P1=$!
lane_run rtc RPC_RELIABLE & P2=$!
lane_run rtc RPC_SIGNAL & P3=$!
lane_run rtc STREAM_RELIABLE & P4=$!
wait $P1 $P2 $P3 $P4 # (not a bare wait: serve and nfq_delay run in the background too)
fail=0
for f in ws.RPC_RELIABLE rtc.RPC_RELIABLE rtc.RPC_SIGNAL rtc.STREAM_RELIABLE; do
  st=$(cat "$FDIR/status.$f" 2>/dev/null || echo "FAILED: no status for $f")
  if [ "$st" = ok ]; then
    line=$(grep -E '^(WebSocket|WebRtcDataChannel)/' "$FDIR/out.${f%%.*}.${f#*.}.4194304")
    echo "FAULTS tool $f: 1 KiB, 64 KiB, 1 MiB, 4 MiB echoed and checked; 4 MiB echo: $(echo "$line" | awk '{print $4}') MB/s"
  else
    echo "$st"; fail=1
  fi
done

"$LIB" loss || fail=1

/usr/bin/python3 "$AIO" 15 | sed 's/^/FAULTS /' || fail=1

# Mathis et al.: throughput <= MSS/RTT * 1.22/sqrt(p).  DataChannel: 1200-byte
# SCTP packets carry 1172 bytes of data (12-byte common header, 16-byte DATA
# chunk header); WebSocket: TCP on lo (MTU 65536) carries 65483-byte segments.
awk -v rtt="$RTT" 'BEGIN {
  k = 1.22 / sqrt(0.03); r = rtt / 1000
  printf "FAULTS mathis-bound dc: MSS 1172 B, RTT %.1f ms, p 0.03: %.0f B/s\n", rtt, 1172 / r * k
  printf "FAULTS mathis-bound ws: MSS 65483 B, RTT %.1f ms, p 0.03: %.0f B/s\n", rtt, 65483 / r * k
}'
kill -INT $SP
wait $SP || { echo "serve exited $?"; fail=1; }
SP=
exit $fail
