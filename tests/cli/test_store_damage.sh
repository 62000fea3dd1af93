#!/usr/bin/env bash
# Damaged stores are refused when they are opened (docs/DECISIONS.md, "A
# damaged store is refused"), one case a run:
#   damaged_queue_page_refused_at_start  a page of the broker's queue table
#       overwritten (found through the dbstat table) while the broker is
#       stopped: it exits 1 with the exact message naming the file and the
#       way to restore, before anything is bound; --check-store says the
#       same offline (exit 1). Then the restore procedure of
#       docs/OPERATIONS.md ("Restoring a damaged store"): the damaged file set
#       aside, the backup taken before put back, checked (exit 0), the
#       broker started: the offers its backup held reach shelter A, once.
#   damaged_page_found_while_running_refuses_sends  the page overwritten
#       while the broker runs: the first read of it puts the store in fault,
#       one log line, SENDs answered ERROR HV_ESTORE (the intake keeps its
#       message), /healthz 503; a restart refuses the store.
#   damaged_worker_store_refused_at_start  the same for the intake's store
#       (its referrals table) and `haven-intake --check-store`.
#   damaged_web_store_refused_at_start  the same for haven-web's store (its
#       staff table).
# usage: test_store_damage.sh BIN_DIR EXAMPLE_REFERRAL CASE
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
case_name=$3
flow_setup "$1"
cp "$example" adult.json
hint="restore it from a backup: docs/OPERATIONS.md#restoring-a-damaged-store"

# damage FILE TABLE: overwrites the first page of TABLE's b-tree in FILE
# with 0xff bytes (the file's own page size), as a disk error would.
damage() {
  local page size
  page=$(sqlite3 "$1" "SELECT pageno FROM dbstat WHERE name = '$2' ORDER BY pageno LIMIT 1")
  size=$(sqlite3 "$1" "PRAGMA page_size")
  [ -n "$page" ] && [ "$page" -gt 1 ] || { bad "no page of $2 in $1"; return 1; }
  head -c "$size" /dev/zero | tr '\0' '\377' |
    dd of="$1" bs="$size" seek=$((page - 1)) count=1 conv=notrunc status=none
  damaged_page=$page
}

# refused NAME WANT CMD...: CMD exits 1 and prints exactly WANT on stderr,
# and nothing on stdout (no "ready" either).
refused() {
  local name=$1 want=$2 out err rc
  shift 2
  out=$("$@" 2> "$name.err")
  rc=$?
  err=$(cat "$name.err")
  [ "$rc" = 1 ] && ok || bad "$name: exit $rc, expected 1"
  [ "$err" = "$want" ] && ok || bad "$name: stderr is '$err', expected '$want'"
  [ -z "$out" ] && ok || bad "$name: printed '$out'"
}

queued() { sqlite3 broker.db "SELECT count(*) FROM queue${1:+ WHERE recipient = '$1'}"; }
offered_count() {
  "$haven" inbox list --json --config shelter-a.ini |
    jq '[.result.inbox[] | select(.offer == "offered")] | length'
}

case $case_name in
damaged_queue_page_refused_at_start)
  for n in broker router intake; do start "$n"; done
  ids=()
  for i in 1 2; do ids+=("$(submit adult.json)"); done
  wait_until 20 is 2 queued shelter-a.xc
  expect 0 "backed up the store of broker broker.xc" \
    "$haven" backup --config broker.ini --out broker.backup
  stop broker
  damage broker.db queue || exit 1
  # What SQLite says of a page of 0xff bytes: a b-tree page of no known type.
  refused broker \
    "haven-broker: broker.db: damaged: Page $damaged_page: btreeInitPage() returns error code 11; $hint (HV_ESTORE)" \
    "$bin/haven-broker" -c broker.ini
  grep -q "event=ready" broker.err && bad "the damaged broker said ready" || ok
  # The offline check lists what it found and refuses the same way.
  expect 1 "broker.db: problem: " "$bin/haven-broker" -c broker.ini --check-store
  expect 1 "broker.db: problem: Page $damaged_page: btreeInitPage() returns error code 11" \
    "$bin/haven-broker" -c broker.ini --check-store
  expect 1 "$hint (HV_ESTORE)" "$bin/haven-broker" --check-store -c broker.ini
  # The restore procedure: set the damaged file aside, restore, check, start.
  mv broker.db broker.db.damaged
  rm -f broker.db-wal broker.db-shm
  expect 0 "restored the store of broker broker.xc" \
    "$haven" restore --config broker.ini --in broker.backup
  expect 0 "broker.db: sound: integrity_check found nothing wrong in" \
    "$bin/haven-broker" -c broker.ini --check-store
  [ "$(queued shelter-a.xc)" = 2 ] && ok || bad "the restored store holds $(queued shelter-a.xc)"
  start broker
  start shelter-a
  wait_until 20 is 2 offered_count
  wait_until 20 is 0 queued
  for id in "${ids[@]}"; do
    got=$("$haven" inbox show --json --config shelter-a.ini "$id" |
      jq -r '.result.history[].state' | tr '\n' ' ')
    [ "$got" = "offered " ] && ok || bad "shelter A history of $id: '$got'"
  done
  grep -c "event=ready" broker.log | grep -qx 2 && ok || bad "broker ready $(grep -c event=ready broker.log) times"
  ;;
damaged_page_found_while_running_refuses_sends)
  for n in broker router intake; do start "$n"; done
  for i in 1 2; do submit adult.json >/dev/null; done
  wait_until 20 is 2 queued shelter-a.xc
  wal_size() { stat -c %s broker.db-wal 2>/dev/null || echo 0; }
  wait_until 25 is 0 wal_size # the queue's pages are in the main file (within 11 s)
  damage broker.db queue || exit 1
  # A write by another connection makes the broker drop its page cache at
  # its next read, which then comes from the damaged file.
  sqlite3 -cmd '.timeout 5000' broker.db "PRAGMA user_version = 3" || bad "external write"
  log_at=$(wc -c < broker.log)
  # The first read of the queue finds it: the metrics' (every 500 ms), or
  # the delivery to shelter A.
  start shelter-a
  wait_until 20 grep -qE 'event=store_failed store=broker.db op=(queue_ages|stats|next node=shelter-a.xc) reason="damaged" sqlite="database disk image is malformed"' broker.log
  failed_lines() { tail -c +"$((log_at + 1))" broker.log | grep -c "event=store_failed"; }
  refused_count() {
    curl -s -H "Authorization: Bearer $http_token" "$http_base/metrics" |
      sed -n 's/^haven_messages_total{.*event="refused"} //p'
  }
  at_least() { local v; v=$("${@:2}"); [ "${v:-0}" -ge "$1" ] 2>/dev/null; }
  refused_before=$(refused_count)
  submit adult.json >/dev/null
  # The intake's SEND is refused, kept and sent again: three refusals, and
  # still the one line.
  wait_until 30 at_least $((refused_before + 3)) refused_count
  [ "$(failed_lines)" = 1 ] && ok || bad "$(failed_lines) store_failed lines, expected 1"
  [ "$(outbox intake)" = 1 ] && ok || bad "the intake's outbox holds $(outbox intake), expected 1"
  [ "$("$haven" inbox list --json --config shelter-a.ini | jq '.result.inbox | length')" = 0 ] &&
    ok || bad "shelter A was delivered something from the damaged store"
  code=$(curl -s -o healthz.body -w '%{http_code}' "$http_base/healthz?token=$http_token")
  [ "$code" = 503 ] && ok || bad "/healthz answered $code"
  grep -qE "^store failed: damaged: database disk image is malformed \(broker.db, op=[a-z_]+.*, since " healthz.body &&
    ok || bad "/healthz says '$(cat healthz.body)'"
  # Until a restart, which refuses the store.
  stop broker
  refused broker \
    "haven-broker: broker.db: damaged: Page $damaged_page: btreeInitPage() returns error code 11; $hint (HV_ESTORE)" \
    "$bin/haven-broker" -c broker.ini
  ;;
damaged_worker_store_refused_at_start)
  for n in broker router intake; do start "$n"; done
  for i in 1 2 3; do submit adult.json >/dev/null; done
  stop intake
  expect 0 "intake.db: sound" "$bin/haven-intake" -c intake.ini --check-store
  damage intake.db referrals || exit 1
  refused intake \
    "haven-intake: intake.db: damaged: Page $damaged_page: btreeInitPage() returns error code 11; $hint (HV_ESTORE)" \
    "$bin/haven-intake" -c intake.ini
  expect 1 "intake.db: problem: " "$bin/haven-intake" -c intake.ini --check-store
  ;;
damaged_web_store_refused_at_start)
  . "$here/web_lib.sh"
  web_setup intake intake ngo.xc
  staff intake caseworker.one caseworker "correct horse battery staple one" >/dev/null
  expect 0 "web-intake.db: sound" "$bin/haven-web" -c web-intake.ini --check-store
  damage web-intake.db staff || exit 1
  refused web \
    "haven-web: web-intake.db: damaged: Page $damaged_page: btreeInitPage() returns error code 11; $hint (HV_ESTORE)" \
    "$bin/haven-web" -c web-intake.ini
  expect 1 "web-intake.db: problem: " "$bin/haven-web" -c web-intake.ini --check-store
  ;;
*)
  bad "unknown case $case_name"
  ;;
esac
stop_all_and_check_logs
finish
