#!/usr/bin/env bash
# Witnessed audit logs (issue 20), with real daemons: each node signs the
# head of its audit log and its broker witnesses it. A log cut at its tail
# (`head -n -3`), a chain rewritten and recomputed from scratch (the chain
# has no key) and a file swapped for another node's log or an older copy
# are each found by `haven audit verify --heads`, naming the first record
# that no longer matches, and refused when the node starts (exit 1, a
# message naming the file, the record expected and found). A node whose
# store lost its heads still stops once its broker's witnessed head says
# the log was cut.
# Each attack is its own ctest entry, named after it (the CASE argument);
# all share the setup: a network whose shelter A has a witnessed log.
# usage: test_audit_witness.sh BIN_DIR EXAMPLE_REFERRAL CASE
set -u
case_name=$3
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
# A head for every record: the first record that no longer matches is exact.
for n in intake shelter-a shelter-b; do printf '[audit]\nhead_every = 1\n' >> "$n.ini"; done
for n in broker router shelter-a shelter-b intake; do start "$n"; done
cp "$example" adult.json
reg=(--authority keys/authority.pub --registry network.reg)

# One referral through shelter A to its end, one declined: records at both.
id=$(submit adult.json)
wait_until 20 is offered offer_state shelter-a "$id"
"$haven" inbox accept --config shelter-a.ini "$id" >/dev/null || bad "accept"
wait_until 20 is received case_state shelter-a "$id"
"$haven" inbox status --config shelter-a.ini "$id" --state in_progress >/dev/null || bad "status"
"$haven" inbox status --config shelter-a.ini "$id" --state completed --note "Done" >/dev/null ||
  bad "completed"
wait_until 20 is completed intake_state "$id"
cp shelter-a.db.audit older.audit # an older copy, taken midway
id2=$(submit adult.json)
wait_until 20 is offered offer_state shelter-a "$id2"
"$haven" inbox decline --config shelter-a.ini "$id2" --reason not_suitable >/dev/null ||
  bad "decline"
wait_until 20 is offered offer_state shelter-b "$id2"
records=$(wc -l < shelter-a.db.audit)
[ "$records" -ge 7 ] && ok || bad "shelter A's log holds $records records"

# witnessed_up_to NAME N: the broker has witnessed NAME's head of record N.
witnessed_up_to() {
  rm -f "$1.probe"
  [ "$("$haven" audit heads --config "$1.ini" --out "$1.probe" 2>/dev/null |
       sed -n 's/.*witnessed by the broker up to record \([0-9]*\).*/\1/p')" = "$2" ]
}
wait_until 20 witnessed_up_to shelter-a "$records"
wait_until 20 witnessed_up_to shelter-b "$(wc -l < shelter-b.db.audit)"
expect 0 "wrote $records heads to a.heads (witnessed by the broker up to record $records)" \
  "$haven" audit heads --config shelter-a.ini --out a.heads
expect 1 "haven: cannot write a.heads (it must not exist yet): File exists (HV_EEXIST)" "$haven" audit heads --config shelter-a.ini --out a.heads
grep -c . a.heads | grep -qx "$records" && ok || bad "a.heads: $(grep -c . a.heads) lines"
expect 0 "shelter-a.db.audit: $records records, chain intact, matches $records witnessed heads (the latest at record $records)" \
  "$haven" audit verify shelter-a.db.audit --heads a.heads "${reg[@]}"
expect 0 "shelter-a.db.audit: $records records, chain intact (not checked against witnessed heads)" \
  "$haven" audit verify shelter-a.db.audit
# The broker keeps each head it witnessed in its store.
got=$(sqlite3 broker.db "SELECT max(seq) FROM audit_heads WHERE node = 'shelter-a.xc'")
[ "$got" = "$records" ] && ok || bad "the broker's store holds shelter A's head at $got"

stop shelter-a
cp shelter-a.db.audit intact.audit
cp shelter-a.db intact.db

# start_refused NAME MESSAGE: the worker exits 1 at start, saying MESSAGE.
start_refused() {
  local out rc
  out=$(timeout 20 "$bin/haven-provider" -c "$1.ini" 2>&1)
  rc=$?
  if [ "$rc" -ne 1 ]; then bad "$1 started on a bad log: exit $rc"; echo "$out" | tail -5; return; fi
  grep -qF -- "$2" <<<"$out" && ok || { bad "$1's refusal lacks '$2'"; echo "$out" | tail -5; }
  if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" <<<"$out"; then
    bad "sanitizer report in $1's refusal"; echo "$out" | grep -A12 -E "Sanitizer|runtime error" | head -30
  fi
}
restore() { cp intact.audit shelter-a.db.audit; cp intact.db shelter-a.db; }

# rewrite FROM TO N: FROM with record N's event changed and every hash
# after it recomputed, into TO.
rewrite() {
python3 - "$1" "$2" "$3" <<'PY'
import hashlib, re, sys
lines = open(sys.argv[1]).read().splitlines()
prev = "0" * 64
out = []
for i, line in enumerate(lines, 1):
    m = re.fullmatch(r'(\{"seq":\d+,"at":"[^"]*","node":"[^"]*","subject":"[0-9a-f]*",'
                     r'"event":")([a-z_]+)(","by":"[^"]*","prev":")[0-9a-f]{64}'
                     r'","hash":"[0-9a-f]{64}"\}', line)
    event = m.group(2)
    if i == int(sys.argv[3]):
        event = "declined" if event != "declined" else "accepted"
    prefix = m.group(1) + event + m.group(3) + prev + '"'
    prev = hashlib.blake2b(b"haven/audit/v1\0" + prefix.encode(), digest_size=32).hexdigest()
    out.append(prefix + ',"hash":"' + prev + '"}')
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
}

case $case_name in
audit_cut_tail_refused_at_start)
  # The last three records cut (`head -n -3`), as the shelter's were.
  head -n -3 intact.audit > shelter-a.db.audit
  cut=$((records - 3))
  expect 1 "shelter-a.db.audit: record $((cut + 1)) no longer matches the witnessed heads: the log ends at record $cut, records $((cut + 1)) to $records are missing (a cut tail;" \
    "$haven" audit verify shelter-a.db.audit --heads a.heads "${reg[@]}"
  expect 0 "shelter-a.db.audit: $cut records, chain intact (not checked against witnessed heads)" \
    "$haven" audit verify shelter-a.db.audit
  start_refused shelter-a "haven-provider: shelter-a.db.audit: audit log shorter than its last witnessed head: record $records expected, the log ends at record $cut (HV_ECRYPTO)"
  ;;
audit_rewritten_chain_detected)
  # Record 2 altered and every hash after it recomputed, as anyone can (the
  # chain has no key): the chain itself checks, the witnessed heads do not.
  rewrite intact.audit shelter-a.db.audit 2
  expect 0 "shelter-a.db.audit: $records records, chain intact (not checked against witnessed heads)" \
    "$haven" audit verify shelter-a.db.audit
  expect 1 "shelter-a.db.audit: record 2 no longer matches the witnessed heads: record 2 differs from its witnessed head: the chain was rewritten after record 1 (a rewritten chain;" \
    "$haven" audit verify shelter-a.db.audit --heads a.heads "${reg[@]}"
  start_refused shelter-a "haven-provider: shelter-a.db.audit: audit log differs from its last witnessed head: record $records expected with hash "
  ;;
audit_swapped_file_other_node_refused)
  # Shelter B's log in shelter A's place.
  cp shelter-b.db.audit shelter-a.db.audit
  expect 1 "shelter-a.db.audit: record 1 no longer matches the witnessed heads: record 1 is shelter-b.xc's, the witnessed heads are shelter-a.xc's: another node's log (a swapped file) (HV_ECRYPTO)" \
    "$haven" audit verify shelter-a.db.audit --heads a.heads "${reg[@]}"
  start_refused shelter-a "haven-provider: shelter-a.db.audit: audit log is not the one its last witnessed head names (record $records of shelter-a.xc): its first record expected with hash "
  ;;
audit_swapped_file_older_copy_refused)
  # The copy taken after the first referral, in place of the log.
  old=$(wc -l < older.audit)
  cp older.audit shelter-a.db.audit
  expect 1 "shelter-a.db.audit: record $((old + 1)) no longer matches the witnessed heads: the log ends at record $old, records $((old + 1)) to $records are missing (a cut tail;" \
    "$haven" audit verify shelter-a.db.audit --heads a.heads "${reg[@]}"
  start_refused shelter-a "haven-provider: shelter-a.db.audit: audit log shorter than its last witnessed head: record $records expected, the log ends at record $old (HV_ECRYPTO)"

  # A log that was never witnessed (a fresh one in its place) is another file.
  : > shelter-a.db.audit
  start_refused shelter-a "haven-provider: shelter-a.db.audit: audit log shorter than its last witnessed head: record $records expected, the log is empty (HV_ECRYPTO)"
  ;;
audit_cut_tail_refused_by_broker_head)
  # The store lost its heads too (a
  # store restored from an old backup, or rows deleted with the log's tail):
  # the node starts, asks its broker, and stops on the head the broker
  # witnessed.
  restore
  head -n -3 intact.audit > shelter-a.db.audit
  cut=$((records - 3))
  sqlite3 shelter-a.db "DELETE FROM audit_heads"
  out=$(timeout 30 "$bin/haven-provider" -c shelter-a.ini 2>&1)
  rc=$?
  grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" <<<"$out" && bad "sanitizer report in shelter A's stop"
  [ "$rc" -eq 1 ] && ok || bad "shelter A ran on a cut log its broker had witnessed: exit $rc"
  grep -qF "haven-provider: shelter-a.db.audit: audit log shorter than its last witnessed head: record $records expected, the log ends at record $cut (the head witnessed by the broker) (HV_ECRYPTO)" <<<"$out" &&
    ok || { bad "no refusal on the broker's head"; echo "$out" | tail -5; }
  grep -q "event=audit_log_mismatch" <<<"$out" && ok || bad "no audit_log_mismatch in the log"
  ;;
audit_intact_log_verified_and_restarted)
  # The intact log and store: the node starts, and goes on signing heads that
  # its broker witnesses.
  restore
  start shelter-a
  id3=$(submit adult.json)
  wait_until 20 is offered offer_state shelter-a "$id3"
  wait_until 20 witnessed_up_to shelter-a "$((records + 1))"
  rm -f a2.heads
  expect 0 "shelter-a.db.audit: $((records + 1)) records, chain intact, matches" \
    sh -c "'$haven' audit heads --config shelter-a.ini --out a2.heads >/dev/null &&
           '$haven' audit verify shelter-a.db.audit --heads a2.heads --authority keys/authority.pub --registry network.reg"
  # A heads file altered in one byte (of the first head's key id) no longer
  # verifies against the registry.
  python3 -c 'import sys
lines = open(sys.argv[1]).read().split("\n")
c = lines[0][200]
lines[0] = lines[0][:200] + ("0" if c != "0" else "1") + lines[0][201:]
open(sys.argv[2], "w").write("\n".join(lines))' a2.heads bad.heads
  cmp -s a2.heads bad.heads && bad "bad.heads is not altered" || ok
  expect 1 "haven: bad.heads: signature or authentication check failed (HV_ECRYPTO): head 1 (record 1 of shelter-a.xc) is not signed by a key the registry lists for shelter-a.xc" "$haven" audit verify shelter-a.db.audit --heads bad.heads "${reg[@]}"
  ;;
audit_rotated_log_verified_across)
  # The log rotated while the node runs: the new file goes on with the
  # chain, its heads are witnessed, and the two files verify as one.
  restore
  start shelter-a
  expect 0 "rotated: shelter-a.db.audit.$records holds the records up to $records; shelter-a.db.audit goes on from record $((records + 1))" \
    "$haven" audit rotate --config shelter-a.ini
  head -c 200 shelter-a.db.audit | grep -q "\"seq\":$((records + 1)),.*\"event\":\"rotated\"" && ok ||
    bad "the new file does not begin with a rotation record: $(head -1 shelter-a.db.audit)"
  id3=$(submit adult.json)
  wait_until 20 is offered offer_state shelter-a "$id3"
  wait_until 20 witnessed_up_to shelter-a "$((records + 2))"
  rm -f r.heads
  "$haven" audit heads --config shelter-a.ini --out r.heads >/dev/null || bad "audit heads"
  nheads=$(grep -c . r.heads)
  expect 0 "shelter-a.db.audit.$records + shelter-a.db.audit: $((records + 2)) records, chain intact, matches $nheads witnessed heads (the latest at record $((records + 2)))" \
    "$haven" audit verify "shelter-a.db.audit.$records" shelter-a.db.audit --heads r.heads "${reg[@]}"
  expect 0 "shelter-a.db.audit: 2 records ($((records + 1)) to $((records + 2))), chain intact, matches 2 witnessed heads" \
    "$haven" audit verify shelter-a.db.audit --heads r.heads "${reg[@]}"
  expect 1 "shelter-a.db.audit.$records: does not continue shelter-a.db.audit: its first record is not a rotation record (HV_ECRYPTO)" \
    "$haven" audit verify shelter-a.db.audit "shelter-a.db.audit.$records"
  # Another node's old file before the new one: the rotation record names another file.
  expect 1 "shelter-a.db.audit:1: broken: " \
    "$haven" audit verify shelter-b.db.audit shelter-a.db.audit
  stop shelter-a
  start shelter-a
  stop shelter-a
  # The new file cut: refused at start.
  cp shelter-a.db.audit rotated.audit
  head -n -1 rotated.audit > shelter-a.db.audit
  start_refused shelter-a "haven-provider: shelter-a.db.audit: audit log shorter than its last witnessed head: record $((records + 2)) expected, the log ends at record $((records + 1)) (HV_ECRYPTO)"
  cp rotated.audit shelter-a.db.audit
  ;;
audit_broker_cut_tail_refused_at_start)
  # The broker's own log: signed at its clean stop, checked at its start.
  stop broker
  blines=$(wc -l < broker.db.audit)
  got=$(sqlite3 broker.db "SELECT max(seq) FROM audit_heads WHERE node = 'broker.xc'")
  [ "$got" = "$blines" ] && ok || bad "the broker's last head is at record $got of $blines"
  cp broker.db.audit broker-intact.audit
  head -n -3 broker-intact.audit > broker.db.audit
  out=$(timeout 20 "$bin/haven-broker" -c broker.ini 2>&1)
  rc=$?
  grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" <<<"$out" && bad "sanitizer report in the broker's refusal"
  [ "$rc" -eq 1 ] && ok || bad "the broker started on a cut log: exit $rc"
  grep -qF "haven-broker: broker.db.audit: audit log shorter than its last witnessed head: record $blines expected, the log ends at record $((blines - 3)) (HV_ECRYPTO)" <<<"$out" &&
    ok || { bad "no refusal of the broker's cut log"; echo "$out" | tail -3; }
  cp broker-intact.audit broker.db.audit
  start broker
  ;;
*) bad "unknown case $case_name" ;;
esac
stop_all_and_check_logs
finish
