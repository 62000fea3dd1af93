#!/usr/bin/env bash
# delivered_case_not_left_in_broker_files: what a broker deletes is gone
# from every file it keeps (docs/DECISIONS.md, "A broker forgets what it
# deletes"). A case's envelope (CASE_TRANSFER) is sealed end to end, so its
# marker is a run of its sealed bytes read from the broker's store while it
# waits for delivery. After what deletes it, and the broker's own checkpoint
# (nothing here checkpoints for it), the marker is in none of the broker's
# files: the database, its -wal and -shm, the audit log, the log.
#  1. delivered and acknowledged, with no replay window (replay_hours = 0);
#     and gone from the intake's files too (its outbox held the envelope
#     until STORED) and from shelter A's (which keeps the case under its
#     own key, never the envelope);
#  2. delivered, kept in the replay window (found there: the scan sees what
#     is there), then withdrawn: WITHDRAW and the provider's WITHDRAWN;
#  3. kept in the window until its time there passed: pruned;
#  4. never delivered: past its time to live, a dead letter (found there),
#     then purged by an operator;
# and after a restart of the broker, none of the four is back.
# usage: test_store_forget.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
cp "$example" adult.json
cp broker.ini broker-base.ini
printf '[custody]\nreplay_hours = 0\n' >> broker.ini
for n in broker router intake shelter-a; do start "$n"; done

# marker_in_files HEX [FILE...]: the files (by default the broker's) that
# hold those bytes, printed; true when at least one does.
marker_in_files() {
  [ ${#1} = 64 ] || { echo "(no marker)"; return 0; }
  local hex=$1
  shift
  [ $# -gt 0 ] || set -- broker.db* broker.log
  python3 - "$hex" "$@" <<'PY'
import os, sys
needle = bytes.fromhex(sys.argv[1])
found = [p for p in sys.argv[2:] if os.path.isfile(p) and needle in open(p, "rb").read()]
print(" ".join(found))
sys.exit(0 if found else 1)
PY
}
marker_gone() { ! marker_in_files "$@" >/dev/null; }
# wait_gone SECONDS HEX WHAT [FILE...]: the broker (or the node whose files
# are named) forgets within its erase interval.
wait_gone() {
  local i limit=$1 hex=$2 what=$3
  shift 3
  for ((i = 0; i < limit * 10; i++)); do
    marker_gone "$hex" "$@" && { ok; return 0; }
    sleep 0.1
  done
  bad "$what: its bytes are still in $(marker_in_files "$hex" "$@") after $limit s"
  return 1
}
queued_cases() {
  sqlite3 -cmd '.timeout 5000' broker.db \
    "SELECT count(*) FROM queue WHERE recipient = 'shelter-a.xc' AND type = 7"
}
# case_marker: 32 sealed bytes of the case queued for shelter A, in hex
# (from inside the ciphertext, well before the signature at the end).
case_marker() {
  sqlite3 -cmd '.timeout 5000' broker.db "SELECT hex(substr(b.envelope, length(b.envelope) - 400,
    32)) FROM queue q JOIN bodies b ON b.seq = q.seq WHERE q.recipient = 'shelter-a.xc' AND
    q.type = 7"
}
# accepted_case: a new referral that shelter A accepts, then goes offline,
# so that its case waits at the broker; sets $rid (the referral's id) and
# $marker.
accepted_case() {
  rid=$(submit adult.json)
  marker=
  wait_until 20 is offered offer_state shelter-a "$rid" || return 1
  # The intake sends the case once it learns of the match: stopped until
  # shelter A is, so that the case cannot reach shelter A at once.
  stop intake
  "$haven" inbox accept --config shelter-a.ini "$rid" >/dev/null || bad "accept $rid"
  wait_until 20 is 0 outbox shelter-a
  stop shelter-a
  start intake
  wait_until 20 is 1 queued_cases || return 1
  marker=$(case_marker)
  [ ${#marker} = 64 ] || bad "no marker for the case of $rid: '$marker'"
}
kept_cases() {
  sqlite3 -cmd '.timeout 5000' broker.db \
    "SELECT count(*) FROM delivered WHERE lower(hex(referral)) = '$1' AND type = 7"
}

# ---- 1. delivered and acknowledged, no replay window
accepted_case
id1=$rid m1=$marker
marker_in_files "$m1" >/dev/null && ok || bad "the queued case of $id1 is not in the broker's files"
start shelter-a
wait_until 20 is received case_state shelter-a "$id1"
wait_until 20 is 0 queued_cases
wait_gone 15 "$m1" "the delivered case $id1"
# The intake's outbox held the same envelope until the broker's STORED; the
# provider opened it and keeps the case under its own key only.
wait_gone 15 "$m1" "the intake's outbox copy of $id1" intake.db*
wait_gone 15 "$m1" "shelter A's copy of the envelope of $id1" shelter-a.db*

# ---- 2. kept in the replay window, then withdrawn
stop broker
cp broker-base.ini broker.ini # replay_hours: the default (72)
start broker
wait_until 20 connected shelter-a
accepted_case
id2=$rid m2=$marker
start shelter-a
wait_until 20 is received case_state shelter-a "$id2"
wait_until 20 is 0 queued_cases
[ "$(kept_cases "$id2")" = 1 ] && ok || bad "the window keeps $(kept_cases "$id2") cases of $id2"
marker_in_files "$m2" >/dev/null && ok || bad "the kept case of $id2 is not in the broker's files"
expect 0 "withdraw_requested" "$haven" referral withdraw --config intake.ini "$id2" \
  --reason "consent withdrawn by the person"
wait_until 20 is withdrawn intake_state "$id2"
[ "$(kept_cases "$id2")" = 0 ] && ok || bad "the window still keeps the case of $id2"
wait_gone 15 "$m2" "the withdrawn case $id2"

# ---- 3. kept in the window until its time there passed
accepted_case
id3=$rid m3=$marker
start shelter-a
wait_until 20 is received case_state shelter-a "$id3"
[ "$(kept_cases "$id3")" = 1 ] && ok || bad "the window keeps $(kept_cases "$id3") cases of $id3"
# Acknowledged 73 hours ago, as far as the window knows: the next pruning
# takes it.
sqlite3 -cmd '.timeout 5000' broker.db "UPDATE delivered SET acked_ms = acked_ms - 73 * 3600000
  WHERE lower(hex(referral)) = '$id3'"
wait_until 20 is 0 kept_cases "$id3"
wait_gone 15 "$m3" "the pruned case $id3"

# ---- 4. never delivered: expired into the dead letters, then purged
accepted_case
id4=$rid m4=$marker
case_id=$(sqlite3 -cmd '.timeout 5000' broker.db "SELECT lower(hex(id)) FROM queue
  WHERE recipient = 'shelter-a.xc' AND type = 7")
# Its time to live passed, as far as the broker knows: the next sweep
# buries it.
sqlite3 -cmd '.timeout 5000' broker.db "UPDATE dedup SET expires_ms = 1 WHERE lower(hex(id)) = '$case_id'"
dead_cases() { sqlite3 -cmd '.timeout 5000' broker.db "SELECT count(*) FROM dead_letters WHERE type = 7"; }
wait_until 20 is 1 dead_cases
marker_in_files "$m4" >/dev/null && ok || bad "the dead letter of $id4 is not in the broker's files"
expect 0 "purged" "$haven" deadletters purge --key keys/ops.xc.key --authority keys/authority.pub \
  --registry network.reg --broker broker.xc --endpoint "$ops_endpoint" "$case_id"
wait_until 10 is 0 dead_cases
wait_gone 15 "$m4" "the purged dead letter of $id4"

# ---- after a restart, none is back
stop broker
start broker
for m in "$m1" "$m2" "$m3" "$m4"; do
  marker_gone "$m" && ok || bad "after a restart, $m is in $(marker_in_files "$m")"
done
start shelter-a
stop_all_and_check_logs
for m in "$m1" "$m2" "$m3" "$m4"; do
  marker_gone "$m" && ok || bad "after a clean stop, $m is in $(marker_in_files "$m")"
done
finish
