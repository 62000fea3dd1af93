#!/usr/bin/env bash
# The manual pages: every page formats without a warning from groff, every
# command and sub-command that `haven --help` names is described in
# haven(1), and so is every option it lists.
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
# "  haven CMD [SUB|SUB ID|...] ...": each command, with each sub-command.
while read -r cmd subs; do
  n=$((n + 1))
  first=${subs%% *}
  if [[ "$first" =~ ^[a-z]+(\|[a-z]+( ID)?)*$ || "$first" =~ ^[a-z]+$ ]]; then
    # A word after the command that is no option or argument: sub-commands.
    subs_list=$(tr '|' '\n' <<<"$subs" | awk '{print $1}' | grep -E '^[a-z]+$')
  else
    subs_list=
  fi
  if [ -z "$subs_list" ]; then
    grep -qF "haven $cmd" <<<"$text" && ok || bad "haven.1 lacks: haven $cmd"
  fi
  for sub in $subs_list; do
    grep -qF "haven $cmd $sub" <<<"$text" && ok || bad "haven.1 lacks: haven $cmd $sub"
  done
done < <(sed -n 's/^  haven \([a-z]*\) *\(.*\)$/\1 \2/p' <<<"$usage")
[ "$n" -ge 15 ] && ok || bad "only $n commands found in the usage text"
for opt in $(grep -o -- '--[a-z][a-z-]*' <<<"$usage" | sort -u); do
  grep -qF -- "$opt" <<<"$text" && ok || bad "haven.1 lacks the option $opt"
done
finish
