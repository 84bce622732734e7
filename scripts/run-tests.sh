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

FUZZ_SECONDS=${FUZZ_SECONDS:-15}
for target in build-fuzz/fuzz/fuzz_*; do
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=$(basename "$target"); corpus="fuzz/corpus/${name#fuzz_}"
  work="build-fuzz/corpus-work/$name"; mkdir -p "$work"
  echo "== $name (${FUZZ_SECONDS}s on $corpus)"
  if "$target" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 \
       -artifact_prefix=build-fuzz/ "$work" "$corpus" >"build-fuzz/$name.log" 2>&1; then
    echo "ok: $(grep -E '^#[0-9]+.*DONE' "build-fuzz/$name.log" | tail -1)"
    pass=$((pass + 1))
  else
    tail -40 "build-fuzz/$name.log"; fail=$((fail + 1))
  fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
