#!/bin/sh
# docs.sh — build the HTML API reference (docs/api/Doxyfile) from
# include/actr/*.h into OUT (default build/docs) and fail on any Doxygen
# warning: an undocumented public function, type, enum constant, struct field
# or macro, or a malformed comment.  Usage: scripts/docs.sh [SRC_ROOT [OUT]].
# Used by `make docs` and by the api-docs test (make test).  Doxygen missing
# is a failure, not a skip: scripts/install-deps.sh installs it.
set -eu
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
out=${2:-$src/build/docs}
if ! command -v doxygen >/dev/null 2>&1; then
  echo "docs: doxygen is not installed (scripts/install-deps.sh docs)" >&2
  exit 1
fi
mkdir -p "$out"
log="$out/doxygen-warnings.log"
rm -f "$log"
cd "$src"
# The error codes come from one X-macro list (ACTR_ERRNO_MAP): their
# descriptions are made from the same list, its message and retry class.
sed -n 's/^ *XX(\([A-Z_]*\), *\(-[0-9]*\), *\([A-Z]*\), *"\(.*\)").*$/\/** @var ACTR_E\1\n * \4 (\2; retry class ACTR_ERR_CLASS_\3). *\//p' \
  include/actr/error.h >"$out/errors.dox"
rc=0
{ cat docs/api/Doxyfile; echo "INPUT += $out/errors.dox"; echo "OUTPUT_DIRECTORY = $out"
  echo "WARN_LOGFILE = $log"; } |
  doxygen - >"$out/doxygen.out" 2>&1 || rc=$?
# FAIL_ON_WARNINGS already fails the run; the log is checked as well, so that
# a warning can never pass unnoticed.
if [ -s "$log" ]; then
  echo "docs: Doxygen warnings (each one an error):" >&2
  cat "$log" >&2
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  echo "docs: doxygen failed ($rc):" >&2
  cat "$out/doxygen.out" >&2
  exit 1
fi
# Doxygen does not report undocumented enum constants: its XML is checked.
if ! python3 "$src/scripts/docs-undocumented.py" "$out/xml" >&2; then
  echo "docs: undocumented public names above" >&2
  exit 1
fi
if [ ! -f "$out/html/index.html" ]; then
  echo "docs: no $out/html/index.html" >&2
  exit 1
fi
echo "docs: $out/html/index.html"
