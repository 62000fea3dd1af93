#!/usr/bin/env bash
# The restore drill of docs/OPERATIONS.md, on a broker that carries
# referrals: a backup taken while it runs, more referrals after it, the
# broker stopped, its store restored, the broker started again. The broker
# carries on from the backup: the offers its store held unacknowledged then
# come again through custody (delivered once more, deduplicated by the
# provider), the referrals made after the backup stay where they were
# delivered, and nothing is lost or doubled at any worker. Then what a
# restore refuses: a running daemon's store, a backup of another node, a
# file that is no backup, and a backup over an existing file. Then a worker
# restored from a backup taken while it ran: its broker's replay window
# gives back what it received after the backup, so that it carries on
# exactly as before the loss; and a withdrawn referral leaves nothing in
# that window, down to the bytes of the broker's database and WAL.
# usage: test_backup_restore.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
# Shelter A has four places (issue 21: the fifth referral finds it full).
printf '[provider]\nplaces = 4\n' >> shelter-a.ini
cp "$example" adult.json
for n in broker router intake; do start "$n"; done

queued() { sqlite3 broker.db "SELECT count(*) FROM queue${1:+ WHERE recipient = '$1'}"; }
offered_count() {
  "$haven" inbox list --json --config shelter-a.ini | jq '[.result.inbox[] | select(.offer == "offered")] | length'
}
referral_count() { "$haven" referral list --json --config intake.ini | jq '.result.referrals | length'; }
counter() {
  "$haven" stats --json --key keys/ops.xc.key --authority keys/authority.pub --registry network.reg \
    --broker broker.xc --endpoint "$ops_endpoint" | jq -r ".counters.$1"
}

# Before the backup: two referrals whose offers wait at the broker for
# shelter A, which is not running; nothing else is in custody.
ids_before=()
for i in 1 2; do ids_before+=("$(submit adult.json)"); done
wait_until 20 is 2 queued shelter-a.xc
wait_until 20 is 2 queued
expect 0 "backed up the store of broker broker.xc" \
  "$haven" backup --config broker.ini --out broker.backup
[ "$(stat -c %a broker.backup)" = 600 ] && ok || bad "the backup is not mode 0600"
expect 1 "HV_EEXIST" "$haven" backup --config broker.ini --out broker.backup

# After the backup: shelter A takes its two offers, two more referrals are
# offered to it; all of it delivered and acknowledged.
start shelter-a
ids_after=()
for i in 1 2; do ids_after+=("$(submit adult.json)"); done
wait_until 20 is 4 offered_count
wait_until 20 is 0 queued

# A restore refuses what it must.
expect 1 "HV_ESTORE" "$haven" restore --config broker.ini --in broker.backup
expect 1 "in use: stop broker.xc's daemon first" "$haven" restore --config broker.ini --in broker.backup
stop shelter-a
expect 0 "backed up the store of worker shelter-a.xc" \
  "$haven" backup --config shelter-a.ini --out shelter-a.backup
stop broker
expect 1 "HV_EADDRESS" "$haven" restore --config broker.ini --in shelter-a.backup
expect 1 "is a backup of worker shelter-a.xc, not of broker broker.xc" \
  "$haven" restore --config broker.ini --in shelter-a.backup
expect 1 "HV_EDECODE" "$haven" restore --config broker.ini --in network.json
expect 1 "not a Haven backup (no haven_backup table)" \
  "$haven" restore --config broker.ini --in router.db
expect 1 "HV_ENOTFOUND" "$haven" restore --config broker.ini --in no-such.backup
expect 2 "usage" "$haven" restore --config broker.ini
# Nothing above touched the stopped broker's store: still empty.
[ "$(queued)" = 0 ] && ok || bad "a refused restore changed the store"

# The restore itself, as after a lost disk (the store gone, the audit log
# copied back), then the broker again.
rm -f broker.db broker.db-wal broker.db-shm
expect 0 "restored the store of broker broker.xc" \
  "$haven" restore --config broker.ini --in broker.backup
[ "$(queued shelter-a.xc)" = 2 ] && ok || bad "the restored store holds $(queued shelter-a.xc) offers"
sqlite3 broker.db "SELECT name FROM sqlite_master" | grep -qx haven_backup &&
  bad "the restored store kept the backup's own table" || ok
[ "$(sqlite3 broker.db 'PRAGMA journal_mode')" = wal ] && ok || bad "restored store not in WAL mode"
start broker
start shelter-a
# The two offers the backup held come again: delivered, deduplicated by
# shelter A (which acknowledges them without handling them twice).
wait_until 20 is 0 queued
wait_until 10 is 2 counter acked
[ "$(counter delivered)" = 2 ] && ok || bad "delivered $(counter delivered) after the restore"

# Exactly once at every worker: four referrals at the intake, four offers at
# shelter A, each with one "offered" in its history.
[ "$(referral_count)" = 4 ] && ok || bad "intake lists $(referral_count) referrals"
[ "$(offered_count)" = 4 ] && ok || bad "shelter A lists $(offered_count) offers"
for id in "${ids_before[@]}" "${ids_after[@]}"; do
  got=$("$haven" inbox show --json --config shelter-a.ini "$id" | jq -r '.result.history[].state' | tr '\n' ' ')
  [ "$got" = "offered " ] && ok || bad "shelter A history of $id: $got"
done

# The network carries on: a fifth referral, and an offer accepted.
start shelter-b
id5=$(submit adult.json)
wait_until 20 is offered offer_state shelter-b "$id5" # shelter A is full (4 places)
expect 0 "" "$haven" inbox accept --config shelter-a.ini "${ids_before[0]}"
wait_until 20 is received case_state shelter-a "${ids_before[0]}"
wait_until 20 is received intake_state "${ids_before[0]}"
[ "$(referral_count)" = 5 ] && ok || bad "intake lists $(referral_count) referrals"
# The broker's audit log went on from where it was: the chain is intact.
expect 0 "chain intact" "$haven" audit verify broker.db.audit

# A worker's restore (docs/OPERATIONS.md, "A restored worker"): shelter A is
# backed up while it runs, after it accepted two offers and before their
# cases came (the intake is stopped meanwhile); the cases come after the
# backup. Its store lost, shelter A is restored and started again: its broker
# replays from the replay window what it acknowledged since the backup (less
# ten minutes), its seen ids drop what it had, and it is exactly as it was
# before the loss, each message handled once.
stop intake
for id in "${ids_before[1]}" "${ids_after[0]}"; do
  expect 0 "" "$haven" inbox accept --config shelter-a.ini "$id"
done
wait_until 20 is 0 outbox shelter-a # both ACCEPTs in the broker's custody
expect 0 "backed up the store of worker shelter-a.xc" \
  "$haven" backup --config shelter-a.ini --out shelter-a-live.backup
start intake
for id in "${ids_before[1]}" "${ids_after[0]}"; do
  wait_until 20 is received case_state shelter-a "$id"
  wait_until 20 is received intake_state "$id"
done
wait_until 20 is 0 queued
# What shelter A knows, and the intake: every referral's states and the
# states of its history (times aside: a replayed case is handled anew).
view() {
  "$haven" inbox list --json --config shelter-a.ini |
    jq -c '[.result.inbox[] | {id, router, intake, offer, case, respond_by, offered_at}] | sort_by(.id)'
  local id
  for id in "${ids_before[@]}" "${ids_after[@]}"; do
    "$haven" inbox show --json --config shelter-a.ini "$id" | jq -c '[.result.history[] | [.state, .by, .detail]]'
    "$haven" referral show --json --config intake.ini "$id" | jq -c '[.result.state, [.result.history[] | [.state, .by]]]'
  done
}
before_loss=$(view)
case_rows() { sqlite3 shelter-a.db "SELECT count(*) FROM cases"; }
[ "$(case_rows)" = 3 ] && ok || bad "shelter A holds $(case_rows) cases before the loss"
replayed_before=$(counter replayed)
dead_count() {
  "$haven" deadletters list --json --key keys/ops.xc.key --authority keys/authority.pub \
    --registry network.reg --broker broker.xc --endpoint "$ops_endpoint" | jq '.dead_letters | length'
}
dead_before=$(dead_count)
[ -n "$dead_before" ] && ok || bad "no dead letter count"

stop shelter-a
rm -f shelter-a.db shelter-a.db-wal shelter-a.db-shm
expect 0 "asks its broker to deliver again what it acknowledged since" \
  "$haven" restore --config shelter-a.ini --in shelter-a-live.backup
[ "$(sqlite3 shelter-a.db 'SELECT count(*) FROM replay_request')" = 1 ] && ok ||
  bad "the restored store asks for no replay"
[ "$(case_rows)" = 1 ] && ok || bad "the backup holds $(case_rows) cases, not the one before it"
log_at=$(wc -c < broker.log)
start shelter-a
for id in "${ids_before[1]}" "${ids_after[0]}"; do
  wait_until 20 is received case_state shelter-a "$id"
done
wait_until 20 is 0 queued
# The broker's log and counters show the replay: the two cases, and what
# shelter A acknowledged in the ten minutes before the backup.
replay_line=$(tail -c +"$((log_at + 1))" broker.log | grep -m1 "event=replay node=shelter-a.xc")
replay_count=$(sed -n 's/.* count=\([0-9]*\).*/\1/p' <<<"$replay_line")
[ "${replay_count:-0}" -ge 2 ] && ok || bad "the broker's replay: '$replay_line'"
[ $(( $(counter replayed) - replayed_before )) = "$replay_count" ] && ok ||
  bad "counters.replayed moved by $(( $(counter replayed) - replayed_before )), not $replay_count"
# The request was answered and forgotten: a restart asks for nothing.
wait_until 10 is 0 sqlite3 shelter-a.db 'SELECT count(*) FROM replay_request'
# Exactly as before the loss, at shelter A and at the intake; no repeat.
after_restore=$(view)
[ "$after_restore" = "$before_loss" ] && ok ||
  bad "after the restore: $(diff <(echo "$before_loss") <(echo "$after_restore"))"
[ "$(case_rows)" = 3 ] && ok || bad "restored shelter A holds $(case_rows) cases"
# Nothing refused anywhere: the intake took shelter A's repeated receipts as
# the ones it had, and no replayed message became a dead letter.
[ "$(dead_count)" = "$dead_before" ] && ok || bad "dead letters went from $dead_before to $(dead_count)"

# A withdrawn case does not live on in the window: once the intake withdraws
# a referral and shelter A confirms the erasure, the broker keeps none of its
# envelopes, and neither the case's ciphertext nor the referral id is left
# in the broker's database or its WAL (after the broker's own checkpoint).
wid=${ids_before[1]}
kept_of() { sqlite3 broker.db "SELECT count(*) FROM delivered WHERE lower(hex(referral)) = '$wid'"; }
[ "$(kept_of)" -ge 4 ] && ok || bad "the window keeps $(kept_of) envelopes of $wid" # offer, accept, match, case, receipt
case_hex=$(sqlite3 broker.db "SELECT hex(substr(b.envelope, length(b.envelope) - 400, 96)) \
  FROM delivered d JOIN bodies b ON b.seq = d.seq WHERE lower(hex(d.referral)) = '$wid' AND d.type = 7")
[ ${#case_hex} = 192 ] && ok || bad "no CASE_TRANSFER of $wid in the window"
expect 0 "withdraw_requested" "$haven" referral withdraw --config intake.ini "$wid" \
  --reason "consent withdrawn by the person"
wait_until 20 is withdrawn intake_state "$wid"
wait_until 20 is 0 queued
[ "$(kept_of)" = 0 ] && ok || bad "the window still keeps $(kept_of) envelopes of $wid"
tail -c +"$((log_at + 1))" broker.log | grep -q "event=replay_forgotten referral=$wid reason=WITHDRAW" &&
  ok || bad "the broker did not log forgetting $wid"
[ "$(counter forgotten)" -ge 4 ] && ok || bad "counters.forgotten is $(counter forgotten)"
# The broker truncates its WAL itself, within a second of the commit.
withdrawn_bytes_left() {
  python3 - "$case_hex" "$wid" broker.db broker.db-wal <<'PY'
import os, sys
needles = [bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])]
found = [p for p in sys.argv[3:] if os.path.exists(p)
         for n in needles if n in open(p, "rb").read()]
sys.exit(0 if found else 1)
PY
}
wait_until 10 eval "! withdrawn_bytes_left" # the case's bytes and the referral id
stop_all_and_check_logs
finish
