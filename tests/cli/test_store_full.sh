#!/usr/bin/env bash
# disk_full_answers_no_stored: the broker's store on a small file system of
# its own (a tmpfs in a private mount namespace: the test runs as root, as
# in CI) that is then filled. The referrals submitted meanwhile get no
# STORED: the broker answers ERROR HV_ESTORE, so the intake keeps them in
# its outbox and sends them again; the broker says so in one log line
# (the file, "disk full"), /healthz answers 503 and /metrics shows
# haven_store_failed 1, and it does not log again however often the intake
# retries. Once the space is freed the broker recovers by itself (one
# store_recovered line) and the referrals resent are offered to shelter A
# exactly once each. Not root: skipped (exit 77), since nothing else gives
# an unprivileged process a file system that fills up.
# usage: test_store_full.sh BIN_DIR EXAMPLE_REFERRAL
set -u
if [ "$(id -u)" != 0 ]; then
  echo "skipped: needs root for a private tmpfs (unshare --mount)"
  exit 77
fi
if [ -z "${HV_PRIVATE_MOUNTS:-}" ]; then
  exec env HV_PRIVATE_MOUNTS=1 unshare --mount --propagation private bash "$0" "$@"
fi
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
cp "$example" adult.json
mkdir tiny
mount -t tmpfs -o size=40m,mode=0700 tmpfs tiny || { bad "cannot mount a tmpfs"; exit 1; }
sed -i 's|^store = broker.db|store = tiny/broker.db|' broker.ini

offered_count() {
  "$haven" inbox list --json --config shelter-a.ini |
    jq '[.result.inbox[] | select(.offer == "offered")] | length'
}
metric() {
  curl -s -H "Authorization: Bearer $http_token" "$http_base/metrics" |
    sed -n "s/^$1{[^}]*} //p"
}
healthz() { curl -s -o healthz.body -w '%{http_code}' "$http_base/healthz?token=$http_token"; }
failed_lines() { tail -c +"$((log_at + 1))" broker.log | grep -c "event=store_failed"; }
refused() {
  curl -s -H "Authorization: Bearer $http_token" "$http_base/metrics" |
    sed -n 's/^haven_messages_total{.*event="refused"} //p'
}
at_least() { local v; v=$("${@:2}"); [ "${v:-0}" -ge "$1" ] 2>/dev/null; }

for n in broker router intake shelter-a; do start "$n"; done
first=$(submit adult.json)
wait_until 20 is 1 offered_count
wait_until 10 is 0 metric haven_store_failed

# The file system full: what the intake sends now cannot be committed. The
# WAL truncated first (the broker does it once it is quiet), so that no
# frame of it is left allocated for a commit to overwrite.
wal_size() { stat -c %s tiny/broker.db-wal 2>/dev/null || echo 0; }
wait_until 25 is 0 wal_size # within 11 s under a steady load
dd if=/dev/zero of=tiny/fill bs=1M status=none 2>/dev/null
[ "$(df --output=avail tiny | tail -1 | tr -d ' ')" = 0 ] && ok || bad "tiny is not full: $(df tiny)"
log_at=$(wc -c < broker.log)
refused_before=$(refused)
ids=()
for i in 1 2 3; do ids+=("$(submit adult.json)"); done
wait_until 20 grep -q 'event=store_failed store=tiny/broker.db op=commit batch=[0-9]* reason="disk full" sqlite="database or disk is full"' broker.log
# The intake sends them again every three seconds: two more rounds of
# refusals, and still the one line.
wait_until 30 at_least $((refused_before + 9)) refused
[ "$(failed_lines)" = 1 ] && ok || bad "$(failed_lines) store_failed lines, expected 1"
[ "$(outbox intake)" = 3 ] && ok || bad "the intake's outbox holds $(outbox intake), expected 3"
[ "$(offered_count)" = 1 ] && ok || bad "shelter A has $(offered_count) offers while the disk is full"
[ "$(metric haven_store_failed)" = 1 ] && ok || bad "haven_store_failed is $(metric haven_store_failed)"
[ "$(healthz)" = 503 ] && ok || bad "/healthz answered $(cat healthz.body) while the disk is full"
grep -q "^store failed: disk full: database or disk is full (tiny/broker.db, op=commit" healthz.body &&
  ok || bad "/healthz says '$(cat healthz.body)'"

# Space freed: the broker takes work again by itself, and each referral
# resent is offered once.
rm tiny/fill
wait_until 20 grep -q "event=store_recovered store=tiny/broker.db reason=\"disk full\"" broker.log
wait_until 30 is 4 offered_count
wait_until 20 is 0 outbox intake
for id in "${ids[@]}"; do
  got=$("$haven" inbox show --json --config shelter-a.ini "$id" |
    jq -r '.result.history[].state' | tr '\n' ' ')
  [ "$got" = "offered " ] && ok || bad "shelter A history of $id: '$got'"
done
[ "$("$haven" referral list --json --config intake.ini | jq '.result.referrals | length')" = 4 ] &&
  ok || bad "the intake lists other than 4 referrals"
wait_until 10 is 0 metric haven_store_failed
[ "$(healthz)" = 200 ] && ok || bad "/healthz answered $(cat healthz.body) after recovery"
[ "$(failed_lines)" = 1 ] && ok || bad "$(failed_lines) store_failed lines in all, expected 1"
[ "$(tail -c +"$((log_at + 1))" broker.log | grep -c "event=store_recovered")" = 1 ] && ok ||
  bad "store_recovered logged other than once"
stop_all_and_check_logs
expect 0 "tiny/broker.db: sound" "$bin/haven-broker" -c broker.ini --check-store
umount tiny
finish
