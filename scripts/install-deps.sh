#!/bin/sh
# install-deps.sh — install the Debian packages libactr needs, only those
# missing.  Usage: scripts/install-deps.sh [build|demo|test|docs|bench|fuzz|soak|all]...
# Runs apt-get (as root, or through sudo) only when something is missing.
set -eu

BUILD="meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev libjson-glib-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler"
# WebSocket wire: the GIO TLS backend (wss://, at run time); certtool for the
# TLS tests, GnuTLS headers (the wire test loads GnuTLS at start-up), the
# independent peers of the interop tests; NNG for the benchmark baseline.
WS_BUILD="glib-networking"
WS_TEST="gnutls-bin libgnutls28-dev python3-websockets nodejs node-ws"
WS_BENCH="libnng-dev"
# WebRTC wire: libnice (ICE), usrsctp (SCTP; the package serves -Dusrsctp=system,
# the default build compiles Debian's usrsctp tarball: subprojects/usrsctp.wrap),
# GnuTLS (DTLS) to build; for the
# tests coturn (TURN), aiortc and Chromium (interop, driven by playwright-core
# from npm: scripts/install-npm.sh), iproute2 (the loopback-only network
# namespace of tests/rtc/netns-run.sh); Chromium and node for the benchmark's
# baseline.
RTC_BUILD="libnice-dev libusrsctp-dev libgnutls28-dev"
RTC_TEST="coturn python3-aiortc chromium iproute2 nodejs npm"
# Fault tests (tests/faults): iptables for loss and link cuts (and the NFQUEUE
# rule of their delayer), ping to measure the impairment.
FAULT_TEST="iptables iputils-ping"
# The test actrix (tests/realm/test_actrix.py): protobuf messages, Ed25519.
REALM_TEST="python3-protobuf python3-cryptography python3-websockets"
RTC_BENCH="chromium iproute2 nodejs npm"
# The API reference (make docs; the api-docs test checks it in make test).
DOCS="doxygen python3"
# The soak (scripts/soak.sh): the loopback-only namespace, the hostile client
# (websockets, aiortc), the RSS plot, gdb (serve's malloc_stats).
SOAK="iproute2 python3-websockets python3-aiortc gnuplot-nox gdb"
BUILD="$BUILD $WS_BUILD $RTC_BUILD"
TEST="$BUILD clang libclang-rt-14-dev $WS_TEST $RTC_TEST $REALM_TEST $FAULT_TEST $DOCS"
BENCH="$BUILD libzmq3-dev $WS_BENCH $RTC_BENCH gnuplot-nox"
FUZZ="$BUILD clang libclang-rt-14-dev"

want=""
npm_modules=""
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build) want="$want $BUILD" ;;
    demo) want="$want $BUILD iproute2 $REALM_TEST" ;;
    test) want="$want $TEST"; npm_modules=yes ;;
    docs) want="$want $DOCS" ;;
    bench) want="$want $BENCH"; npm_modules=yes ;;
    fuzz) want="$want $FUZZ" ;;
    soak) want="$want $BUILD $SOAK" ;;
    all) want="$want $TEST $BENCH $FUZZ $SOAK $DOCS"; npm_modules=yes ;;
    *) echo "install-deps: unknown group '$group'" >&2; exit 2 ;;
  esac
done

missing=""
for p in $want; do
  case " $missing " in *" $p "*) continue ;; esac
  # npm ships inside some nodejs builds (NodeSource): the command is enough.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  echo "install-deps: installing:$missing" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The npm modules of tests/interop (playwright-core drives Chromium).
if [ -n "$npm_modules" ]; then
  "$(dirname "$0")/install-npm.sh"
fi
