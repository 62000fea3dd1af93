#!/usr/bin/env bash
# The demo as the README runs it, with its output sent to a log file, and
# its stop command as the demo's own hint gives it, from inside the demo's
# directory. The demo uses the example network's fixed loopback ports, which
# a demo left running by `./setup.sh demo` holds: as root the test's demo
# runs in a network namespace of its own, with a loopback of its own.
# usage: test_demo.sh BIN_DIR SOURCE_DIR
set -u
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/lib.sh"
bin=$(realpath "$1")
top=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/hvdemo.XXXXXX")
trap 'bash "$top/deploy/demo.sh" stop "$work/demo" >/dev/null 2>&1; rm -rf "$work"' EXIT
cd "$work" || exit 1

in_ns=()
if [ "$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then
  in_ns=(unshare --net bash -c 'ip link set lo up && exec "$@"' demo-netns)
else
  echo "note: not root, so the demo runs on this host's loopback: a running demo makes it fail"
fi

# A relative work directory, output and errors to one file.
"${in_ns[@]}" bash "$top/deploy/demo.sh" "$bin/haven" demo > demo.log 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok || { bad "the demo exited $rc"; cat demo.log; }

# Nothing of the log was lost: it starts with step 1, holds every step and
# no hole of NUL bytes (what a truncating reopen of the file leaves).
[ "$(grep -c . demo.log)" -gt 50 ] && ok || bad "the log is short"
head -2 demo.log | grep -q "^--- 1\. Every organisation makes its own keys" && ok ||
  bad "the log does not start with step 1: $(head -2 demo.log)"
for s in 2 3 4 5 6 7 8 9 10 11 12 13; do grep -q "^--- $s\. " demo.log && ok || bad "step $s is not in the log"; done
[ "$(tr -cd '\000' < demo.log | wc -c)" -eq 0 ] && ok || bad "the log holds NUL bytes"
# Step 9: a family of three with a document, placed together, and a message back.
grep -qE '^case [0-9a-f]{32}: 3 people, 2 services$' demo.log && ok || bad "no family case in the log"
grep -q 'group of 3 (' demo.log && ok || bad "the shelter's offer does not say the group"
grep -q "the saved copy is the caseworker's file, byte for byte" demo.log && ok ||
  bad "the document saved at the shelter differs from the caseworker's"
grep -q 'The family arrived; a room for three is ready.' demo.log && ok || bad "no message in the log"
[ "$(grep -c '^referral [0-9a-f]\{32\} submitted' demo.log)" -eq 1 ] && ok ||
  bad "the submission is not in the log exactly once"

# The workbench is served: the demo's haven-web answers its page, from web/.
grep -q '^    https://127.0.0.1:8443/   ngo.xa' demo.log && ok || bad "the workbench's address is not printed"

pids=$(cat demo/pids)
[ "$(wc -w <<<"$pids")" -eq 12 ] && ok || bad "the demo did not record twelve daemons (nine and three haven-web): $pids"
running() { local n=0 p; for p in $pids; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done; echo $n; }
[ "$(running)" -eq 12 ] && ok || bad "not every daemon is running after the demo"

# The stop hint names the work directory absolutely.
hint=$(sed -n 's/^ *bash \(.*demo\.sh stop .*\) *# stop the network$/\1/p' demo.log | sed 's/ *$//')
[ "$hint" = "$top/deploy/demo.sh stop $work/demo" ] && ok || bad "the stop hint is '$hint'"

# From inside the demo's directory, the relative path of the README names
# nothing: that is said, with a failure, and nothing is stopped.
cd demo || exit 1
expect 1 "no example network is running in $work/demo/demo: nothing to stop" \
  bash "$top/deploy/demo.sh" stop demo
[ "$(running)" -eq 12 ] && ok || bad "a stop of nothing stopped daemons"

# The hint, from the same place, stops all twelve.
expect 0 "the example network in $work/demo is stopped" bash $hint
[ "$(running)" -eq 0 ] && ok || bad "$(running) daemons still run after the stop"
expect 1 "nothing to stop" bash $hint
cd "$work" || exit 1

finish
