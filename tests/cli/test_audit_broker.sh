#!/usr/bin/env bash
# A broker's own audit log (issue 20): its heads exported from its store and
# from a peer's with `haven audit heads --store`, and its log rotated on
# SIGUSR1. Real brokers for XA and XC on loopback and real workers.
# usage: test_audit_broker.sh BIN_DIR EXAMPLE_REFERRAL CASE
#   audit_broker_heads_exported_verify_and_find_cut: the heads from
#     broker.xa's store and from broker.xc's verify broker.xa's intact log,
#     and find its cut tail naming the record.
#   audit_broker_rotated_verified_across_and_cut_refused: after SIGUSR1 the
#     old and the new file verify as one chain against the heads of its own
#     store and against those broker.xc witnessed, the broker
#     restarts cleanly, and a cut of the new file is refused at start.
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/fed_lib.sh"
example=$(realpath "$2")
case_=$3
fed_setup "$1" 127.0.0.1 127.0.0.1 127.0.0.1
cp "$example" adult.json
reg=(--authority keys/authority.pub --registry network.reg)
for n in broker-xc broker-xa router shelter-b intake; do start "$n"; done

id=$(submit adult.json)
[ ${#id} -eq 32 ] && ok || bad "submit gave no id: '$id'"

# witnessed: the latest head of broker.xa that broker.xc holds.
witnessed() {
  sqlite3 broker-xc.db "SELECT max(seq) FROM audit_heads WHERE node = 'broker.xa'" 2>/dev/null
}
has_witnessed() { [ -n "$(witnessed)" ] && [ "$(witnessed)" -ge 1 ]; }
wait_until 30 has_witnessed
held() { sqlite3 "$1" "SELECT count(*) FROM audit_heads WHERE node = 'broker.xa'"; }

# broker_refused MESSAGE: broker.xa exits 1 at start, saying MESSAGE.
broker_refused() {
  local out rc
  out=$(timeout 20 "$bin/haven-broker" -c broker-xa.ini 2>&1)
  rc=$?
  grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" <<<"$out" && bad "sanitizer report in the broker's refusal"
  [ "$rc" -eq 1 ] && ok || bad "broker.xa started on a cut log: exit $rc"
  grep -qF -- "$1" <<<"$out" && ok || { bad "broker.xa did not say: $1"; echo "$out" | tail -3; }
}

case $case_ in
audit_broker_heads_exported_verify_and_find_cut)
  # From the peer's store, while both brokers run: the witnessed copy.
  w=$(witnessed)
  n=$(held broker-xc.db)
  expect 0 "wrote $n heads of broker.xa's audit log to xc.heads (from broker-xc.db, up to record $w)" \
    "$haven" audit heads --store broker-xc.db --node broker.xa --out xc.heads
  expect 1 "haven: cannot write xc.heads (it must not exist yet): File exists (HV_EEXIST)" \
    "$haven" audit heads --store broker-xc.db --node broker.xa --out xc.heads
  expect 1 "haven: broker-xc.db holds no head of shelter-x.xc's audit log (HV_ENOTFOUND)" \
    "$haven" audit heads --store broker-xc.db --node shelter-x.xc --out none.heads
  [ ! -e none.heads ] && ok || bad "none.heads was left behind"
  # From its own store, stopped: its last head covers the whole log.
  stop broker-xa
  records=$(wc -l < broker-xa.db.audit)
  n=$(held broker-xa.db)
  expect 0 "wrote $n heads of broker.xa's audit log to xa.heads (from broker-xa.db, up to record $records)" \
    "$haven" audit heads --store broker-xa.db --out xa.heads
  expect 0 "broker-xa.db.audit: $records records, chain intact, matches $n witnessed heads (the latest at record $records)" \
    "$haven" audit verify broker-xa.db.audit --heads xa.heads "${reg[@]}"
  m=$(sqlite3 broker-xc.db "SELECT count(*) FROM audit_heads WHERE node = 'broker.xa' AND seq <= $records")
  expect 0 "broker-xa.db.audit: $records records, chain intact, matches $m witnessed heads (the latest at record $(witnessed))" \
    "$haven" audit verify broker-xa.db.audit --heads xc.heads "${reg[@]}"
  # audit_broker_cut_tail_found_by_exported_heads
  w=$(witnessed)
  head -n $((w - 1)) broker-xa.db.audit > cut.audit
  expect 1 "cut.audit: record $w no longer matches the witnessed heads: the log ends at record $((w - 1)), records $w to " \
    "$haven" audit verify cut.audit --heads xc.heads "${reg[@]}"
  expect 1 "cut.audit: record $records no longer matches the witnessed heads: the log ends at record $((w - 1))" \
    "$haven" audit verify cut.audit --heads xa.heads "${reg[@]}"
  ;;
audit_broker_rotated_verified_across_and_cut_refused)
  rotated() { grep -q "event=audit_rotated" broker-xa.log; }
  kill -USR1 "${pids[broker-xa]}"
  wait_until 20 rotated
  last=$(sed -n 's/.*event=audit_rotated old=broker-xa.db.audit.\([0-9]*\) .*/\1/p' broker-xa.log)
  [ -n "$last" ] && [ -f "broker-xa.db.audit.$last" ] && ok || bad "no rotated file: '$last'"
  head -c 200 broker-xa.db.audit | grep -q "\"seq\":$((last + 1)),.*\"event\":\"rotated\"" && ok ||
    bad "the new file does not begin with a rotation record: $(head -1 broker-xa.db.audit)"
  # The peer witnesses the new file's head too.
  new_witnessed() { [ "$(witnessed)" -ge $((last + 1)) ]; }
  wait_until 20 new_witnessed
  # More custody records in the new file.
  id2=$(submit adult.json)
  [ ${#id2} -eq 32 ] && ok || bad "submit gave no id: '$id2'"
  stop broker-xa
  old=broker-xa.db.audit.$last
  total=$(( $(wc -l < "$old") + $(wc -l < broker-xa.db.audit) ))
  n=$(held broker-xa.db)
  expect 0 "wrote $n heads of broker.xa's audit log to xa.heads (from broker-xa.db, up to record $total)" \
    "$haven" audit heads --store broker-xa.db --out xa.heads
  expect 0 "$old + broker-xa.db.audit: $total records, chain intact, matches $n witnessed heads (the latest at record $total)" \
    "$haven" audit verify "$old" broker-xa.db.audit --heads xa.heads "${reg[@]}"
  # The copy broker.xc witnessed, heads of both files, verifies across too.
  w=$(witnessed)
  m=$(held broker-xc.db)
  expect 0 "wrote $m heads of broker.xa's audit log to xc.heads (from broker-xc.db, up to record $w)" \
    "$haven" audit heads --store broker-xc.db --node broker.xa --out xc.heads
  expect 0 "$old + broker-xa.db.audit: $total records, chain intact, matches $m witnessed heads (the latest at record $w)" \
    "$haven" audit verify "$old" broker-xa.db.audit --heads xc.heads "${reg[@]}"
  # audit_broker_restarts_after_rotation
  start broker-xa
  linked() { grep -q "event=audit_head_witnessed node=broker.xa seq=$total" broker-xc.log; }
  wait_until 20 linked
  kill -0 "${pids[broker-xa]}" && ok || bad "broker.xa stopped after its restart"
  stop broker-xa
  ! grep -q "audit_log_mismatch\|audit_rotate_failed" broker-xa.log && ok ||
    bad "$(grep "audit_log_mismatch\|audit_rotate_failed" broker-xa.log)"
  # audit_broker_cut_of_new_file_refused_at_start
  total=$(( $(wc -l < "$old") + $(wc -l < broker-xa.db.audit) ))
  records=$(wc -l < broker-xa.db.audit)
  head -n $((records - 1)) broker-xa.db.audit > cut.audit
  cp cut.audit broker-xa.db.audit
  broker_refused "haven-broker: broker-xa.db.audit: audit log shorter than its last witnessed head: record $total expected, the log ends at record $((total - 1)) (HV_ECRYPTO)"
  ;;
*) bad "unknown case $case_" ;;
esac
stop_all_and_check_logs
finish
