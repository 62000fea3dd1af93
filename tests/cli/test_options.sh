#!/usr/bin/env bash
# Every program's conventional options: --help and -h, --version and -V, an
# unknown option, each answered within a second (bounded by `timeout 5`,
# measured) with exit 0, 0 and 2; help and version on standard output, the
# usage error on standard error.
# usage: test_options.sh BIN_DIR VERSION
set -u
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/lib.sh"
bin=$(realpath "$1")
version=$2
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# answers CODE STREAM PATTERN PROGRAM ARGS...: exits CODE within a second,
# with PATTERN in STREAM (out or err) and the other stream empty.
answers() {
  local code=$1 stream=$2 pattern=$3 prog=$4
  shift 4
  local t0 t1 rc ms
  t0=$(date +%s%N)
  timeout 5 "$bin/$prog" "$@" >"$out" 2>"$err"
  rc=$?
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  local want=$out other=$err
  [ "$stream" = err ] && want=$err other=$out
  if [ "$rc" -ne "$code" ]; then bad "$prog $*: exit $rc, expected $code"; cat "$err"; return; fi
  if [ "$ms" -ge 1000 ]; then bad "$prog $*: took $ms ms"; return; fi
  grep -qF -- "$pattern" "$want" || { bad "$prog $*: lacks '$pattern' on std$stream"; cat "$want"; return; }
  [ -s "$other" ] && { bad "$prog $*: wrote to the other stream"; cat "$other"; return; }
  ok
}

for d in haven-broker haven-intake haven-router haven-provider haven-web; do
  answers 0 out "usage: $d -c " "$d" --help
  answers 0 out "  -n, --check" "$d" -h
  answers 0 out "$d $version" "$d" --version
  answers 0 out "$d $version" "$d" -V
  answers 2 err "$d: unknown option '--frobnicate'" "$d" --frobnicate
  answers 2 err "$d: unknown option '-x'" "$d" -x
  answers 2 err "usage: $d -c " "$d" --config
  answers 2 err "$d: unexpected argument 'extra'" "$d" -c x.ini extra
  answers 2 err "$d: option '--check=yes' takes no value" "$d" -c x.ini --check=yes
done

# The CLI: the same options, and each command's and sub-command's help.
answers 0 out "usage: haven COMMAND" haven --help
answers 0 out "usage: haven COMMAND" haven -h
answers 0 out "usage: haven COMMAND" haven help
answers 0 out "haven $version" haven --version
answers 0 out "haven $version" haven -V
answers 2 err "haven: unknown option '--frobnicate'" haven --frobnicate
answers 2 err "usage: haven COMMAND" haven
commands=$(timeout 5 "$bin/haven" --help | sed -n 's/^  \([a-z]\+\( [a-z]\+\)\?\)  \+.*$/\1/p')
n=$(wc -l <<<"$commands")
[ "$n" -ge 28 ] && ok || bad "haven --help lists $n commands"
while read -r c; do
  # shellcheck disable=SC2086 # "referral list" is two words
  answers 0 out "usage: haven $c " haven $c --help
  answers 0 out "usage: haven $c " haven $c -h
  answers 0 out "usage: haven $c " haven help $c
  answers 2 err "haven $c: unknown option '--frobnicate'" haven $c --frobnicate
  answers 2 err "Try 'haven $c --help' for more." haven $c --frobnicate=1
done <<<"$commands"
for c in registry deadletters audit referral inbox pathway; do
  answers 0 out "  haven $c " haven $c --help
  answers 0 out "  haven $c " haven help $c
  answers 2 err "haven $c: a sub-command is needed" haven $c
  answers 2 err "haven $c: unknown sub-command 'frobnicate'" haven $c frobnicate
done
answers 2 err "haven: unknown command 'frobnicate'" haven help frobnicate

finish
