#!/usr/bin/env bash
# Forward secrecy for what rests in stores (issue 19), with real daemons on
# one broker:
#  1. every worker publishes a signed prekey bundle, and the intake learns
#     shelter B's;
#  2. stolen_store_copy_unreadable_after_prekey_destroyed: a CASE_TRANSFER
#     copied from the broker's store while shelter B is down opens with
#     shelter B's keys at first (the test can fail), is delivered when
#     shelter B comes back, and once the prekey it was sealed to is
#     destroyed, no key shelter B still holds — its key file, and every
#     prekey secret left in its store — opens the copy: HV_ECRYPTO, and the
#     destroyed secrets are in none of shelter B's files;
#  3. the broker refuses, with exact codes, a bundle signed by the wrong
#     key, one under a key id that is not the node's, and one a node puts
#     for another node; an honest one it confirms.
# usage: test_prekeys.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
put="$bin/prekey_put"
open_with="$bin/prekey_open"
# Shelter B makes a prekey every 3 s and honours what was sealed to one for
# 20 s after senders stop using it: a secret lives at most 26 s.
cat >> shelter-b.ini <<EOF
[prekeys]
lifetime_s = 3
keep_s = 20
EOF
cp "$example" adult.json
for n in broker router shelter-a shelter-b intake; do start "$n"; done

# ---- 1. bundles published and learnt
newest() { "$haven" status --json --config "$1.ini" | jq -r .result.prekeys.newest; }
knows() { # knows WORKER NODE: WORKER holds a bundle of NODE
  [ "$("$haven" status --json --config "$1.ini" | jq -r ".result.prekeys.known[\"$2\"] // empty")" != "" ]
}
published() { [ "$("$haven" status --json --config "$1.ini" | jq -r .result.prekeys.published)" -gt 0 ]; }
wait_until 10 published shelter-b
wait_until 10 knows intake shelter-b.xc
wait_until 10 knows router shelter-b.xc
got=$(newest shelter-b)
[[ $got =~ ^[0-9a-f]{16}$ ]] && ok || bad "shelter B's newest prekey id: '$got'"
expect 0 "prekey_stored node=shelter-b.xc" grep -m1 -o "prekey_stored node=shelter-b.xc" broker.log
expect 0 "prekeys: 1 held, newest $(newest shelter-a), bundles of " "$haven" status --config shelter-a.ini

# ---- 2. stolen_store_copy_unreadable_after_prekey_destroyed
id=$(submit adult.json)
[ ${#id} -eq 32 ] && ok || bad "submit gave no id: '$id'"
wait_until 20 is offered offer_state shelter-a "$id"
expect 0 "declined" "$haven" inbox decline --config shelter-a.ini "$id" --reason no_capacity
wait_until 20 is offered offer_state shelter-b "$id"
# The intake is down when the router's MATCH comes, and shelter B is down
# when the intake, started again, sends the case: it waits at the broker.
stop intake
expect 0 "accepted" "$haven" inbox accept --config shelter-b.ini "$id"
wait_until 10 is 0 outbox shelter-b
matches() {
  sqlite3 broker.db "SELECT count(*) FROM queue WHERE recipient = 'ngo.xc' AND type = 5"
}
wait_until 20 is 1 matches
stop shelter-b
start intake
transfers() {
  sqlite3 broker.db "SELECT count(*) FROM queue WHERE recipient = 'shelter-b.xc' AND type = 7"
}
wait_until 20 is 1 transfers
# The thief's copy, taken from the broker's store before delivery.
sqlite3 broker.db "SELECT hex(b.envelope) FROM queue q JOIN bodies b ON b.seq = q.seq
  WHERE q.recipient = 'shelter-b.xc' AND q.type = 7" |
  xxd -r -p > stolen.env
[ "$(stat -c %s stolen.env)" -gt 1000 ] && ok || bad "the copied envelope is $(stat -c %s stolen.env) bytes"
# Shelter B's prekey secrets as they rest in its store now (sealed under its
# storage key): those destroyed later must be in none of its files then.
sqlite3 shelter-b.db "SELECT hex(id) || ' ' || hex(secret) FROM prekey_own" > secrets.txt
[ "$(wc -l < secrets.txt)" -ge 1 ] && ok || bad "shelter B's store holds no prekey"
# ...and the search below finds them while they are there (it can fail).
python3 -c 'import os, sys
files = b"".join(open(f, "rb").read() for f in ("shelter-b.db", "shelter-b.db-wal") if os.path.exists(f))
sys.exit(0 if all(bytes.fromhex(l.split()[1]) in files for l in open("secrets.txt")) else 1)' &&
  ok || bad "a prekey secret of the store is not found in its files"
# While the prekey's secret exists, shelter B's keys open it: the check below can fail.
out=$("$open_with" shelter-b.ini stolen.env)
[ $? -eq 0 ] && [[ $out == "opened held="* ]] && ok || bad "before destruction: '$out'"
# It was sealed to a prekey, not to the long-term key, although the intake
# had just started: its broker follows READY with the bundles it holds.
[ "$(grep -c 'event=sealed_long_term' intake.log)" = 0 ] && ok ||
  bad "the intake sealed to a long-term key: $(grep -m1 'event=sealed_long_term' intake.log)"
start shelter-b
wait_until 20 is received case_state shelter-b "$id"
wait_until 20 is received intake_state "$id"
# Once its prekey is destroyed (at most 26 s after it was made), nothing
# shelter B still holds opens the copy.
not_opened() { ! "$open_with" shelter-b.ini stolen.env >/dev/null 2>&1; }
wait_until 40 not_opened
out=$("$open_with" shelter-b.ini stolen.env)
rc=$?
[ $rc -eq 1 ] && [[ $out == "HV_ECRYPTO: held="* ]] && ok || bad "after destruction: rc $rc '$out'"
held=${out#*held=}
[ "${held:-0}" -ge 1 ] && ok || bad "shelter B holds no prekey at all ($out): the test proves less"
expect 0 "prekey_destroyed" grep -m1 -o "prekey_destroyed" shelter-b.log
# What was destroyed is gone from the store's file and its write-ahead log
# (secure_delete, and the log truncated after the commit that deleted it).
secrets_gone() {
  python3 - shelter-b.db secrets.txt <<'PY'
import os, sqlite3, sys
db, listing = sys.argv[1], sys.argv[2]
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
live = {r[0] for r in con.execute("SELECT hex(id) FROM prekey_own")}
con.close()
files = b"".join(open(f, "rb").read() for f in (db, db + "-wal") if os.path.exists(f))
gone = [l.split() for l in open(listing) if l.split()[0] not in live]
sys.exit(0 if gone and all(bytes.fromhex(sec) not in files for _, sec in gone) else 1)
PY
}
wait_until 30 secrets_gone
# The case itself stays readable to shelter B (its vault, not the envelope).
expect 0 "received" "$haven" inbox show --config shelter-b.ini "$id"

# ---- 3. refusals at the broker (as other.xc, an intake not running here)
ep=$(jq -r '.nodes[] | select(.id == "broker.xc") | .endpoints.workers' network.json)
out=$("$put" keys/other.xc.key keys/broker.xc.pub "$ep" other.xc keys/other.xc.pub keys/other.xc.key)
[ "$out" = "PREKEY" ] && ok || bad "an honest bundle: '$out'"
bundle_signed_by_wrong_key_refused() {
  expect 0 "PREKEY_REFUSED HV_ECRYPTO: the bundle's signature does not verify with the registered signing key of 'other.xc'" \
    "$put" keys/other.xc.key keys/broker.xc.pub "$ep" other.xc keys/other.xc.pub keys/legal.xc.key
}
bundle_signed_by_wrong_key_refused
bundle_under_old_key_id_refused() {
  expect 0 "PREKEY_REFUSED HV_EADDRESS: the bundle is not signed under the current key id of 'other.xc'" \
    "$put" keys/other.xc.key keys/broker.xc.pub "$ep" other.xc keys/legal.xc.pub keys/other.xc.key
}
bundle_under_old_key_id_refused
bundle_for_another_node_refused() {
  expect 0 "PREKEY_REFUSED HV_EAUTH: a node publishes only its own bundles, at its home broker ('broker.xc')" \
    "$put" keys/other.xc.key keys/broker.xc.pub "$ep" legal.xc keys/legal.xc.pub keys/legal.xc.key
}
bundle_for_another_node_refused
expect 0 "event=prekey_refused from=other.xc code=HV_ECRYPTO" \
  grep -m1 -o "event=prekey_refused from=other.xc code=HV_ECRYPTO" broker.log

stop_all_and_check_logs
finish
