#!/bin/sh
# check-man.sh ACTR_LANE MAN_PAGE — the man page and `actr-lane --help` name
# the same options and commands: one that is added to the tool and not to
# docs/actr-lane.1 (or the other way round) fails make test.
set -eu
tool=$1
man=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$tool" --help >"$tmp/help" 2>&1 || true
grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u >"$tmp/help.opts"
sed -n '1,/^\.SH SEE ALSO/p' "$man" | sed 's/\\-/-/g' | grep -o -- '--[a-z][a-z-]*' | sort -u >"$tmp/man.opts"
for c in demo serve send node call help; do
  grep -q "actr-lane $c\b\|actr-lane \[$c\]" "$tmp/help" || { echo "--help lacks command $c" >&2; exit 1; }
  grep -q "^\.B actr-lane $c\|^\.RB \[ $c \]\|^\.B $c\$" "$man" || { echo "$man lacks command $c" >&2; exit 1; }
done
if ! diff -u "$tmp/help.opts" "$tmp/man.opts" >"$tmp/diff"; then
  echo "check-man: the options of --help (-) and of $man (+) differ:" >&2
  cat "$tmp/diff" >&2
  exit 1
fi
echo "check-man: $(wc -l <"$tmp/help.opts") options, in --help and in the man page"
