#!/bin/sh
# install-npm.sh — install the npm modules of tests/interop (playwright-core,
# which drives the Debian chromium in the interop tests and the benchmark
# baseline, and ws, the page's signaling relay), at the versions pinned in
# tests/interop/package-lock.json, only when they are missing.  node_modules
# stays out of git (.gitignore).  Needs network access the first time.
set -eu
cd "$(dirname "$0")/../tests/interop"
have() { # $1: module, $2: version
  [ -f "node_modules/$1/package.json" ] &&
    grep -q "\"version\": \"$2\"" "node_modules/$1/package.json"
}
pw=$(sed -n 's/.*"playwright-core": "\([^"]*\)".*/\1/p' package.json)
ws=$(sed -n 's/.*"ws": "\([^"]*\)".*/\1/p' package.json)
if have playwright-core "$pw" && have ws "$ws"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-npm: npm is missing (scripts/install-deps.sh test installs it)" >&2
  exit 1
fi
echo "install-npm: installing playwright-core $pw and ws $ws into tests/interop" >&2
npm ci --no-audit --no-fund --loglevel=error >/dev/null
