#!/usr/bin/env bash
# The restore drill of docs/OPERATIONS.md, on a broker that carries
# referrals: a backup taken while it runs, more referrals after it, the
# broker stopped, its store restored, the broker started again. The broker
# carries on from the backup: the offers its store held unacknowledged then
# come again through custody (delivered once more, deduplicated by the
# provider), the referrals made after the backup stay where they were
# delivered, and nothing is lost or doubled at any worker. Then what a
# restore refuses: a running daemon's store, a backup of another node, a
# file that is no backup, and a backup over an existing file. Last, what a
# worker's restore gives back: that worker as it was, and nothing more.
# usage: test_backup_restore.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
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
wait_until 20 is offered offer_state shelter-b "$id5" # shelter A is full (capacity 4)
expect 0 "" "$haven" inbox accept --config shelter-a.ini "${ids_before[0]}"
wait_until 20 is received case_state shelter-a "${ids_before[0]}"
wait_until 20 is received intake_state "${ids_before[0]}"
[ "$(referral_count)" = 5 ] && ok || bad "intake lists $(referral_count) referrals"
# The broker's audit log went on from where it was: the chain is intact.
expect 0 "chain intact" "$haven" audit verify broker.db.audit

# A worker's restore rewinds that worker, and only it (docs/DECISIONS.md):
# shelter A's backup is from before it accepted the first offer and received
# the case; restored, it has the offer open again and no case, while the
# intake keeps the case as received. Custody cannot give the case back: the
# broker deleted the transfer once shelter A acknowledged it.
stop shelter-a
expect 0 "restored the store of worker shelter-a.xc" \
  "$haven" restore --config shelter-a.ini --in shelter-a.backup
start shelter-a
is offered offer_state shelter-a "${ids_before[0]}" && ok ||
  bad "restored shelter A: offer $(offer_state shelter-a "${ids_before[0]}")"
is "" case_state shelter-a "${ids_before[0]}" && ok ||
  bad "restored shelter A: case $(case_state shelter-a "${ids_before[0]}")"
is received intake_state "${ids_before[0]}" && ok || bad "the intake's state moved"
stop_all_and_check_logs
finish
