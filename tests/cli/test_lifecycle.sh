#!/usr/bin/env bash
# Cancel vs withdraw, legal holds, and erasure at the intake (issue 21,
# "lifecycle"), with real daemons on one country's network:
#   cancel_requested_confirmed_by_provider: the service is no longer needed;
#     shelter A closes the case as cancelled and keeps it; nothing is erased.
#   withdrawn_case_erased_at_intake: consent withdrawn in progress; shelter A
#     erases, confirms, and the intake erases its copy: show says so.
#   consent_withdrawn_after_completion_erased_at_provider: the same after
#     completed (erasure_requested → withdrawn).
#   legal_hold_recorded_with_reason: a withdrawal after completion answered
#     LEGAL_HOLD; the intake shows the basis and the reason; the release
#     erases at both. A hold answers a withdrawal of an open case the same.
#   legal_hold_from_another_provider_refused: a LEGAL_HOLD from a provider
#     that never held the case is refused; the holder's answer counts.
#   caseworker_cannot_erase: referral.erase on the staff socket is a
#     supervisor's; a caseworker gets HV_EFORBIDDEN, and the case stays.
#   retention_erases_closed_case_at_intake: a completed case whose closing
#     date is set back past retention_days in the intake's SQLite file (with
#     the intake stopped; no test clock) is erased by the tick; then that
#     person's name, alias, birth date and phone are in no intake file
#     (store, WAL, audit log, log).
# usage: test_lifecycle.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
sed -i "/^control = /a staff_control = staff/intake.staff.sock" intake.ini
mkdir -p staff
for n in broker router shelter-a intake; do start "$n"; done
cp "$example" adult.json
as() { "$bin/ctl_call" --as "$1" "$2" staff/intake.staff.sock "$3" "$4"; }
vault_rows() { # vault_rows DB ID: how many rows of the case's key and text
  local hex
  hex=$(tr a-f A-F <<<"$2")
  sqlite3 "$1" "SELECT (SELECT count(*) FROM vault_cases WHERE hex(referral) = '$hex') +
    (SELECT count(*) FROM vault_keys WHERE hex(referral) = '$hex')"
}
# open_case FILE: submitted, accepted by shelter A, received; prints the id.
open_case() {
  local id
  id=$(submit "$1")
  wait_until 10 is offered offer_state shelter-a "$id" || return 1
  "$haven" inbox accept --config shelter-a.ini "$id" >/dev/null || bad "accept $id"
  wait_until 10 is received intake_state "$id" || return 1
  echo "$id"
}
complete_case() {
  "$haven" inbox status --config shelter-a.ini "$1" --state in_progress >/dev/null ||
    bad "in_progress $1"
  "$haven" inbox status --config shelter-a.ini "$1" --state completed \
    --note "Placed in long-term accommodation" >/dev/null || bad "completed $1"
  wait_until 10 is completed intake_state "$1"
}
erased_reason() {
  "$haven" referral show --json --config intake.ini "$1" | jq -r '.result.erased_reason // ""'
}

# ---- cancel_requested_confirmed_by_provider
id1=$(open_case adult.json)
expect 1 "consent withdrawn is referral.withdraw, which erases the case) (HV_EINVAL)" \
  "$haven" referral cancel --config intake.ini "$id1" --code consent_withdrawn
expect 2 "--code" "$haven" referral cancel --config intake.ini "$id1"
expect 0 "cancel_requested (waiting for shelter-a.xc to confirm)" "$haven" referral cancel \
  --config intake.ini "$id1" --code placed_elsewhere --reason "found a place with relatives"
wait_until 10 is cancelled intake_state "$id1"
is cancelled case_state shelter-a "$id1" && ok || bad "shelter A's case is not cancelled"
[ "$(vault_rows shelter-a.db "$id1")" = 2 ] && ok || bad "the cancel erased shelter A's case"
expect 0 "$(printf '%-18s by' cancelled) ngo.xc: cancelled by the intake (placed_elsewhere): found a place" \
  "$haven" inbox show --config shelter-a.ini "$id1"
[ "$("$haven" referral show --json --case --config intake.ini "$id1" | jq -r '.result.case | length')" -gt 0 ] &&
  ok || bad "the cancel erased the intake's case"
expect 1 "only an open referral can be cancelled (HV_EPROTO)" "$haven" referral cancel \
  --config intake.ini "$id1" --code other

# ---- withdrawn_case_erased_at_intake
id2=$(open_case adult.json)
"$haven" inbox status --config shelter-a.ini "$id2" --state in_progress >/dev/null || bad "status"
wait_until 10 is in_progress intake_state "$id2"
expect 0 "withdraw_requested" "$haven" referral withdraw --config intake.ini "$id2" \
  --reason "the person withdrew consent"
wait_until 10 is withdrawn intake_state "$id2"
[ "$(vault_rows shelter-a.db "$id2")" = 0 ] && ok || bad "shelter A kept the withdrawn case"
[ "$(vault_rows intake.db "$id2")" = 0 ] && ok || bad "the intake kept the withdrawn case"
[ "$(erased_reason "$id2")" = consent_withdrawn ] && ok || bad "no erasure recorded for $id2"
expect 0 "case erased on " "$haven" referral show --config intake.ini "$id2"
expect 0 "(consent withdrawn, erased at the provider too)" "$haven" referral show \
  --config intake.ini "$id2"
[ "$("$haven" referral show --json --case --config intake.ini "$id2" | jq -r '.result.case // "none"')" = none ] &&
  ok || bad "show --case still prints the withdrawn case"
hex2=$(tr a-f A-F <<<"$id2")
# The history keeps its states and dates; no detail but the erasure's own.
[ "$(sqlite3 intake.db "SELECT count(*) FROM history WHERE hex(referral) = '$hex2' AND
  detail IS NOT NULL AND state != 'case_erased'")" = 0 ] && ok || bad "history details kept"
[ "$(sqlite3 intake.db "SELECT count(*) FROM history WHERE hex(referral) = '$hex2'")" -ge 6 ] &&
  ok || bad "the history's states were not kept"
wait_until 10 grep -q "\"subject\":\"$id2\",\"event\":\"case_erased\",\"by\":\"shelter-a.xc\"" \
  intake.db.audit

# ---- consent_withdrawn_after_completion_erased_at_provider
id3=$(open_case adult.json)
complete_case "$id3"
[ "$(vault_rows shelter-a.db "$id3")" = 2 ] && ok || bad "shelter A has no completed case"
expect 0 "erasure_requested (waiting for shelter-a.xc to confirm)" "$haven" referral withdraw \
  --config intake.ini "$id3" --reason "the person withdrew consent after the placement"
wait_until 10 is withdrawn intake_state "$id3"
is withdrawn offer_state shelter-a "$id3" && ok || bad "shelter A's offer is not withdrawn"
[ "$(vault_rows shelter-a.db "$id3")" = 0 ] && ok || bad "shelter A kept the completed case"
[ "$(vault_rows intake.db "$id3")" = 0 ] && ok || bad "the intake kept the completed case"
expect 1 "there is nothing to withdraw (its case is erased)" "$haven" referral withdraw \
  --config intake.ini "$id3" --reason again

# ---- legal_hold_recorded_with_reason
id4=$(open_case adult.json)
hold_reason="Court proceedings XC-2026-17 against the employer are pending"
expect 1 "a basis is required, one of: legal_obligation, legal_claims, public_interest, other" \
  "$haven" case hold --config shelter-a.ini "$id4" --basis consent --reason "$hold_reason"
expect 0 "legal hold placed (legal_claims)" "$haven" case hold --config shelter-a.ini "$id4" \
  --basis legal_claims --reason "$hold_reason"
expect 1 "already under a legal hold (legal_claims" "$haven" case hold --config shelter-a.ini \
  "$id4" --basis legal_obligation --reason again
complete_case "$id4"
expect 0 "erasure_requested" "$haven" referral withdraw --config intake.ini "$id4" \
  --reason "the person withdrew consent"
wait_until 10 is legal_hold intake_state "$id4"
expect 0 "legal hold: shelter-a.xc keeps the case (legal_claims): $hold_reason" \
  "$haven" referral show --config intake.ini "$id4"
[ "$("$haven" referral show --json --config intake.ini "$id4" | jq -r .result.legal_hold.reason)" = "$hold_reason" ] &&
  ok || bad "the hold's reason is not in the intake's JSON"
[ "$(vault_rows shelter-a.db "$id4")" = 2 ] && ok || bad "shelter A erased a held case"
[ "$(vault_rows intake.db "$id4")" = 2 ] && ok || bad "the intake erased a case still held"
expect 0 "erasure_held" "$haven" inbox show --config shelter-a.ini "$id4"
expect 0 "(consent was withdrawn: erased when the hold is released)" "$haven" inbox show \
  --config shelter-a.ini "$id4"
expect 1 "keeps the case under a legal hold and erases it when the hold is released" \
  "$haven" referral withdraw --config intake.ini "$id4" --reason again
# The reason is sealed at rest at both ends.
stop_marker() { /usr/bin/python3 "$here/scan_secrets.py" --secret "XC-2026-17" "$@"; }
expect 0 "legal hold released; the case was erased" "$haven" case release \
  --config shelter-a.ini "$id4"
wait_until 10 is withdrawn intake_state "$id4"
[ "$(vault_rows shelter-a.db "$id4")" = 0 ] && ok || bad "the release left the case at shelter A"
[ "$(vault_rows intake.db "$id4")" = 0 ] && ok || bad "the release left the case at the intake"
expect 1 "not under a legal hold (HV_ENOTFOUND)" "$haven" case release --config shelter-a.ini "$id4"

# A hold answers a withdrawal of an open case too; the provider then
# reports no more on it.
id7=$(open_case adult.json)
expect 0 "legal hold placed (legal_obligation)" "$haven" case hold --config shelter-a.ini "$id7" \
  --basis legal_obligation --reason "Kept for the labour inspectorate's inquiry"
expect 0 "withdraw_requested" "$haven" referral withdraw --config intake.ini "$id7" \
  --reason "the person withdrew consent"
wait_until 10 is legal_hold intake_state "$id7"
expect 0 "(legal_obligation): Kept for the labour inspectorate's inquiry" "$haven" referral show \
  --config intake.ini "$id7"
expect 1 "consent was withdrawn: the case is kept only under the legal hold (legal_obligation)" \
  "$haven" inbox status --config shelter-a.ini "$id7" --state in_progress
expect 0 "legal hold released; the case was erased" "$haven" case release \
  --config shelter-a.ini "$id7"
wait_until 10 is withdrawn intake_state "$id7"
[ "$(vault_rows intake.db "$id7")" = 0 ] && ok || bad "the release left the open case at the intake"

# ---- caseworker_cannot_erase
id5=$(open_case adult.json)
sqlite3 -cmd ".timeout 5000" intake.db "UPDATE referrals SET created_by = 'caseworker-1' WHERE hex(id) = '$(tr a-f A-F <<<"$id5")'"
reply=$(as caseworker-1 caseworker referral.erase "{\"id\":\"$id5\",\"reason\":\"tidy up\"}")
[ "$(jq -r .error <<<"$reply")" = HV_EFORBIDDEN ] && ok || bad "caseworker erase: $reply"
reply=$(as supervisor-1 supervisor referral.erase "{\"id\":\"$id5\",\"reason\":\"tidy up\"}")
[ "$(jq -r .error <<<"$reply")" = HV_EPROTO ] && ok || bad "erase of an open referral: $reply"
complete_case "$id5"
reply=$(as caseworker-1 caseworker referral.erase "{\"id\":\"$id5\",\"reason\":\"tidy up\"}")
[ "$(jq -r .error <<<"$reply")" = HV_EFORBIDDEN ] && ok || bad "caseworker erase: $reply"
[ "$(vault_rows intake.db "$id5")" = 2 ] && ok || bad "a caseworker's erase erased the case"
reply=$(as supervisor-1 supervisor referral.erase "{\"id\":\"$id5\"}")
[ "$(jq -r .error <<<"$reply")" = HV_EINVAL ] && ok || bad "erase without a reason: $reply"
reply=$(as supervisor-1 supervisor referral.erase \
  "{\"id\":\"$id5\",\"reason\":\"entered twice; the other referral is kept\"}")
[ "$(jq -r .ok <<<"$reply")" = true ] && ok || bad "supervisor erase: $reply"
[ "$(vault_rows intake.db "$id5")" = 0 ] && ok || bad "the supervisor's erase left the case"
[ "$(erased_reason "$id5")" = by_hand ] && ok || bad "no erasure recorded for $id5"
expect 0 "$(printf '%-18s by' case_erased) ngo.xc/supervisor-1: by_hand: entered twice" "$haven" \
  referral show --config intake.ini "$id5"
expect 1 "the case was erased already" "$haven" referral erase --config intake.ini "$id5" \
  --reason again
wait_until 10 grep -q "\"subject\":\"$id5\",\"event\":\"case_erased\",\"by\":\"ngo.xc/supervisor-1\"" \
  intake.db.audit

# ---- retention_erases_closed_case_at_intake: another synthetic person
jq '.subject.names[0].given = "Selam" | .subject.names[0].family = "Retention-Sample" |
    .subject.aliases = ["Sel R."] | .subject.date_of_birth = "1994-02-09" |
    .subject.safe_contact.value = "+000 555 0177 (synthetic)"' adult.json > retention.json
id6=$(open_case retention.json)
complete_case "$id6"
expect 0 "subject:  Selam Retention-Sample" "$haven" referral show --config intake.ini "$id6"
# Closed 366 days ago, as the intake's own file says (retention_days is 365).
stop intake
sqlite3 intake.db "UPDATE referrals SET updated_s = updated_s - 366 * 86400 WHERE
  hex(id) = '$(tr a-f A-F <<<"$id6")'"
start intake
wait_until 10 is retention_ended erased_reason "$id6"
expect 0 "(the retention period ended)" "$haven" referral show --config intake.ini "$id6"
[ "$(vault_rows intake.db "$id6")" = 0 ] && ok || bad "retention left the case at the intake"
[ "$(erased_reason "$id1")" = "" ] && ok || bad "retention erased a case closed today"
[ "$(sqlite3 intake.db "SELECT hold_reason IS NULL FROM referrals WHERE hex(id) = '$(tr a-f A-F <<<"$id4")'")" = 1 ] &&
  ok || bad "the hold's reason outlived the erasure"

# legal_hold_from_another_provider_refused: a LEGAL_HOLD signed by shelter B,
# which never held the case, for a referral whose erasure shelter A has not
# yet answered, is refused by the intake; shelter A's answer still counts.
id8=$(open_case adult.json)
complete_case "$id8"
stop shelter-a
expect 0 "erasure_requested" "$haven" referral withdraw --config intake.ini "$id8" \
  --reason "the person withdrew consent"
printf '\x93\x01\x15\x93\xaclegal_claims\xa6forged\x00' > forged-hold.body
"$haven" seal --authority keys/authority.pub --registry network.reg --key keys/shelter-b.xc.key \
  --to ngo.xc --type LEGAL_HOLD --referral "$id8" --in forged-hold.body \
  --out forged-hold.env >/dev/null 2>&1 || bad "seal the forged hold"
expect 0 "1 envelope(s) stored" "$haven" send --authority keys/authority.pub \
  --registry network.reg --key keys/shelter-b.xc.key --store shelter-b-cli.db forged-hold.env
intake_refused_hold() {
  [ "$(sqlite3 intake.db "SELECT count(*) FROM refused WHERE sender = 'shelter-b.xc' AND
    type = 21 AND reason = 'only shelter-a.xc holds this case'")" = 1 ]
}
wait_until 10 intake_refused_hold
is erasure_requested intake_state "$id8" && ok || bad "a forged hold moved the referral"
start shelter-a
wait_until 10 is withdrawn intake_state "$id8"

stop_all_and_check_logs
files() { local f; for f in "$@"; do [ -e "$f" ] && echo "$f"; done; }
mapfile -t intake_files < <(files intake.db intake.db-wal intake.db.audit intake.log)
expect 0 "clean:" /usr/bin/python3 "$here/scan_secrets.py" --secret Selam \
  --secret Retention-Sample --secret "Sel R." --secret 1994-02-09 --secret "555 0177" \
  "${intake_files[@]}"
mapfile -t both_files < <(files intake.db intake.db-wal shelter-a.db shelter-a.db-wal \
  intake.log shelter-a.log)
expect 0 "clean:" stop_marker "${both_files[@]}"
finish
