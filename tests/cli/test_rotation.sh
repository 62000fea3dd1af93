#!/usr/bin/env bash
# Key rotation without loss (issue 19), on real daemons: brokers broker.xa
# and broker.xc peered on loopback, the intake ngo.xa at XA, the router and
# shelter-a.xc (the node that rotates) at XC. Sections, each named after
# what it shows:
#  rotation_keeps_mail_in_flight: with the registry at v2 (shelter-a's next
#    keys listed), messages sealed to shelter-a's old key wait at every hop
#    when v3 switches its keys: in the sender's outbox (its broker down), on
#    the peer link (the peer broker down), in the broker's queue (shelter-a
#    down), and at the recipient (delivered to it, which dies before its
#    ACK and restarts with the new keys current; and an offer it holds
#    across the restart); each arrives exactly once and opens, no dead
#    letters, and the cases that follow come sealed to the new key. The
#    rotating node's own STATUS, signed by its old key and left in its
#    outbox, passes custody and verifies at the intake after the switch.
#  vault_survives_rotation: a case received before the rotation still shows
#    after the old secrets are destroyed.
#  old_secrets_destroyed_after_grace: after previous_until the old set
#    leaves the key file (keys_destroyed logged), as it leaves a copy of the
#    file that `haven keygen --prune` is run on; an envelope sealed to it is
#    refused by the broker (HV_EADDRESS).
#  compromised_key_stops_at_once: a registry with new keys and no previous
#    keys: the worker destroys the old secrets at once, what waited in the
#    broker's queue sealed to the old key is refused by the recipient
#    (HV_EADDRESS, a dead letter, the intake's history says so), the old
#    transport key is refused at the broker's door.
# usage: test_rotation.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/fed_lib.sh"
# A failure names the section it belongs to, which is named after what it shows.
section=setup
bad() { echo "FAIL [$section]: $*"; failures=$((failures + 1)); }
example=$(realpath "$2")
fed_setup "$1" 127.0.0.1 127.0.0.1 127.0.0.1
cp "$example" adult.json
# Only shelter A is on the pathway: every offer goes to it.
sed -i 's/^shelter = .*/shelter = shelter-a.xc/' router.ini
# The grace period of the old keys after the switch (seconds).
grace=30

# registry VERSION JQ_FILTER: a new signed registry from network.json.
registry() {
  local now from until
  jq --argjson v "$1" ".version = \$v | $2" network.json > network.next &&
    mv network.next network.json &&
    "$haven" registry sign --authority keys/authority.key --in network.json --out network.reg \
      >/dev/null || bad "registry v$1 not signed"
  cp network.reg "network-v$1.reg"
}
# hup NAME...: SIGHUP to the running daemons, each waited for until it holds
# the registry's version.
hup() {
  local v name
  v=$(jq -r .version network.json)
  for name in "$@"; do
    [ -n "${pids[$name]:-}" ] || continue
    kill -HUP "${pids[$name]}"
    case $name in
      broker*) wait_until 10 grep -q "event=registry_loaded version=$v " "$name.log" ;;
      *) wait_until 10 grep -q "event=registry_loaded version=$v " "$name.log" ;;
    esac
  done
}
kid_of() { jq -r .key_id "$1"; }
queued_for() { # queued_for BROKER RECIPIENT TYPE: envelopes of TYPE in BROKER's queue
  sqlite3 "$1.db" "SELECT count(*) FROM queue WHERE recipient = '$2' AND type = $3"
}
dead_letters() { sqlite3 "$1.db" "SELECT count(*) FROM dead_letters"; }
accept() { "$haven" inbox accept --config shelter-a.ini "$1" >/dev/null || bad "accept $1"; }
received_once() { # received_once TYPE ID: shelter A handled TYPE of ID exactly once
  local n
  n=$(grep -c "event=message_received type=$1 from=[^ ]* referral=$2 " shelter-a.log)
  [ "$n" = 1 ] && ok || bad "shelter A received $1 of $2 $n times"
}
in_flight_at() { [ "$("$@")" -ge 1 ]; }

for n in broker-xa broker-xc router shelter-a intake; do start "$n"; done
wait_until 10 grep -q "event=peer_up node=broker.xc direction=out" broker-xa.log

# ---- before: R0 completes (its case stays at shelter A), R2 and R3 are
# received (to be withdrawn in flight), R4 is offered (held at shelter A).
ids=()
for k in 0 2 3 4; do ids[$k]=$(submit adult.json); done
for k in 0 2 3 4; do wait_until 15 is offered offer_state shelter-a "${ids[$k]}"; done
for k in 0 2 3; do accept "${ids[$k]}"; done
for k in 0 2 3; do wait_until 15 is received intake_state "${ids[$k]}"; done
old_kid=$(kid_of keys/shelter-a.xc.pub)
cp keys/shelter-a.xc.pub k1.pub

# ---- rotation_keeps_mail_in_flight
section=rotation_keeps_mail_in_flight
# (1) the node adds a key set; (2) the authority lists it as next (v2).
expect 0 "wrote keys/shelter-a.xc.next.pub" "$haven" keygen --rotate --id shelter-a.xc --out keys
mv keys/shelter-a.xc.next.pub k2.pub
new_kid=$(kid_of k2.pub)
[ "$(grep -c '^set ' keys/shelter-a.xc.key)" = 2 ] && ok || bad "the key file does not hold two sets"
registry 2 '(.nodes[] | select(.id == "shelter-a.xc")) += {"next_keys_file": "k2.pub"}'
hup broker-xa broker-xc router intake shelter-a
# Shelter A moves to its next transport key at once, and is admitted with it.
wait_until 10 grep -q "event=client_transport_key node=shelter-a.xc" shelter-a.log
wait_until 10 connected shelter-a
# At the recipient: shelter A frozen (SIGSTOP), the broker delivers R7's
# offer to it, and it dies (SIGKILL) before acknowledging it.
kill -STOP "${pids[shelter-a]}"
ids[7]=$(submit adult.json)
delivered_unacked() {
  [ "$(sqlite3 broker-xc.db "SELECT count(*) FROM queue WHERE recipient = 'shelter-a.xc' AND
    type = 2 AND attempts >= 1")" = 1 ]
}
wait_until 15 delivered_unacked
kill9 shelter-a
# The broker queue: shelter A down, the router's offer of R1 waits for it.
ids[1]=$(submit adult.json)
wait_until 15 is 2 queued_for broker-xc shelter-a.xc 2
# The peer link: broker.xc down, the intake's WITHDRAW of R2 waits at XA.
stop broker-xc
expect 0 "withdraw_requested" "$haven" referral withdraw --config intake.ini "${ids[2]}" \
  --reason "consent withdrawn by the person"
wait_until 15 in_flight_at queued_for broker-xa @broker.xc 10
# The rotating node as a sender: shelter A, started with its broker down,
# reports R0 in progress; the STATUS, signed by its old (still current) key,
# waits in its outbox while it is stopped again.
started=$(grep -c "event=worker_started" shelter-a.log)
"$bin/haven-provider" -c shelter-a.ini 2>> shelter-a.log &
pids[shelter-a]=$!
wait_until 10 is $((started + 1)) grep -c "event=worker_started" shelter-a.log
expect 0 "status in_progress sent to ngo.xa" "$haven" inbox status --config shelter-a.ini "${ids[0]}" --state in_progress
wait_until 10 is 1 outbox shelter-a
stop shelter-a
# The sender's outbox: broker.xa down, the WITHDRAW of R3 waits at the intake.
stop broker-xa
expect 0 "withdraw_requested" "$haven" referral withdraw --config intake.ini "${ids[3]}" \
  --reason "consent withdrawn by the person"
wait_until 10 in_flight_at outbox intake
# (3) the switch: v3 makes the new set current, the old one previous.
until_s=$(( $(date -u +%s) + grace ))
until_t=$(date -u -d "@$until_s" +%Y-%m-%dT%H:%M:%SZ)
registry 3 "(.nodes[] | select(.id == \"shelter-a.xc\")) |= (del(.next_keys_file) |
  .keys_file = \"k2.pub\" | .previous_keys_file = \"k1.pub\" | .previous_until = \"$until_t\")"
hup router intake
# Everything comes back: outbox to XA, XA to XC over the link, XC's queue
# to shelter A, which restarts with the new keys current.
start broker-xa
wait_until 10 is 0 outbox intake
start broker-xc
start shelter-a
wait_until 15 is offered offer_state shelter-a "${ids[1]}"
wait_until 15 is offered offer_state shelter-a "${ids[7]}"
wait_until 15 is withdrawn intake_state "${ids[2]}"
wait_until 15 is withdrawn intake_state "${ids[3]}"
received_once OFFER "${ids[1]}"
received_once OFFER "${ids[7]}"
received_once WITHDRAW "${ids[2]}"
received_once WITHDRAW "${ids[3]}"
# The offer held at the recipient across its restart, and the one that
# waited in the queue: accepted now, their cases come sealed to the new key.
accept "${ids[4]}"
accept "${ids[1]}"
accept "${ids[7]}"
for k in 4 1 7; do
  wait_until 15 is received intake_state "${ids[$k]}"
  received_once CASE_TRANSFER "${ids[$k]}"
done
# The STATUS signed by the old key passed custody and verified at the intake.
wait_until 15 is in_progress intake_state "${ids[0]}"
n=$(grep -c "event=message_received type=STATUS from=shelter-a.xc referral=${ids[0]} " intake.log)
[ "$n" = 1 ] && ok || bad "the intake received shelter A's STATUS $n times"
for b in broker-xa broker-xc; do
  [ "$(dead_letters "$b")" = 0 ] && ok || bad "$b has $(dead_letters "$b") dead letters"
done
[ "$(sqlite3 shelter-a.db "SELECT count(*) FROM refused")" = 0 ] && ok ||
  bad "shelter A refused: $(sqlite3 shelter-a.db "SELECT reason FROM refused")"
# Both sets are held during the grace period; the new one signs.
[ "$(grep -c '^set ' keys/shelter-a.xc.key)" = 2 ] && ok || bad "the old set left before its grace ended"
# A copy of the key file as it is now, for haven keygen --prune below.
mkdir -p pruned && cp -p keys/shelter-a.xc.key pruned/
expect 0 "holds no spent key set" "$haven" keygen --prune --id shelter-a.xc --out pruned \
  --authority keys/authority.pub --registry network.reg

# ---- old_secrets_destroyed_after_grace
section=old_secrets_destroyed_after_grace
wait_until $((grace + 15)) grep -q "event=keys_destroyed key_id=$old_kid " shelter-a.log
[ "$(grep -c '^set ' keys/shelter-a.xc.key)" = 1 ] && ok || bad "the key file holds $(grep -c '^set ' keys/shelter-a.xc.key) sets"
grep -q "^set $new_kid\$" keys/shelter-a.xc.key && ok || bad "the new set is not in the key file"
grep -q "$old_kid" keys/shelter-a.xc.key && bad "the old key id is still in the key file" || ok
[ "$(stat -c %a keys/shelter-a.xc.key)" = 600 ] && ok || bad "the key file's mode changed"
[ -e keys/shelter-a.xc.key.new ] && bad "a .new file was left" || ok
# What an administrator runs where the worker may not write its key file.
expect 0 "destroyed key set $old_kid" "$haven" keygen --prune --id shelter-a.xc --out pruned \
  --authority keys/authority.pub --registry network.reg
cmp -s pruned/shelter-a.xc.key keys/shelter-a.xc.key && ok || bad "--prune left another file than the worker"
# Sealed to the old key after its grace (with the v2 registry, where it was
# current): refused by the broker, never delivered.
printf 'not a real body\n' > late.txt
"$haven" seal --key keys/router.xc.key --authority keys/authority.pub --registry network-v2.reg \
  --to shelter-a.xc --type OFFER --in late.txt --out late.env 2>/dev/null || bad "seal to the old key"
stop router
expect 1 "to_kid is not a key id the registry lists for the recipient (HV_EADDRESS)" \
  "$haven" send --key keys/router.xc.key --authority keys/authority.pub --registry network.reg \
  --store late.db --timeout 10 late.env
start router

# ---- vault_survives_rotation
section=vault_survives_rotation
expect 0 '"given": "Amina"' "$haven" inbox show --config shelter-a.ini "${ids[0]}"
is in_progress case_state shelter-a "${ids[0]}" && ok || bad "R0's case is not in progress at shelter A"

# ---- compromised_key_stops_at_once
section=compromised_key_stops_at_once
# A WITHDRAW sealed to the current key (now to be called compromised) waits
# in broker.xc's queue with shelter A down.
cp keys/shelter-a.xc.key k2.key
expect 0 "wrote keys/shelter-a.xc.next.pub" "$haven" keygen --rotate --id shelter-a.xc --out keys
mv keys/shelter-a.xc.next.pub k3.pub
k3_kid=$(kid_of k3.pub)
ids[5]=$(submit adult.json)
wait_until 15 is offered offer_state shelter-a "${ids[5]}"
accept "${ids[5]}"
wait_until 15 is received intake_state "${ids[5]}"
stop shelter-a
expect 0 "withdraw_requested" "$haven" referral withdraw --config intake.ini "${ids[5]}" \
  --reason "consent withdrawn by the person"
wait_until 15 in_flight_at queued_for broker-xc shelter-a.xc 10
# The authority: the new keys at once, no previous keys.
registry 4 '(.nodes[] | select(.id == "shelter-a.xc")) |= (del(.previous_keys_file) |
  del(.previous_until) | .keys_file = "k3.pub")'
hup broker-xa broker-xc router intake
start shelter-a
wait_until 10 grep -q "event=keys_destroyed key_id=$new_kid " shelter-a.log
[ "$(grep -c '^set ' keys/shelter-a.xc.key)" = 1 ] && grep -q "^set $k3_kid\$" keys/shelter-a.xc.key &&
  ok || bad "the compromised set is still in the key file"
wait_until 15 grep -q "event=message_refused type=WITHDRAW from=ngo.xa referral=${ids[5]} code=HV_EADDRESS" shelter-a.log
[ "$(sqlite3 shelter-a.db "SELECT code FROM refused")" = 24 ] && ok || bad "shelter A's refusal is not HV_EADDRESS"
dead_is() { [ "$(sqlite3 broker-xc.db "SELECT code || ' ' || type FROM dead_letters")" = "24 10" ]; }
wait_until 10 dead_is
has_notice() { "$haven" referral show --config intake.ini "$1" | grep -q "WITHDRAW to shelter-a.xc not delivered: .*(HV_EADDRESS)"; }
wait_until 15 has_notice "${ids[5]}"
# The old (compromised) transport key is refused at the door: nothing
# connects with it, nothing is stored.
"$haven" seal --key k2.key --authority keys/authority.pub --registry network-v3.reg \
  --to ngo.xa --type STATUS --in late.txt --out stolen.env 2>/dev/null || bad "seal with the stolen key"
expect 1 "not yet stored by the broker" "$haven" send --key k2.key --authority keys/authority.pub \
  --registry network.reg --store stolen.db --timeout 3 stolen.env
# The new keys work: a new referral completes.
ids[6]=$(submit adult.json)
wait_until 15 is offered offer_state shelter-a "${ids[6]}"
accept "${ids[6]}"
wait_until 15 is received intake_state "${ids[6]}"

stop_all_and_check_logs
finish
