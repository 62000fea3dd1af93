#!/usr/bin/env bash
# Crashes at every step of a referral: after each step of the lifecycle the
# worker that acts next (and the one that just acted) is killed with
# SIGKILL and restarted. The referral must still complete, and every
# party's history must hold each state exactly once: nothing lost, nothing
# done twice. Run three times, killing at once, after 50 ms and after
# 200 ms, so that the kills land at different moments of the processing.
# usage: test_referral_restart.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
# Shelter A declines each referral for want of places, which stands until
# it publishes its places again (issue 21): every second here.
printf '[provider]\ncapacity_every_s = 1\n' >> shelter-a.ini
for n in broker router shelter-a shelter-b intake; do start "$n"; done
cp "$example" adult.json

# crash NAME...: after DELAY, SIGKILL each named worker and start it again.
crash() {
  sleep "$delay"
  local n
  for n in "$@"; do kill9 "$n"; done
  for n in "$@"; do start "$n"; done
}

# The CLI may meet a worker mid-restart; an action is retried until the
# worker answers (a refusal is not retried: it would be a real answer).
act() {
  local i rc
  for i in 1 2 3 4 5 6 7 8 9 10; do
    "$@" >/dev/null 2>act.err
    rc=$?
    [ "$rc" -ne 3 ] && break
    sleep 0.2
  done
  [ "$rc" -eq 0 ] && ok || { bad "rc $rc: $* ($(cat act.err))"; }
}

basis_a() {
  "$haven" pathway show --json --config router.ini 2>/dev/null |
    jq -r '[.result.pathway.shelter[] | select(.id == "shelter-a.xc")][0].places.basis'
}
for delay in 0 0.05 0.2; do
  wait_until 20 is published basis_a
  id=
  for i in 1 2 3 4 5 6 7 8 9 10; do
    id=$(submit adult.json 2>/dev/null) && [ ${#id} -eq 32 ] && break
    sleep 0.2
  done
  crash intake router
  wait_until 20 is offered offer_state shelter-a "$id"
  crash shelter-a
  act "$haven" inbox decline --config shelter-a.ini "$id" --reason no_capacity
  crash shelter-a router
  wait_until 20 is offered offer_state shelter-b "$id"
  act "$haven" inbox accept --config shelter-b.ini "$id"
  crash shelter-b router intake
  wait_until 20 is received case_state shelter-b "$id"
  crash shelter-b intake
  wait_until 20 is received intake_state "$id"
  act "$haven" inbox status --config shelter-b.ini "$id" --state in_progress
  crash shelter-b intake
  wait_until 20 is in_progress intake_state "$id"
  act "$haven" inbox status --config shelter-b.ini "$id" --state completed --note "Outcome $delay"
  crash intake shelter-b
  wait_until 20 is completed intake_state "$id"

  # Exactly once, at every party.
  got=$("$haven" referral show --json --config intake.ini "$id" | jq -r '.result.history[].state' | tr '\n' ' ')
  [ "$got" = "requested accepted transferred received in_progress completed " ] && ok ||
    bad "delay $delay: intake history: $got"
  got=$("$haven" inbox show --json --config shelter-b.ini "$id" | jq -r '.result.history[].state' | tr '\n' ' ')
  [ "$got" = "offered accepted received in_progress completed " ] && ok ||
    bad "delay $delay: shelter B history: $got"
  got=$("$haven" inbox show --json --config shelter-a.ini "$id" | jq -r '.result.history[].state' | tr '\n' ' ')
  [ "$got" = "offered declined " ] && ok || bad "delay $delay: shelter A history: $got"
  hexid=$(tr a-f A-F <<<"$id")
  got=$(sqlite3 router.db "SELECT group_concat(provider || '=' || outcome, ' ') FROM
        (SELECT provider, outcome FROM candidates WHERE hex(referral) = '$hexid' ORDER BY pos)")
  [ "$got" = "shelter-a.xc=declined shelter-b.xc=accepted" ] && ok ||
    bad "delay $delay: router candidates: $got"
  # One case row, one vault entry at shelter B: the transfer was not stored twice.
  got=$(sqlite3 shelter-b.db "SELECT count(*) FROM vault_cases WHERE hex(referral) = '$hexid'")
  [ "$got" = 1 ] && ok || bad "delay $delay: shelter B holds $got copies of the case"
done
# Every outbox drained: nothing waits unsent anywhere.
for n in intake router shelter-a shelter-b; do
  wait_until 10 is 0 outbox "$n"
done
stop_all_and_check_logs
finish
