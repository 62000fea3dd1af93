#!/usr/bin/env bash
# Bash completion for haven, run as bash runs it: COMP_WORDS and
# COMP_CWORD set, the completion function called, COMPREPLY compared.
# A command, a sub-command, an option, an option's value, and the
# referral ids asked of a real intake worker (with a referral submitted);
# a worker that cannot be asked gives nothing, silently.
# usage: test_completion.sh BIN_DIR COMPLETION_FILE EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/../cli/lib.sh"
. "$here/../cli/flow_lib.sh"
completion=$(realpath "$2")
example=$(realpath "$3")
# shellcheck disable=SC1090
. "$completion"
bindir=$(realpath "$1")

# complete_line EXPECTED WORD...: the last word is the one being completed.
complete_line() {
  local expected=$1
  shift
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  local err
  err=$(_haven 2>&1 >/dev/null)
  _haven 2>/dev/null
  local got="${COMPREPLY[*]}"
  [ "$got" = "$expected" ] && [ -z "$err" ] && ok ||
    bad "completing '$*': got '$got', expected '$expected'${err:+, stderr: $err}"
}

complete_line "inbox" "$bindir/haven" inb
complete_line "registry recv restore referral" "$bindir/haven" re
complete_line "decline" "$bindir/haven" inbox de
complete_line "submit show" "$bindir/haven" referral s
complete_line "--reason" "$bindir/haven" inbox decline --re
complete_line "--state" "$bindir/haven" inbox status --st
complete_line "--config --help --in" "$bindir/haven" restore --
# What the catalogue gained is completed without a list of its own here.
complete_line "staff" "$bindir/haven" staf
complete_line "reset-password role" "$bindir/haven" staff r
complete_line "--role" "$bindir/haven" staff add --ro
complete_line "self-signed" "$bindir/haven" web s
complete_line "no_capacity not_suitable" "$bindir/haven" inbox decline --reason no
# bash hands "--state=in" over as the words "--state" "=" "in".
complete_line "in_progress" "$bindir/haven" inbox status --state = in
complete_line "" "$bindir/haven" inbox show --config /nonexistent/x.ini ""

# The ids of a real intake's referrals.
flow_setup "$bindir"
cp "$example" adult.json
start broker
start intake
id=$(submit adult.json)
[ ${#id} -eq 32 ] && ok || bad "submit gave '$id'"
complete_line "$id" "$bindir/haven" referral show --config intake.ini ""
complete_line "$id" "$bindir/haven" referral withdraw --config = intake.ini "${id:0:4}"
complete_line "" "$bindir/haven" referral show --config intake.ini "zz"
# A case message's referral, at an intake (a provider's inbox answers nothing here).
complete_line "$id" "$bindir/haven" message send --config intake.ini "${id:0:4}"
complete_line "send list read" "$bindir/haven" message ""
complete_line "--file" "$bindir/haven" message send --fi
stop_all_and_check_logs
finish
