#!/bin/sh
# check-names.sh — the naming rules of docs/NAMING.md, on every public header.
# Usage: check-names.sh INCLUDE_DIR.  Prints each breach; exits 1 if any.
set -eu
dir=${1:?usage: check-names.sh INCLUDE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat "$dir"/actr/*.h >"$tmp/all.h"

prefixes='runtime lane reassembly msg envelope payload_type err log ws webrtc signaling actor_id actor_type ais credential node testing'
bad=0
fail() { echo "check-names: $*"; bad=1; }

# Public functions: one prefix per concept, no other release verbs.
grep -ohE 'ACTR_API [^;]*\bactr_[a-z0-9_]+\(' "$tmp/all.h" | grep -oE 'actr_[a-z0-9_]+\($' |
  sed 's/($//' | sort -u >"$tmp/funcs"
[ -s "$tmp/funcs" ] || fail "no ACTR_API function found under $dir"
while read -r f; do
  ok=0
  for p in $prefixes; do
    case $f in actr_${p}_*) ok=1 ;; esac
  done
  [ $ok = 1 ] || fail "$f: no concept prefix (docs/NAMING.md)"
  case $f in
    *_destroy | *_release | *_clone | *_delete | *_dispose | *_dup | *_finalize)
      fail "$f: release verbs are _unref (shared) and _free (one owner)" ;;
  esac
done <"$tmp/funcs"

# _ref and _unref come in pairs.
for f in $(grep -E '_(un)?ref$' "$tmp/funcs"); do
  base=${f%_unref}; base=${base%_ref}
  grep -qx "${base}_ref" "$tmp/funcs" || fail "$f without ${base}_ref"
  grep -qx "${base}_unref" "$tmp/funcs" || fail "$f without ${base}_unref"
  grep -qx "${base}_free" "$tmp/funcs" && fail "${base} has both _unref and _free"
done

# Types end in _t, callback types in _fn, both with a concept prefix.
grep -ohE '\bactr_[a-z0-9_]+_(t|fn)\b' "$tmp/all.h" | sort -u >"$tmp/types"
while read -r t; do
  ok=0
  for p in $prefixes; do
    case $t in actr_${p}_*) ok=1 ;; esac
  done
  [ $ok = 1 ] || fail "type $t: no concept prefix"
done <"$tmp/types"
grep -nE 'typedef[^;(]*\(\*actr_[a-z0-9_]+\)' "$tmp/all.h" | grep -vE '\(\*actr_[a-z0-9_]+_fn\)' |
  while read -r l; do echo "check-names: callback type not ending in _fn: $l"; done | tee "$tmp/cb"
[ -s "$tmp/cb" ] && bad=1

# Constants: ACTR_<CONCEPT>_..., error codes ACTR_E..., ACTR_OK.
cprefixes='RUNTIME LANE MSG ENVELOPE PAYLOAD ERR LOG WS WEBRTC SIGNALING ACTOR NODE TESTING'
grep -ohE '^\s*ACTR_[A-Z0-9_]+\s*(=|,|$)|#define ACTR_[A-Z0-9_]+' "$tmp/all.h" |
  grep -oE 'ACTR_[A-Z0-9_]+' | sort -u >"$tmp/consts"
while read -r c; do
  case $c in ACTR_OK | ACTR_E* | ACTR_API | ACTR_BUILDING | ACTR__*) continue ;; *_H) continue ;; esac
  ok=0
  for p in $cprefixes; do
    case $c in ACTR_${p}_*) ok=1 ;; esac
  done
  [ $ok = 1 ] || fail "constant $c: no concept prefix"
done <"$tmp/consts"

[ $bad = 0 ] && echo "check-names: $(wc -l <"$tmp/funcs") functions, $(wc -l <"$tmp/types") types, $(wc -l <"$tmp/consts") constants follow docs/NAMING.md"
exit $bad
