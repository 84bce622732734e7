#!/bin/sh
# run-tests.sh — everything `make test` runs, in order: the unit and
# integration tests (normal build), the same under ASan + UBSan, then each
# fuzz target briefly on its corpus.  Ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
pass=0; fail=0

count_meson() { # $1: build dir — add its results to the totals
  log="$1/meson-logs/testlog.json"
  [ -f "$log" ] || return
  p=$(grep -c '"result": "OK"' "$log")
  t=$(grep -c '"result":' "$log")
  pass=$((pass + p)); fail=$((fail + t - p))
}

for dir in build build-asan; do
  echo "== meson test ($dir)"
  meson test -C "$dir" --print-errorlogs --num-processes 2 || true
  count_meson "$dir"
done

# max_len: each target's inputs must be able to reach its decoder's own
# bounds (libFuzzer's default, 4096 bytes, stops short of most of them).
max_len() {
  case $1 in
    fuzz_signal) echo 266240 ;;         # ACTR_SIGNALING_MAX_JSON (256 KiB) + 4 KiB
    fuzz_sdp) echo 135168 ;;            # ACTR__SDP_MAX_TEXT (128 KiB) + 4 KiB
    fuzz_envelope) echo 135168 ;;       # 64 KiB of unknown fields + 64 KiB payload
    fuzz_fragment) echo 200000 ;;       # raw frames of 65535 bytes, several
    fuzz_ws_frame) echo 140000 ;;       # two messages at its 64 KiB limit
    fuzz_ws_handshake) echo 20480 ;;    # ACTR__WS_HTTP_MAX_HEAD (16 KiB) + 4 KiB
    fuzz_ws_msg) echo 70000 ;;          # one lane message of 64 KiB
    fuzz_sig_envelope) echo 135168 ;;   # 64 KiB of unknown fields + an SDP
    fuzz_dtls_split) echo 65536 ;;      # one coalesced UDP read (libnice's buffer)
    fuzz_http_response) echo 28672 ;;   # 16 KiB head + its 4 KiB body, 4+4 KiB framing
    *) echo 8192 ;;                     # fuzz_dcep: two 1024-byte strings
  esac
}

# `make test`: 15 s per target.  `make fuzz`: FUZZ_RUNS executions per
# target (10 million), FUZZ_SECONDS then only caps the time.
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
FUZZ_RUNS=${FUZZ_RUNS:-0}
runs_arg=""; [ "$FUZZ_RUNS" -gt 0 ] && runs_arg="-runs=$FUZZ_RUNS"
for target in build-fuzz/fuzz/fuzz_*; do
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=$(basename "$target"); short=${name#fuzz_}; corpus="fuzz/corpus/$short"
  regressions=""; [ -d "fuzz/regressions/$short" ] && regressions="fuzz/regressions/$short"
  work="build-fuzz/corpus-work/$name"; mkdir -p "$work"
  echo "== $name (${FUZZ_SECONDS}s on $corpus, max_len $(max_len "$name"))"
  # A crash leaves its input as build-fuzz/crash-*: copy it to
  # fuzz/regressions/<target>/ once fixed, and `meson test` replays it.
  # shellcheck disable=SC2086
  if "$target" $runs_arg -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -max_len="$(max_len "$name")" \
       -artifact_prefix=build-fuzz/ "$work" "$corpus" $regressions >"build-fuzz/$name.log" 2>&1; then
    echo "ok: $(grep -E '^stat::number_of_executed_units' "build-fuzz/$name.log" | tail -1)"
    pass=$((pass + 1))
  else
    tail -40 "build-fuzz/$name.log"; fail=$((fail + 1))
  fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
