#!/usr/bin/env bash
# A referral end to end with real daemons (one broker, an intake, a router,
# providers), driven through the haven CLI as caseworkers would:
#  1. shelter A declines, shelter B accepts, receives the case, reports
#     in_progress and completed; the intake shows the whole history;
#  2. no provider fits: NO_MATCH with its reasons reaches the intake;
#  3. consent withdrawn: shelter B erases the case.
# Then need to know: no store but the intake's and the accepting
# provider's ever held the case, and those hold it only encrypted; the
# router received the summary and nothing else.
# usage: test_referral_flow.sh BIN_DIR EXAMPLE_REFERRAL [SCREENSHOT.png]
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
screenshot=$(realpath -m "${3:-dashboard.png}")
flow_setup "$1"
# Shelter A publishes its places every second (issue 21), so that its
# decline for want of places below stands only until then.
printf '[provider]\ncapacity_every_s = 1\n' >> shelter-a.ini
# Each kind of worker serves its metrics (issue 23): loopback without a
# token, shelter B with one; a worker bound beyond loopback needs a token.
read -r intake_mport router_mport shelter_a_mport shelter_b_mport <<<"$(free_ports 4)"
metrics_token=flow-metrics-token-0123456789
printf '[metrics]\nbind = 127.0.0.1:%s\n' "$intake_mport" >> intake.ini
printf '[metrics]\nbind = 127.0.0.1:%s\n' "$router_mport" >> router.ini
printf '[metrics]\nbind = 127.0.0.1:%s\n' "$shelter_a_mport" >> shelter-a.ini
printf '[metrics]\nbind = 127.0.0.1:%s\ntoken = %s\n' "$shelter_b_mport" "$metrics_token" >> shelter-b.ini
sed "s/^bind = 127.0.0.1:$intake_mport\$/bind = 0.0.0.0:$intake_mport/" intake.ini > open-metrics.ini
expect 1 "[metrics] bind: 0.0.0.0 is not loopback; set a token (HV_ECONFIG)" \
  "$bin/haven-intake" -c open-metrics.ini -n
printf 'token = short\n' >> open-metrics.ini
expect 1 "[metrics] token: expected 16 to 128 characters (HV_ECONFIG)" \
  "$bin/haven-intake" -c open-metrics.ini -n

for n in broker router shelter-a shelter-b legal intake; do start "$n"; done
cp "$example" adult.json
# An operator follows the broker's events for the whole test; they are
# scanned with everything else an operator sees at the end.
"$haven" monitor --json --key keys/ops.xc.key --authority keys/authority.pub --registry network.reg \
  --broker broker.xc --endpoint "$events_endpoint" --timeout 600 > operator-events.json 2>&1 &
monitor_pid=$!
wait_until 10 grep -q "watching the events of broker.xc" operator-events.json
# The subscription takes effect when the broker reads it, and logs it.
wait_until 10 grep -q "event=events_watcher_in node=ops.xc" broker.log

# ---- 1. decline, accept, transfer, status, completion
id=$(submit adult.json)
[ ${#id} -eq 32 ] && ok || bad "submit gave no id: '$id'"
wait_until 10 is offered offer_state shelter-a "$id"
expect 0 "declined (no_capacity)" "$haven" inbox decline --config shelter-a.ini "$id" \
  --reason no_capacity --note "full until next week"
wait_until 10 is offered offer_state shelter-b "$id"
# Shelter A said it has no places: none are counted until it publishes again.
basis_a() {
  "$haven" pathway show --json --config router.ini |
    jq -r '[.result.pathway.shelter[] | select(.id == "shelter-a.xc")][0].places.basis'
}
wait_until 10 is published basis_a
# Before accepting, shelter B sees the summary only.
expect 0 "case:     not received" "$haven" inbox show --config shelter-b.ini "$id"
expect 0 "accepted" "$haven" inbox accept --config shelter-b.ini "$id"
wait_until 10 is received intake_state "$id"
wait_until 10 is received case_state shelter-b "$id"
expect 0 "Example-Testcase" "$haven" inbox show --config shelter-b.ini "$id"
# A bad value is a refusal with its code; a missing one a usage error.
expect 1 "(HV_EINVAL)" "$haven" inbox status --config=shelter-b.ini "$id" --state=bogus
expect 2 "haven inbox status: option --state is required" \
  "$haven" inbox status --config shelter-b.ini "$id"
expect 1 "the case is received; it cannot become completed" \
  "$haven" inbox status --config shelter-b.ini "$id" --state completed --note "too early"
expect 0 "status in_progress sent to ngo.xc" \
  "$haven" inbox status --config shelter-b.ini "$id" --state in_progress
wait_until 10 is in_progress intake_state "$id"
expect 1 "completed needs a note: the outcome" \
  "$haven" inbox status --config shelter-b.ini "$id" --state completed
expect 0 "status completed sent" "$haven" inbox status --config shelter-b.ini "$id" \
  --state completed --note "Placed in long-term accommodation"
wait_until 10 is completed intake_state "$id"
history=$("$haven" referral show --json --config intake.ini "$id" | jq -r '.result.history[].state' | tr '\n' ' ')
[ "$history" = "requested accepted transferred received in_progress completed " ] && ok ||
  bad "intake history: $history"
expect 0 "Placed in long-term accommodation" "$haven" referral show --config intake.ini "$id"
# The broker's HTTP endpoint: strict Prometheus text, health, JSON stats, token enforced.
http_get() { # http_get PATH [TOKEN]: prints "STATUS BODY"
  /usr/bin/python3 - "$http_base$1" "${2:-}" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]} if sys.argv[2] else {})
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
PY
}
# The broker publishes a snapshot twice a second: wait for one that holds
# the acknowledgements, then check it strictly.
metrics_ok() { /usr/bin/python3 "$here/check_metrics.py" "$http_base/metrics" "$http_token" broker broker.xc --flow XC >/dev/null; }
wait_until 10 metrics_ok
expect 0 "strictly valid" /usr/bin/python3 "$here/check_metrics.py" "$http_base/metrics" "$http_token" broker broker.xc --flow XC
expect 0 "200 ok" http_get /healthz "$http_token"
expect 0 "401 token required" http_get /healthz
expect 0 "401 token required" http_get /metrics wrong-token-0123456789
expect 0 "404 not found" http_get /cases "$http_token"
stats_json=$(http_get /api/stats "$http_token" | cut -d' ' -f2-)
[ "$(jq -r '.flows[] | select(.from == "XC" and .to == "XC") | .count > 0' <<<"$stats_json")" = true ] &&
  ok || bad "api/stats: $stats_json"
# The dashboard in headless Chromium: it loads and shows the live numbers.
chrome() {
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chrome" \
    --virtual-time-budget=4000 "$@" 2>/dev/null
}
dom=$(chrome --dump-dom "$http_base/?token=$http_token")
grep -qE 'id="stored">[1-9][0-9]*<' <<<"$dom" && ok || bad "dashboard shows no stored count: $(grep -o 'id="stored">[^<]*' <<<"$dom")"
grep -qE '<td>XC</td><td>XC</td><td>[1-9]' <<<"$dom" && ok || bad "dashboard shows no XC flow"
grep -q 'id="broker">broker.xc<' <<<"$dom" && ok || bad "dashboard shows no broker"
chrome --window-size=1280,900 --screenshot="$screenshot" "$http_base/?token=$http_token" >/dev/null
[ "$(head -c 8 "$screenshot" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && ok ||
  bad "no dashboard screenshot at $screenshot"
echo "dashboard screenshot: $screenshot"
expect 0 "401 token required" http_get /
# A transport acknowledgement never shows as acceptance: the router's
# decline reason is in its own history, shelter A's offer is declined.
is declined offer_state shelter-a "$id" && ok || bad "shelter A's offer is not declined"
expect 1 "HV_EPROTO" "$haven" inbox accept --config shelter-a.ini "$id"
# Export for the agency's own system: the case with its history, mode 0600.
expect 0 "written to case.json (mode 0600)" "$haven" inbox export --config shelter-b.ini "$id" --out case.json
[ "$(stat -c %a case.json)" = 600 ] && ok || bad "export mode $(stat -c %a case.json)"
[ "$(jq -r '.case_file.subject.names[0].family' case.json)" = "Example-Testcase" ] && ok ||
  bad "export lacks the case"
[ "$(jq -r .format case.json)" = "haven-case-export/1" ] && ok || bad "export format"
expect 1 "cannot write case.json (it must not exist yet): File exists (HV_EEXIST)" "$haven" inbox export --config shelter-b.ini "$id" --out case.json

# A destination without a referral pathway in the registry: refused before sending.
sed 's/"country": "XC"/"country": "XQ"/' adult.json > nowhere.json
expect 1 "no referral router for country XQ in the registry (HV_EUNROUTABLE)" \
  "$haven" referral submit --config intake.ini nowhere.json

# ---- 2. nobody fits: NO_MATCH with reasons
sed -e 's/"service": "shelter"/"service": "legal_aid"/' \
    -e 's/"region": "Example Capital Region"/"region": "Example Coastal Region"/' adult.json > coastal.json
id2=$(submit coastal.json)
wait_until 10 is no_match intake_state "$id2"
expect 0 "legal.xc: does not serve Example Coastal Region" "$haven" referral show --config intake.ini "$id2"
# legal.xc never saw an offer.
expect 1 "no referral" "$haven" inbox show --config legal.ini "$id2"

# ---- tampered and misaddressed messages: refused, recorded, reported
stop legal # its key now speaks through the CLI below
reg=(--authority keys/authority.pub --registry network.reg)
corpus="$here/../fuzz/corpus/msg"
tail -c +2 "$corpus/seed-STATUS" > status.body
tail -c +2 "$corpus/seed-CASE_TRANSFER" > case.body
tail -c +2 "$corpus/seed-ACCEPT" > accept.body
seal() { "$haven" seal "${reg[@]}" --key "keys/$1.key" --to "$2" --type "$3" --referral "$id" --in "$4" --out "$5" >/dev/null 2>&1; }
# A status about shelter B's case from another provider.
seal legal.xc ngo.xc STATUS status.body misaddressed.env
# An acceptance from a provider the router never offered the referral to.
seal legal.xc router.xc ACCEPT accept.body not-offered.env
# A status whose ciphertext was altered on the way (one bit, inside the body).
seal legal.xc ngo.xc STATUS status.body tampered.env
pos=$(( $(stat -c %s tampered.env) - 64 - 20 ))
byte=$(od -An -tu1 -j "$pos" -N1 tampered.env | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of=tampered.env bs=1 seek="$pos" conv=notrunc 2>/dev/null
# Cases pushed at agencies that did not accept them from this intake.
seal other.xc shelter-a.xc CASE_TRANSFER case.body declined.env
seal other.xc shelter-b.xc CASE_TRANSFER case.body wrong-intake.env
expect 0 "3 envelope(s) stored" "$haven" send "${reg[@]}" --key keys/legal.xc.key --store legal-cli.db \
  misaddressed.env tampered.env not-offered.env
expect 0 "2 envelope(s) stored" "$haven" send "${reg[@]}" --key keys/other.xc.key --store other-cli.db \
  declined.env wrong-intake.env
refused() { sqlite3 "$1.db" "SELECT code || ' ' || reason FROM refused ORDER BY at_ms, reason" | tr '\n' '|'; }
wait_until 10 is "26 only shelter-b.xc may report on this case|10 signature or encryption check failed|" refused intake ||
  echo "    intake refused: $(refused intake)"
wait_until 10 is "26 this agency has not accepted referral (offer is declined)|" refused shelter-a
wait_until 10 is "26 the offer named ngo.xc as the intake, not other.xc|" refused shelter-b
# The wrong party is HV_EFORBIDDEN (26), not HV_EPROTO (PROTOCOL §9).
wait_until 10 is "26 legal.xc was never offered this referral|" refused router
# The senders hear of it.
notices=$("$haven" recv "${reg[@]}" --key keys/legal.xc.key --store legal-cli.db --count 0 --timeout 3 2>/dev/null)
grep -qF "only shelter-b.xc may report on this case (HV_EFORBIDDEN)" <<<"$notices" && ok || bad "legal: $notices"
grep -qF "signature or encryption check failed (HV_ECRYPTO)" <<<"$notices" && ok || bad "legal: $notices"
grep -qF "legal.xc was never offered this referral (HV_EFORBIDDEN)" <<<"$notices" && ok ||
  bad "legal: $notices"
notices=$("$haven" recv "${reg[@]}" --key keys/other.xc.key --store other-cli.db --count 0 --timeout 3 2>/dev/null)
grep -qF "the offer named ngo.xc as the intake, not other.xc (HV_EFORBIDDEN)" <<<"$notices" && ok ||
  bad "other: $notices"
grep -qF "message_refused type=STATUS from=legal.xc" intake.log && ok || bad "intake log lacks the refusal"
is completed intake_state "$id" && ok || bad "a refused message changed the referral"
is declined offer_state shelter-a "$id" && ok || bad "a refused case changed shelter A's offer"

# ---- the five refused messages are the broker's dead letters; operators act on them
dead() { "$haven" deadletters "$1" "${@:3}" --key "keys/$2.key" --authority keys/authority.pub \
           --registry network.reg --broker broker.xc --endpoint "$ops_endpoint"; }
dead_count() { dead list ops.xc --json | jq '.dead_letters | length'; }
wait_until 10 is 5 dead_count
listing=$(dead list ops.xc)
grep -qE "ACCEPT +legal.xc +router.xc +HV_EFORBIDDEN" <<<"$listing" && ok || bad "dead letters: $listing"
grep -qE "STATUS +legal.xc +ngo.xc +HV_ECRYPTO" <<<"$listing" && ok || bad "dead letters: $listing"
grep -qE "CASE_TRANSFER +other.xc +shelter-a.xc +HV_EFORBIDDEN" <<<"$listing" && ok ||
  bad "dead letters: $listing"
tampered_id=$(dead list ops.xc --json | jq -r '.dead_letters[] | select(.code == "HV_ECRYPTO") | .id')
misaddressed_id=$(dead list ops.xc --json |
  jq -r '.dead_letters[] | select(.type == "STATUS" and .code == "HV_EFORBIDDEN") | .id')
expect 0 "$tampered_id purged" dead purge ops.xc "$tampered_id"
wait_until 5 is 4 dead_count
expect 1 "no dead letter with that id" dead purge ops.xc "$tampered_id"
# Requeued, it is delivered again, refused again by the intake, and dies again.
expect 0 "$misaddressed_id requeued" dead requeue ops.xc "$misaddressed_id"
died_again() {
  [ "$(grep -c "event=dead_letter id=$misaddressed_id" broker.log)" = 2 ] &&
    dead list ops.xc --json | jq -e --arg id "$misaddressed_id" '.dead_letters[] | select(.id == $id)' >/dev/null
}
wait_until 10 died_again
grep -q "event=admin_action operator=ops.xc action=purge id=$tampered_id result=done" broker.log &&
  ok || bad "purge not recorded"
actions=$(sqlite3 broker.db "SELECT group_concat(operator || ' ' || action || ' ' || result, ', ') FROM admin_log")
[ "$actions" = "ops.xc purge done, ops.xc purge HV_ENOTFOUND, ops.xc requeue done" ] && ok ||
  bad "admin log: $actions"
# Workers are not operators.
expect 3 "no answer" dead list ngo.xc --timeout 2

# ---- 3. withdrawal: the provider erases the case
id3=$(submit adult.json)
wait_until 10 is offered offer_state shelter-a "$id3"
"$haven" inbox decline --config shelter-a.ini "$id3" --reason not_suitable >/dev/null
wait_until 10 is offered offer_state shelter-b "$id3"
"$haven" inbox accept --config shelter-b.ini "$id3" >/dev/null
wait_until 10 is received case_state shelter-b "$id3"
hexid=$(tr a-f A-F <<<"$id3")
sealed=$(sqlite3 shelter-b.db "SELECT hex(sealed) FROM vault_cases WHERE hex(referral) = '$hexid'")
[ ${#sealed} -gt 200 ] && ok || bad "shelter B holds no sealed case"
expect 0 "withdraw_requested" "$haven" referral withdraw --config intake.ini "$id3" \
  --reason "consent withdrawn by the person"
wait_until 10 is withdrawn intake_state "$id3"
is withdrawn offer_state shelter-b "$id3" && ok || bad "shelter B's offer is not withdrawn"
rows=$(sqlite3 shelter-b.db "SELECT (SELECT count(*) FROM vault_keys WHERE hex(referral) = '$hexid') +
  (SELECT count(*) FROM vault_cases WHERE hex(referral) = '$hexid') +
  (SELECT count(*) FROM cases WHERE hex(id) = '$hexid') +
  (SELECT count(*) FROM history WHERE hex(referral) = '$hexid' AND state != 'withdrawn')")
[ "$rows" = 0 ] && ok || bad "shelter B still has $rows rows of the withdrawn case"
# What stays is the bare fact of the withdrawal, so that a late message is
# answered correctly.
expect 0 "withdrawn          by ngo.xc: case erased" "$haven" inbox show --config shelter-b.ini "$id3"
expect 0 "erased:   the case file, its history and events" "$haven" inbox show --config shelter-b.ini "$id3"
[ "$("$haven" inbox show --json --config shelter-b.ini "$id3" | jq -c '.result.erased')" = '["case_file","history","events"]' ] &&
  ok || bad "the erased case does not list what was erased"
# Neither the key nor the ciphertext is left anywhere in B's files.
dump=$(cat shelter-b.db* | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F)
grep -q "${sealed:48:64}" <<<"$dump" && bad "the erased ciphertext is still in shelter B's files" || ok
expect 1 "there is nothing to withdraw" "$haven" referral withdraw --config intake.ini "$id3" --reason again

# ---- metrics of the broker and of each kind of worker, after all this:
# strictly parsed, each family listed with its type and held to the
# conventions (check_metrics.py); then every query of the Grafana
# dashboard and of the alert rules names only metrics seen here.
: > metric-names.txt
check_metrics() { /usr/bin/python3 "$here/check_metrics.py" "$@" --names metric-names.txt; }
mbase=http://127.0.0.1
# Three dead letters are held, two refused by their recipient (HV_EFORBIDDEN).
expect 0 "strictly valid" check_metrics "$http_base/metrics" "$http_token" broker broker.xc \
  --at-least 'haven_dead_letters_by_reason{reason=HV_EFORBIDDEN}=2' \
  --at-least 'haven_sessions{role=provider}=2' --at-least 'haven_commits_total=1'
# The intake refused two messages and holds referrals that completed.
expect 0 "strictly valid" check_metrics "$mbase:$intake_mport/metrics" "" intake ngo.xc \
  --at-least 'haven_worker_errors_total{kind=message_refused}=2' \
  --at-least 'haven_worker_referrals{state=completed}=1' --at-least 'haven_worker_broker_up=1'
expect 0 "strictly valid" check_metrics "$mbase:$router_mport/metrics" "" router router.xc \
  --at-least 'haven_worker_referrals{state=matched}=1'
expect 0 "strictly valid" check_metrics "$mbase:$shelter_a_mport/metrics" "" provider shelter-a.xc \
  --at-least 'haven_worker_referrals{state=declined}=1'
# Shelter B erased the withdrawn case; its endpoint wants its token.
expect 0 "strictly valid" check_metrics "$mbase:$shelter_b_mport/metrics" "$metrics_token" \
  provider shelter-b.xc --at-least 'haven_worker_erasures_total=1'
expect 1 "HTTP Error 401" /usr/bin/python3 "$here/check_metrics.py" "$mbase:$shelter_b_mport/metrics" "" \
  provider shelter-b.xc
# A worker's endpoint serves its metrics and its health, nothing else.
http_code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(http_code "$mbase:$intake_mport/healthz")" = 200 ] && ok || bad "intake /healthz"
for path in / /api/stats /dashboard; do
  [ "$(http_code "$mbase:$intake_mport$path")" = 404 ] && ok || bad "intake serves $path"
done
# What the check fails on: a counter without _total, a time without _seconds.
printf '# HELP bad_events Events.\n# TYPE bad_events counter\nbad_events 1\n# HELP bad_wait_ms How long it took.\n# TYPE bad_wait_ms gauge\nbad_wait_ms 5\n' > bad-metrics.txt
expect 1 "FAIL: bad_events: a counter without _total" /usr/bin/python3 "$here/check_metrics.py" \
  "file://$PWD/bad-metrics.txt" "" broker broker.xc
expect 1 "FAIL: bad_wait_ms: a unit other than seconds or bytes" /usr/bin/python3 \
  "$here/check_metrics.py" "file://$PWD/bad-metrics.txt" "" broker broker.xc
expect 0 "every query names a metric seen" /usr/bin/python3 "$here/check_dashboard.py" \
  metric-names.txt "$here/../../deploy/grafana/haven.json" "$here/../../deploy/prometheus/haven-alerts.yml"
# What that check stops: a panel that queries a name no /metrics has.
jq '.panels[2].targets[0].expr = "rate(haven_messages_stored_total[5m])"' \
  "$here/../../deploy/grafana/haven.json" > renamed.json
expect 1 "FAIL: panel 'Messages per second': haven_messages_stored_total is not in any /metrics seen" \
  /usr/bin/python3 "$here/check_dashboard.py" metric-names.txt renamed.json

# ---- 4. deadlines: unanswered offers time out and move on; then NO_MATCH
stop router
printf '[router]\noffer_timeout_s = 2\n' >> router.ini
start router
id4=$(submit adult.json)
wait_until 20 is no_match intake_state "$id4"
# Each provider saw the offer close: withdrawn by the router, or expired
# by its own clock first (both run on the same deadline).
offer_closed() { [[ "$(offer_state "$1" "$2")" =~ ^(withdrawn|expired)$ ]]; }
wait_until 10 offer_closed shelter-a "$id4"
wait_until 10 offer_closed shelter-b "$id4"
expect 0 "shelter-a.xc: timed_out: no answer by the offer's deadline; shelter-b.xc: timed_out" \
  "$haven" referral show --config intake.ini "$id4"
expect 1 "only an open offer can be accepted" \
  "$haven" inbox accept --config shelter-b.ini "$id4"

# ---- 5. deadlines: the referral's own respond-by passes: expired, reported
stop router
sed -i 's/^offer_timeout_s = 2$/offer_timeout_s = 3600/' router.ini
start router
soon=$(date -u -d "@$(( $(date -u +%s) + 6 ))" +%Y-%m-%dT%H:%M:%SZ)
sed "s/\"respond_by\": \"[^\"]*\"/\"respond_by\": \"$soon\"/" adult.json > soon.json
id5=$(submit soon.json)
wait_until 20 is expired intake_state "$id5"
expect 0 "no provider accepted by the respond-by time" "$haven" referral show --config intake.ini "$id5"
wait_until 10 offer_closed shelter-a "$id5"

# ---- 6. need to know at the edges (issue 20): a withhold reason, a decline
# note and a cancel reason go to the party that needs each, and no further.
# Each carries a marker; the scan at the end looks for them in every file.
withhold_marker=WITHHOLD-REASON-MARKER-4e1d
decline_marker=DECLINE-NOTE-MARKER-9b27
cancel_marker=CANCEL-REASON-MARKER-c35a
# The router keeps shelter A away itself and tells no provider of the list.
jq --arg r "$withhold_marker: seen with the recruiter" \
  '.risk.withhold_from = [{"organisation": "clinic.xc", "reason": $r},
                          {"organisation": "shelter-a.xc", "reason": $r}]' adult.json > withheld.json
id6=$(submit withheld.json)
wait_until 10 is offered offer_state shelter-b "$id6"
offer_exclude=$("$haven" inbox show --json --config shelter-b.ini "$id6" | jq -c .result.summary.exclude)
[ "$offer_exclude" = "[]" ] && ok || bad "withhold_list_not_sent_to_providers: the offer lists $offer_exclude"
expect 1 "no referral" "$haven" inbox show --config shelter-a.ini "$id6"
# Shelter B declines with a note: the router is told the code, the intake the note.
expect 0 "declined (not_suitable)" "$haven" inbox decline --config shelter-b.ini "$id6" \
  --reason not_suitable --note "$decline_marker: the person needs a ground-floor room"
wait_until 10 is no_match intake_state "$id6"
"$haven" referral show --config intake.ini "$id6" > intake-show-no-match.txt
grep -qF "shelter-a.xc: withheld by the referring organisation" intake-show-no-match.txt && ok ||
  bad "the intake does not show the withheld provider: $(cat intake-show-no-match.txt)"
grep -qF "shelter-b.xc: declined: not_suitable (note: $decline_marker: the person needs a ground-floor room)" \
  intake-show-no-match.txt && ok || bad "decline_note_shown_at_intake: $(cat intake-show-no-match.txt)"
history6=$("$haven" inbox show --json --config shelter-b.ini "$id6" | jq -r '.result.history[] | .state + " " + .detail' | tr '\n' '|')
[ "$history6" = "offered |declined not_suitable (note sealed to the intake)|" ] && ok ||
  bad "decline_note_not_kept_by_provider: $history6"
# The matched provider receives the case without the withhold reasons.
reasons=$("$haven" inbox show --json --config shelter-b.ini "$id" | jq -r '[.result.case_file.risk.withhold_from[].reason] | join("|")')
[ "$reasons" = "(kept by the referring organisation)" ] && ok || bad "withhold_reason_not_sent_to_provider: $reasons"
# A cancel: the router and shelter A hear a code; the words stay at the intake.
id7=$(submit adult.json)
wait_until 10 is offered offer_state shelter-a "$id7"
expect 1 "the code is one of: consent_withdrawn, no_longer_needed" "$haven" referral withdraw \
  --config intake.ini "$id7" --code moved --reason "$cancel_marker"
expect 0 "cancel_requested" "$haven" referral withdraw --config intake.ini "$id7" \
  --code placed_elsewhere --reason "$cancel_marker: the person found a place with relatives"
wait_until 10 is cancelled intake_state "$id7"
wait_until 10 is withdrawn offer_state shelter-a "$id7"
expect 0 "withdrawn          by router.xc: cancelled" "$haven" inbox show --config shelter-a.ini "$id7"
expect 0 "placed_elsewhere: $cancel_marker: the person found a place with relatives" \
  "$haven" referral show --config intake.ini "$id7"
# cancel_reason_not_accepted_by_router: a CANCEL with words in it, signed by
# the intake's key, is refused by the router (the intake itself never sends one).
stop intake
printf '\x93\x01\x0c\x92\xa5other\xa9free text' > cancel-with-text.body
"$haven" seal --authority keys/authority.pub --registry network.reg --key keys/ngo.xc.key \
  --to router.xc --type CANCEL --referral "$id7" --in cancel-with-text.body \
  --out cancel-with-text.env >/dev/null 2>&1
expect 0 "1 envelope(s) stored" "$haven" send --authority keys/authority.pub --registry network.reg \
  --key keys/ngo.xc.key --store ngo-cli.db cancel-with-text.env
router_refused_text() {
  [ "$(sqlite3 router.db "SELECT count(*) FROM refused WHERE reason = 'a cancel to the router carries a reason code only'")" = 1 ]
}
wait_until 10 router_refused_text
start intake
# The scan's own check inside the flow: what the intake shows is found.
scan() { /usr/bin/python3 "$here/scan_secrets.py" "$@"; }
expect 1 "as plain" scan --secret "$decline_marker" intake-show-no-match.txt

# ---- need to know: what operators can see (stats, dead letters, audit logs,
# every daemon's log) and every store's bytes hold no trace of the person
dead list ops.xc --json > operator-dead.json
expect 0 "refused by ngo.xc: only shelter-b.xc may report on this case" dead show ops.xc "$misaddressed_id"
"$haven" stats --key keys/ops.xc.key --authority keys/authority.pub --registry network.reg \
  --broker broker.xc --endpoint "$ops_endpoint" > operator-stats.txt
grep -q "ack latency: p50 <= " operator-stats.txt && ok || bad "stats: $(cat operator-stats.txt)"
grep -qE "^last [0-9]+ s: [0-9.]+ stored/s" operator-stats.txt && ok || bad "stats: $(cat operator-stats.txt)"
kill "$monitor_pid" 2>/dev/null; wait "$monitor_pid" 2>/dev/null
[ "$(grep -c '"event":"stored"' operator-events.json)" -ge 10 ] && ok ||
  bad "monitor saw $(grep -c '"event":"stored"' operator-events.json) stored events"
http_get /metrics "$http_token" > operator-metrics.txt
http_get /api/stats "$http_token" > operator-api-stats.json
"$haven" stats --json --key keys/ops.xc.key --authority keys/authority.pub --registry network.reg \
  --broker broker.xc --endpoint "$ops_endpoint" > operator-stats.json
[ "$(jq -r .broker operator-stats.json)" = broker.xc ] && ok || bad "no stats for the scan"
# What else an operator reads: the dashboard's data and each worker's metrics.
chrome --dump-dom "$http_base/?token=$http_token" > operator-dashboard.html
curl -s "$mbase:$router_mport/metrics" > operator-metrics-router.txt
curl -s "$mbase:$shelter_a_mport/metrics" > operator-metrics-shelter-a.txt
curl -s -H "Authorization: Bearer $metrics_token" "$mbase:$shelter_b_mport/metrics" > operator-metrics-shelter-b.txt
# The need-to-know scan (issue 20), in every encoding it knows: nothing of
# the person, of the withhold reasons, of the decline note or the cancel
# reason at any party that received none of them (the broker, the router,
# shelter A which accepted nothing, legal aid) nor in what operators see;
# and no provider holds the withhold list, its reasons, or a decline note
# (shelter B's own, for a referral it declined) or a cancel reason.
# The scan runs while the daemons run (their WALs) and after they stop.
person=(--secret Amina --secret Example-Testcase --secret "Mina T." --secret 1998-04-17
        --secret "555 0100" --secret "restaurant work" --secret "A recruiter is known")
markers=(--secret "$withhold_marker" --secret "$decline_marker" --secret "$cancel_marker")
need_to_know_scan() {
  expect 0 "clean:" scan "${person[@]}" "${markers[@]}" broker.* router.* shelter-a.* legal.* operator-*
  expect 0 "clean:" scan "${markers[@]}" --secret clinic.xc --secret "A recruiter is known" \
    shelter-a.* shelter-b.* legal.*
}
need_to_know_scan
stop intake; stop router; stop shelter-a; stop shelter-b; stop legal; stop broker
need_to_know_scan
for secret in "Amina" "Example-Testcase" "Mina T." "1998-04-17" "555 0100" "restaurant work" \
              "recruiter"; do
  for f in broker router shelter-a legal shelter-b intake; do
    if cat "$f".db* | grep -aqF "$secret"; then bad "'$secret' found in $f's store"; else ok; fi
  done
  if grep -qF "$secret" ./*.log ./*.audit operator-* 2>/dev/null; then
    bad "'$secret' found where operators look"
  else
    ok
  fi
done
# The router received exactly the summary's fields, nothing else.
start broker; start router
keys=$("$haven" pathway show --json --config router.ini | jq -r '.result.referrals[0].summary | keys | join(",")')
[ "$keys" = "age_band,bands,country,exclude,interpreter,languages,minor,needs,people,region,respond_by,service,sex,urgency" ] &&
  ok || bad "router summary fields: $keys"
# Every worker's audit log is intact, and an altered record is named.
for n in broker intake router shelter-a shelter-b; do
  expect 0 "chain intact" "$haven" audit verify "$n.db.audit"
done
# The broker's log records each envelope's custody and the operators' actions.
for ev in stored delivered dead_letter purged requeued; do
  grep -q "\"event\":\"$ev\"" broker.db.audit && ok || bad "broker audit lacks $ev"
done
grep -q "\"event\":\"purged\",\"by\":\"ops.xc\"" broker.db.audit && ok || bad "purge not attributed"
[ "$(grep -c '"event":"completed"' intake.db.audit)" -ge 1 ] && ok || bad "intake audit lacks completed"
sed '3s/"by":"[a-z0-9.-]*"/"by":"someone.else"/' intake.db.audit > altered.audit
expect 1 "altered.audit:3: broken: its hash does not match its content (the record was altered)" \
  "$haven" audit verify altered.audit
sed '2d' intake.db.audit > removed.audit
expect 1 "removed.audit:2: broken: sequence number out of order" "$haven" audit verify removed.audit

# Retention: with retention_days = 0, shelter B erases its closed cases.
printf '[provider]\nretention_days = 0\n' >> shelter-b.ini
start shelter-b
wait_until 10 is erased offer_state shelter-b "$id"
hexid=$(tr a-f A-F <<<"$id")
[ "$(sqlite3 shelter-b.db "SELECT count(*) FROM vault_cases WHERE hex(referral) = '$hexid'")" = 0 ] &&
  ok || bad "retention left the case in shelter B's store"
expect 1 "the case of referral $id was erased at the end of its retention period" \
  "$haven" inbox export --config shelter-b.ini "$id" --out late.json
# legacy_withhold_list_scrubbed_at_provider: an offer stored before issue 20
# holds the withhold list in its summary; the provider rewrites it without,
# and the list is then in none of its files.
stop shelter-b
legacy_offer=930102939b0092920003920302030401c292a27469a2656ec392a25843b64578616d706c65204361706974616c20526567696f6e91a9636c696e69632e7863cef4850580aa7368656c7465722e7863ce6b023080
sqlite3 shelter-b.db "UPDATE offers SET summary = X'$legacy_offer', scrubbed = 0 WHERE hex(id) = '$(tr a-f A-F <<<"$id6")'"
expect 1 "'clinic.xc' as plain" scan --secret clinic.xc shelter-b.db
start shelter-b
unscrubbed() { sqlite3 shelter-b.db "SELECT count(*) FROM offers WHERE scrubbed = 0"; }
wait_until 10 is 0 unscrubbed
[ "$("$haven" inbox show --json --config shelter-b.ini "$id6" | jq -c .result.summary.exclude)" = "[]" ] &&
  ok || bad "legacy_withhold_list_scrubbed_at_provider: the old offer does not load without its list"
stop shelter-b
expect 0 "clean:" scan --secret clinic.xc shelter-b.*
stop_all_and_check_logs
finish
