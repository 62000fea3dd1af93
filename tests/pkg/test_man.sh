#!/usr/bin/env bash
# The manual pages: every page formats without a warning from groff, every
# command and sub-command that `haven --help` names is described in
# haven(1), and so is every option its own --help lists.
# usage: test_man.sh HAVEN_BINARY MAN_DIR
set -u
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../cli/lib.sh"
haven=$1
dir=$2
for page in "$dir"/*.[18]; do
  out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  [ -z "$out" ] && ok || bad "$(basename "$page"): $out"
done
text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$dir/haven.1" 2>/dev/null | col -b | tr -s ' ')
usage=$("$haven" --help 2>&1)
n=0
options=
# "  CMD [SUB]   Summary": each command, or each command with a sub-command,
# and every option its own --help lists.
while read -r cmd sub; do
  n=$((n + 1))
  grep -qF "haven $cmd${sub:+ $sub}" <<<"$text" && ok || bad "haven.1 lacks: haven $cmd${sub:+ $sub}"
  # shellcheck disable=SC2086 # $sub is one word or none
  options+=" $("$haven" "$cmd" $sub --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | tr '\n' ' ')"
done < <(sed -n 's/^  \([a-z][a-z]*\)\( [a-z][a-z]*\)\{0,1\}  .*/\1\2/p' <<<"$usage")
[ "$n" -ge 15 ] && ok || bad "only $n commands found in the usage text"
for opt in $(tr ' ' '\n' <<<"$options" | grep -- '^--' | sort -u); do
  grep -qF -- "$opt" <<<"$text" && ok || bad "haven.1 lacks the option $opt"
done
finish
