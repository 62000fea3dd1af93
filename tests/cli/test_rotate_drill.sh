#!/usr/bin/env bash
# deploy/rotate-drill.sh as an operator runs it, on the network deploy/demo.sh
# starts: it rotates shelter.xc's keys while referrals flow and must pass
# every check it prints. As root the demo and the drill run in a network
# namespace of their own (the demo's fixed ports may be held by a running
# demo), as in test_demo.sh.
# usage: test_rotate_drill.sh BIN_DIR SOURCE_DIR
set -u
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/lib.sh"
bin=$(realpath "$1")
top=$(realpath "$2")
work=$(mktemp -d "${TMPDIR:-/tmp}/hvdrill.XXXXXX")
trap 'bash "$top/deploy/demo.sh" stop "$work/demo" >/dev/null 2>&1; rm -rf "$work"' EXIT
cd "$work" || exit 1

in_ns=()
if [ "$(id -u)" -eq 0 ] && unshare --net true 2>/dev/null; then
  in_ns=(unshare --net bash -c 'ip link set lo up && exec "$@"' drill-netns)
else
  echo "note: not root, so the demo runs on this host's loopback: a running demo makes it fail"
fi

# The drill a second time, in the same place: it finds the keys rotated.
"${in_ns[@]}" bash -c "bash '$top/deploy/demo.sh' '$bin/haven' demo > demo.log 2>&1 &&
  bash '$top/deploy/rotate-drill.sh' demo shelter.xc 8 4 > drill.log 2>&1 &&
  { bash '$top/deploy/rotate-drill.sh' demo shelter.xc 8 1 > again.log 2>&1; echo \$? > again.rc; }"
rc=$?
[ "$rc" -eq 0 ] && ok || { bad "the demo or the drill exited $rc"; tail -30 demo.log; cat drill.log; }
for s in 1 2 3 4; do grep -q "^--- $s\. " drill.log && ok || bad "step $s is not in the drill's output"; done
[ "$(grep -c '^    ok    ' drill.log)" -ge 12 ] && ok || bad "the drill checked less than it says"
grep -q '^    FAIL' drill.log && bad "a check of the drill failed" || ok
grep -q "^every check passed$" drill.log && ok || bad "the drill did not say every check passed"
# The key file the drill left holds one set, the one the registry now lists.
kid=$(sed -n 's/.*"next_keys_file\|.*"keys_file": "keys\/shelter\.xc\.\([0-9a-f]\{16\}\)\.pub".*/\1/p' demo/network.json | head -1)
[ -n "$kid" ] && [ "$(grep -c '^set ' demo/keys/shelter.xc.key)" = 1 ] &&
  grep -q "^set $kid\$" demo/keys/shelter.xc.key && ok || bad "shelter.xc's key file is not the new set alone"
# A second drill finds the keys rotated already and says so.
[ "$(cat again.rc 2>/dev/null)" = 1 ] && grep -q "rotated already" again.log && ok ||
  bad "a second drill did not refuse: $(cat again.log 2>/dev/null)"
finish
