#!/bin/sh
# soak.sh [ACTR_LANE] — `make soak`: 10 minutes (SOAK_SECONDS) of mixed traffic
# on every lane kind with a hostile client attached, against one `actr-lane
# serve` whose RSS is sampled every second (scripts/soak.py; docs/soak.md).
# Runs in a loopback-only network namespace (tests/rtc/netns-run.sh) so that
# WebRTC stays on 127.0.0.1; at nice 10 (SOAK_NICE) beside other work.
# Output in SOAK_OUT (default build/soak): rss.csv, rss.png, summary.json,
# the logs; a full-length run also copies the plot and the figures to docs/.
# Exit 0 only if every check passed.
set -eu
cd "$(dirname "$0")/.."
TOOL=${1:-build/src/tool/actr-lane}
OUT=${SOAK_OUT:-build/soak}
[ -x "$TOOL" ] || { echo "soak: $TOOL is not built" >&2; exit 2; }
mkdir -p "$OUT"
echo "soak: ${SOAK_SECONDS:-600} s against $TOOL serve; output in $OUT"
rc=0
nice -n "${SOAK_NICE:-10}" tests/rtc/netns-run.sh \
  /usr/bin/python3 scripts/soak.py "$TOOL" "$OUT" || rc=$?
# A full-length run (600 s or more) is the one docs/soak.md shows.
if [ "${SOAK_SECONDS:-600}" -ge 600 ] && [ -f "$OUT/rss.png" ]; then
  cp "$OUT/rss.png" docs/soak-rss.png
  cp "$OUT/summary.json" docs/soak-summary.json
  echo "soak: docs/soak-rss.png and docs/soak-summary.json updated"
fi
exit $rc
