#!/bin/sh
# install-deps.sh — install the Debian packages libactr needs, only those
# missing.  Usage: scripts/install-deps.sh [build|test|bench|fuzz|all]...
# Runs apt-get (as root, or through sudo) only when something is missing.
set -eu

BUILD="meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev libjson-glib-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler"
TEST="$BUILD clang libclang-rt-14-dev"
BENCH="$BUILD libzmq3-dev"
FUZZ="$BUILD clang libclang-rt-14-dev"

want=""
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build) want="$want $BUILD" ;;
    test) want="$want $TEST" ;;
    bench) want="$want $BENCH" ;;
    fuzz) want="$want $FUZZ" ;;
    all) want="$want $TEST $BENCH $FUZZ" ;;
    *) echo "install-deps: unknown group '$group'" >&2; exit 2 ;;
  esac
done

missing=""
for p in $want; do
  case " $missing " in *" $p "*) continue ;; esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
