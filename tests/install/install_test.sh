#!/bin/bash
# install_test.sh BUILD_DIR SOURCE_DIR — `meson install` puts the library,
# headers, pkg-config file, tool and man page in place, and a program builds
# against the installed copy with `pkg-config --cflags --libs actr` only.
#
# How: the build being tested is installed with DESTDIR into a temporary
# staging tree (`meson install --no-rebuild --destdir`): no second build
# dir, no rebuild, nothing written outside the temp dir except meson's own
# meson-logs/install-log.txt in BUILD_DIR.  pkg-config reads the staged
# actr.pc with PKG_CONFIG_SYSROOT_DIR set to the staging tree, the standard
# way to use a DESTDIR install: its -I and -L then point into the tree (and
# the GLib include dirs of Requires.private point nowhere, which shows the
# public headers need no GLib).  examples/inproc.c and websocket.c are built
# from that alone (plus $ACTR_EXAMPLE_CFLAGS: the sanitizer flags of a
# sanitized build, whose library needs them at link time) and run with
# LD_LIBRARY_PATH on the staged libdir only; inproc.c is also linked with
# the installed static library (below).  Bounded; the temp dir goes.
set -u
build=$1 src=$2
extra=${ACTR_EXAMPLE_CFLAGS:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }
stage=$tmp/stage

timeout 120 meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log" >&2; fail "meson install failed"; }

# What is installed (wherever prefix, libdir... put it).
pc=$(find "$stage" -name actr.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || fail "no actr.pc installed"
tool=$(find "$stage" -type f -name actr-lane -path '*/bin/*')
[ -x "$tool" ] || fail "no actr-lane installed"
man=$(find "$stage" -type f -name actr-lane.1 -path '*/man1/*')
[ -n "$man" ] || fail "no actr-lane.1 installed"
for h in "$src"/include/actr/*.h; do
  [ -n "$(find "$stage" -path "*/include/actr/$(basename "$h")")" ] || fail "header $(basename "$h") not installed"
done
echo "installed: $(cd "$stage" && find . -type f | sort | tr '\n' ' ')"

export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$stage
flags=$(pkg-config --cflags --libs actr) || fail "pkg-config --cflags --libs actr failed"
echo "pkg-config --cflags --libs actr: $flags"
libdir=$(pkg-config --libs-only-L actr | sed 's/^ *-L//; s/ .*//')
for lib in libactr.so libactr.a; do
  [ -e "$libdir/$lib" ] || fail "$lib not in the installed libdir $libdir"
done

# The man page renders without warnings; the installed tool runs.
LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$man" 2>"$tmp/groff.err" && [ ! -s "$tmp/groff.err" ] \
  || fail "the man page has problems: $(cat "$tmp/groff.err")"
LD_LIBRARY_PATH=$libdir timeout 10 "$tool" --help >"$tmp/help.out" 2>&1 || fail "installed actr-lane --help failed"
grep -q "actr-lane serve" "$tmp/help.out" || fail "actr-lane --help: $(cat "$tmp/help.out")"

for ex in inproc websocket; do
  # shellcheck disable=SC2086
  cc $extra -o "$tmp/$ex" "$src/examples/$ex.c" $flags 2>"$tmp/cc.err" \
    || fail "cc $ex.c \$(pkg-config --cflags --libs actr): $(cat "$tmp/cc.err")"
  LD_LIBRARY_PATH=$libdir ldd "$tmp/$ex" | grep -q "libactr.so.* => $libdir/" \
    || fail "$ex does not load the installed libactr: $(LD_LIBRARY_PATH=$libdir ldd "$tmp/$ex")"
  LD_LIBRARY_PATH=$libdir timeout 60 "$tmp/$ex" >"$tmp/$ex.out" 2>&1 \
    || fail "$ex (installed library) exited $?: $(cat "$tmp/$ex.out")"
  echo "$ex against the installed library: $(tail -1 "$tmp/$ex.out")"
done

# The static library, with its dependencies linked shared: libactr.a, the
# libraries of actr.pc's Requires.private (`pkg-config --libs` of each: a
# full `pkg-config --static` would also want the static -dev packages of
# every library those depend on, which Debian does not install) and its
# Libs.private.  This checks that actr.pc names every library libactr.a needs.
requires=$(pkg-config --print-requires-private actr | awk '{print $1}' | tr '\n' ' ')
private=$(sed -n 's/^Libs.private: //p' "$pc")
# node.c pulls in every layer (realm, WebRTC, WebSocket), so its link shows
# nothing is missing (an archive only links the members a program needs);
# inproc.c is run.
for ex in node inproc; do
  # shellcheck disable=SC2086
  cc $extra -o "$tmp/$ex-static" "$src/examples/$ex.c" $(pkg-config --cflags actr) \
     "$libdir/libactr.a" $(pkg-config --libs $requires) $private 2>"$tmp/cc.err" \
    || fail "cc $ex.c libactr.a (Requires.private: $requires; Libs.private: $private): $(cat "$tmp/cc.err")"
done
ldd "$tmp/inproc-static" | grep -q libactr && fail "inproc-static still loads a shared libactr"
timeout 60 "$tmp/inproc-static" >"$tmp/static.out" 2>&1 || fail "static inproc exited $?: $(cat "$tmp/static.out")"
echo "inproc against the installed static library: $(tail -1 "$tmp/static.out")"
echo "install_test: PASS"
