#!/usr/bin/env bash
# A key rotation drill on the example network that deploy/demo.sh left
# running: one provider's keys are rotated while referrals flow, by the
# routine procedure of docs/OPERATIONS.md ("Rotating a node's keys"), and
# the drill says what it checked. Every step is what the node's and the
# authority's operators do by hand, with the same commands.
#   1. the node adds a key set (haven keygen --rotate) and reloads;
#   2. the authority lists it as next_keys (registry v+1), signs it, hands it
#      out, and every daemon reloads (SIGHUP): the node moves to its next
#      transport key;
#   3. referrals are submitted, offers to the provider wait sealed to its
#      old key; the authority switches (registry v+2: the new keys current,
#      the old previous until now + GRACE) and every daemon reloads;
#   4. after the grace the node destroys its old secrets by itself.
# Checked: every referral of the drill reaches 'received' (each case opened
# by the provider exactly once), no dead letter at the provider's broker,
# no message refused by the provider, the old key set gone from the key file
# and the new one in it, and the case the demo transferred before the
# rotation still readable.
# GRACE is seconds here, to keep the drill short; in production it is at
# least the longest TTL of a message in flight (OPERATIONS.md says which).
# usage: deploy/rotate-drill.sh WORK_DIR [PROVIDER_ID] [GRACE] [REFERRALS]
#        (defaults: shelter.xc, 20, 3)
set -euo pipefail

[ $# -ge 1 ] && [ $# -le 4 ] || {
  echo "usage: deploy/rotate-drill.sh WORK_DIR [PROVIDER_ID] [GRACE] [REFERRALS]" >&2
  exit 2
}
work=$(realpath -m -- "$1")
node=${2:-shelter.xc}
grace=${3:-20}
count=${4:-3}
[ -f "$work/pids" ] && [ -f "$work/network.json" ] || {
  echo "rotate-drill: no example network in $work (start one with deploy/demo.sh)" >&2
  exit 1
}
cd "$work"
# The daemons and the haven beside them, from the running network itself.
pid_of() { # pid_of CONFIG: the demo's daemon started with -c CONFIG
  local p
  for p in $(cat pids); do
    tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "-c $1 *$" && { echo "$p"; return 0; }
  done
  return 1
}
cfg=$(tr . - <<<"$node").ini
npid=$(pid_of "$cfg") || { echo "rotate-drill: $node's worker ($cfg) is not running" >&2; exit 1; }
haven=$(dirname "$(readlink "/proc/$npid/exe")")/haven
[ -x "$haven" ] || { echo "rotate-drill: no haven beside $(readlink "/proc/$npid/exe")" >&2; exit 1; }
grep -q "\"keys_file\": \"keys/$node.pub\"" network.json ||
  { echo "rotate-drill: network.json does not list keys/$node.pub for $node (rotated already?)" >&2; exit 1; }

failures=0
check() { # check WHAT CMD...: runs CMD, prints the verdict
  if "${@:2}" >/dev/null 2>&1; then echo "    ok    $1"; else echo "    FAIL  $1"; failures=$((failures + 1)); fi
}
step() { printf '\n--- %s\n' "$*"; }
run() { printf '$ haven %s\n' "$*"; "$haven" "$@"; }
wait_for() { # wait_for SECONDS CMD...: until CMD succeeds (bounded)
  local i
  for ((i = 0; i < $1 * 10; i++)); do "${@:2}" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
daemons() { # the pids of the brokers and workers (not haven-web: it holds no registry)
  local p
  for p in $(cat pids); do
    tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qE "haven-(broker|intake|router|provider) " &&
      echo "$p"
  done
}
version() { sed -n 's/^  "version": \([0-9]*\),$/\1/p' network.json; }
# sign_and_hand_out: the authority signs network.json as the next version,
# checks it, and every node reloads it (in the demo all share one file).
sign_and_hand_out() {
  local v
  v=$(($(version) + 1))
  sed -i "s/^  \"version\": [0-9]*,\$/  \"version\": $v,/" network.json
  run registry sign --authority keys/authority.key --in network.json --out network.next.reg
  run registry verify --authority keys/authority.pub network.next.reg
  mv network.next.reg network.reg
  echo "\$ kill -HUP <every broker and worker>"
  # shellcheck disable=SC2046 # one pid a word
  kill -HUP $(daemons)
  loaded() { [ "$(grep -c "registry_reload code=HV_OK version=$v \|registry_loaded version=$v " ./*.log |
    awk -F: '$2 > 0' | wc -l)" -ge "$(daemons | wc -l)" ]; }
  wait_for 15 loaded || { echo "!! not every daemon loaded version $v"; failures=$((failures + 1)); }
}
state_is() { "$haven" referral show --json --config ngo-xa.ini "$1" | grep -q "\"state\": \"$2\""; }
offer_is() { "$haven" inbox show --json --config "$cfg" "$1" | grep -q "\"offer\": \"$2\""; }
log=$(tr . - <<<"$node").log
refused_before=$(grep -c "event=message_refused" "$log" || true)
dead() { "$haven" deadletters list --json --key keys/ops.xc.key --authority keys/authority.pub \
           --registry network.reg --broker broker.xc --endpoint tcp://127.0.0.1:7303; }
dead_count() { # the dead letters at broker.xc, as its operators list them
  local out
  out=$(dead) || { echo "rotate-drill: ops.xc cannot list broker.xc's dead letters" >&2; return 1; }
  tr ',' '\n' <<<"$out" | grep -c '"id"' || true
}
dead_before=$(dead_count)
first_case=$("$haven" inbox list --json --config "$cfg" | grep -o '"id": "[0-9a-f]*"' | head -1 | cut -d'"' -f4 || true)

step "1. $node adds a key set; its current keys stay in use until the registry switches"
old_kid=$(sed -n 's/.*"key_id": "\([0-9a-f]*\)".*/\1/p' "keys/$node.pub")
run keygen --rotate --id "$node" --out keys
new_kid=$(sed -n 's/.*"key_id": "\([0-9a-f]*\)".*/\1/p' "keys/$node.next.pub")
# The authority keeps each node's published keys under their key id.
cp "keys/$node.pub" "keys/$node.$old_kid.pub"
mv "keys/$node.next.pub" "keys/$node.$new_kid.pub"
echo "\$ kill -HUP $npid   # $node reads its key file again"
kill -HUP "$npid"
echo "    old key set $old_kid, new key set $new_kid"

step "2. The authority lists the new set as next_keys (registry v$(($(version) + 1))): the broker admits its transport key"
sed -i "s|^\(      \"keys_file\": \"keys/$node.pub\",\)\$|\1\n      \"next_keys_file\": \"keys/$node.$new_kid.pub\",|" network.json
sign_and_hand_out
check "$node connects with its next transport key" wait_for 15 grep -q "event=client_transport_key node=$node" "$log"
check "$node is connected to its broker again" wait_for 15 \
  sh -c "'$haven' status --json --config '$cfg' | grep -q '\"broker_ready\": true'"

step "3. Referrals flow: $count submitted, their offers and cases sealed to the old key; the authority switches (v$(($(version) + 1)))"
cp "$work/case.json" drill-case.json
ids=()
for ((k = 0; k < count; k++)); do
  ids+=("$("$haven" referral submit --json --config ngo-xa.ini drill-case.json | sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p' | head -n 1)")
done
echo "    submitted: ${ids[*]}"
for id in "${ids[@]}"; do wait_for 20 offer_is "$id" offered || true; done
# Half are accepted before the switch (their cases are sealed to the old
# key and may be in flight at the switch), the others after it.
half=$((count / 2))
for id in "${ids[@]:0:$half}"; do "$haven" inbox accept --config "$cfg" "$id" >/dev/null; done
until_s=$(($(date -u +%s) + grace))
until_t=$(date -u -d "@$until_s" +%Y-%m-%dT%H:%M:%SZ)
sed -i -e "s|^      \"keys_file\": \"keys/$node.pub\",\$|      \"keys_file\": \"keys/$node.$new_kid.pub\",|" \
       -e "s|^      \"next_keys_file\": \"keys/$node.$new_kid.pub\",\$|      \"previous_keys_file\": \"keys/$node.$old_kid.pub\", \"previous_until\": \"$until_t\",|" \
       network.json
sign_and_hand_out
for id in "${ids[@]:$half}"; do "$haven" inbox accept --config "$cfg" "$id" >/dev/null; done
for id in "${ids[@]}"; do
  check "referral $id received by $node" wait_for 30 state_is "$id" received
done
check "each case opened exactly once by $node" sh -c "for id in ${ids[*]}; do
  [ \$(grep -c \"event=message_received type=CASE_TRANSFER from=ngo.xa referral=\$id \" '$log') = 1 ] || exit 1; done"

step "4. After the grace ($grace s, until $until_t) $node destroys its old secrets by itself"
check "$node logged keys_destroyed key_id=$old_kid" wait_for $((grace + 30)) \
  grep -q "event=keys_destroyed key_id=$old_kid " "$log"
check "the key file holds the new set" grep -q "^set $new_kid\$" "keys/$node.key"
check "the key file no longer holds the old set" sh -c "! grep -q '$old_kid' 'keys/$node.key'"
check "no message refused by $node during the drill" \
  test "$(grep -c "event=message_refused" "$log" || true)" = "$refused_before"
check "no new dead letter at broker.xc" test "$(dead_count)" = "$dead_before"
if [ -n "$first_case" ]; then
  check "a case received before the rotation ($first_case) still opens" \
    sh -c "'$haven' inbox show --config '$cfg' '$first_case' | grep -q '\"given\"'"
fi

step "The drill is over: $node's keys are $new_kid (registry v$(version))"
if [ "$failures" -eq 0 ]; then
  echo "every check passed"
else
  echo "$failures check(s) failed: see $work/*.log"
  exit 1
fi
