#!/usr/bin/env bash
# Case messages (issue 21) across the three-country network (fed_lib.sh,
# every broker on loopback): a referral from ngo.xa in XA accepted by
# shelter A in XC, and then
#   case_messages_both_ways: the intake writes to shelter A and shelter A
#     back; each side sees the delivered and read marks of its own
#     messages arrive, and `haven message list` prints the same thread, to
#     the byte, at both; 8,000 bytes go, 8,001 are refused with the limit;
#     before the transfer, a named refusal; no message text in any file
#     of any node, nor in a broker's, router's or shelter B's;
#   case_message_from_other_provider_refused: shelter B, which was never
#     matched, sends a CASE_MESSAGE about the referral to the intake (and
#     one to shelter A): refused, recorded in the receiver's `refused`
#     table, and nothing shows in the thread;
#   case_messages_erased_with_the_case: after a withdrawal, shelter A's
#     rows are gone and no message text is in any of its files;
#   status_note_over_limit_refused: a status note of 1,025 bytes is
#     refused with the limit and nothing is sent; 1,024 bytes arrive whole.
# Each is its own ctest entry (the CASE argument). Needs jq and sqlite3.
# usage: test_case_messages.sh BIN_DIR EXAMPLE_REFERRAL CASE
set -u
case_name=$3
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/fed_lib.sh"
example=$(realpath "$2")
fed_setup "$1" 127.0.0.1 127.0.0.1 127.0.0.1
# The staff socket, for haven-web's roles (ctl_call --as).
mkdir -p staff
sed -i "/^control = /a staff_control = staff/intake.staff.sock" intake.ini
# Shelter A keeps no closed case: erased at its next tick (retention).
[ "$case_name" = case_messages_erased_with_the_case ] &&
  printf '[provider]\nretention_days = 0\n' >> shelter-a.ini
for n in broker-xa broker-xb broker-xc router shelter-a shelter-b intake; do start "$n"; done
wait_until 20 grep -q "event=peer_up node=broker.xc direction=out" broker-xa.log
cp "$example" adult.json
reg=(--authority keys/authority.pub --registry network.reg)

# The texts: synthetic, and looked for in every file at the end.
text1="Mina asks whether the shelter has a room on the ground floor; her knee is hurt."
text2="We have one. The intake interview is on Thursday at 10:00, with an interpreter."
text3="Thank you. She will bring the clinic's letter."

# msgs NAME ID: the worker's thread as JSON items.
msgs() { "$haven" message list --json --config "$1.ini" "$2" | jq -c .result.items; }
# count NAME ID: how many messages the worker holds about ID.
count() { msgs "$1" "$2" | jq length; }
# mark NAME ID N FIELD: FIELD (delivered_at, read_at) of message N there,
# of the side that wrote it as FROM (intake/provider).
field() { msgs "$1" "$2" | jq -r --arg f "$3" --argjson n "$4" --arg w "$5" \
            '.[] | select(.n == $n and .from == $w) | .[$f]'; }
has_field() { [ -n "$(field "$@")" ]; }

id=$(submit adult.json)
wait_until 20 is offered offer_state shelter-a "$id"
"$haven" inbox accept --config shelter-a.ini "$id" >/dev/null || bad "accept"
wait_until 20 is received intake_state "$id"

# expected_list NAME ID: `haven message list` as it must read, built from
# the worker's JSON (the times are the only thing not known in advance).
hhmm() { # MARK MSG_AT
  if [ "${1:0:10}" = "${2:0:10}" ]; then printf '%s' "${1:11:5}"; else printf '%s %s' "${1:0:10}" "${1:11:5}"; fi
}
expected_list() {
  local json i n from by at text d r f
  json=$(msgs "$1" "$2")
  for ((i = 0; i < $(jq length <<<"$json"); i++)); do
    n=$(jq -r ".[$i].n" <<<"$json")
    from=$(jq -r ".[$i].from" <<<"$json")
    by=$(jq -r ".[$i].by" <<<"$json")
    at=$(jq -r ".[$i].at" <<<"$json")
    text=$(jq -r ".[$i].text" <<<"$json")
    d=$(jq -r ".[$i].delivered_at" <<<"$json")
    r=$(jq -r ".[$i].read_at" <<<"$json")
    f=$(jq -r ".[$i].failed" <<<"$json")
    [ "$i" -gt 0 ] && echo
    echo "$n. from the $from ($by), ${at:0:10} ${at:11:5} UTC"
    sed 's/^/   /' <<<"$text"
    if [ -n "$f" ]; then echo "   not delivered: $f"
    elif [ -z "$d" ]; then echo "   not delivered yet"
    elif [ -z "$r" ]; then echo "   delivered $(hhmm "$d" "$at"), not read yet"
    else echo "   delivered $(hhmm "$d" "$at"), read $(hhmm "$r" "$at")"; fi
  done
}

# no_text_anywhere FILES...: no message text, in any encoding the scan
# knows, in these files.
no_text_anywhere() {
  expect 0 "clean:" /usr/bin/python3 "$here/scan_secrets.py" --secret "$text1" \
    --secret "$text2" --secret "$text3" --secret "ground floor" --secret "clinic's letter" "$@"
}

case $case_name in
case_messages_both_ways)
  # Before the transfer: a named refusal on both sides.
  id2=$(submit adult.json)
  wait_until 20 is offered offer_state shelter-a "$id2"
  expect 1 "referral is requested; case messages are exchanged with the provider only once the case was transferred to it, and not after a withdrawal (HV_EPROTO)" \
    "$haven" message send --config intake.ini "$id2" "too early"
  expect 1 "no case has been received for this referral (offer is offered); case messages are exchanged only about a case held here (HV_EPROTO)" \
    "$haven" message send --config shelter-a.ini "$id2" "too early"
  expect 0 "no messages about this case yet" "$haven" message list --config intake.ini "$id"
  # The intake writes; shelter A stores it and says so; a person reads it.
  expect 0 "message 1 sent to shelter-a.xc" "$haven" message send --config intake.ini "$id" "$text1"
  wait_until 20 is 1 count shelter-a "$id"
  wait_until 20 has_field intake "$id" delivered_at 1 intake
  [ "$(field shelter-a "$id" text 1 intake)" = "$text1" ] && ok || bad "text at shelter A"
  [ "$(field intake "$id" read_at 1 intake)" = "" ] && ok || bad "read before anyone read it"
  expect 0 "marked read up to message 1; ngo.xa will be told" \
    "$haven" message read --config shelter-a.ini "$id" 1
  wait_until 20 has_field intake "$id" read_at 1 intake
  expect 0 "messages up to 1 were read already" "$haven" message read --config shelter-a.ini "$id" 1
  expect 1 "no message 2 has come from ngo.xa (1 so far) (HV_ENOTFOUND)" \
    "$haven" message read --config shelter-a.ini "$id" 2
  expect 2 "N must be a message's number (1, 2, ...), not '0'" \
    "$haven" message read --config shelter-a.ini "$id" 0
  # Shelter A answers in two lines from a file, then the intake again.
  printf '%s\nAsk for Example Shelter A at the gate.' "$text2" > answer.msg
  expect 0 "message 1 sent to ngo.xa" "$haven" message send --config shelter-a.ini "$id" --file answer.msg
  rm answer.msg
  wait_until 20 is 2 count intake "$id"
  wait_until 20 has_field shelter-a "$id" delivered_at 1 provider
  expect 0 "message 2 sent to shelter-a.xc" "$haven" message send --config intake.ini "$id" "$text3"
  wait_until 20 is 3 count shelter-a "$id"
  wait_until 20 has_field intake "$id" delivered_at 2 intake
  expect 0 "marked read up to message 1; shelter-a.xc will be told" \
    "$haven" message read --config intake.ini "$id" 1
  wait_until 20 has_field shelter-a "$id" read_at 1 provider
  # The thread at both: the same messages, in the same order, each side's
  # marks as the other sent them.
  for w in intake shelter-a; do
    got=$("$haven" message list --config "$w.ini" "$id")
    want=$(expected_list "$w" "$id")
    [ "$got" = "$want" ] && ok || bad "message list at $w:"$'\n'"$got"$'\n'"--- expected:"$'\n'"$want"
  done
  [ "$(msgs intake "$id" | jq -c '[.[] | [.n, .from, .by]]')" = \
    '[[1,"intake","ngo.xa/host-admin"],[1,"provider","shelter-a.xc"],[2,"intake","ngo.xa/host-admin"]]' ] &&
    ok || bad "thread at the intake: $(msgs intake "$id")"
  [ "$(msgs shelter-a "$id" | jq -c '[.[] | [.n, .from, .by]]')" = \
    '[[1,"intake","ngo.xa"],[1,"provider","shelter-a.xc/host-admin"],[2,"intake","ngo.xa"]]' ] &&
    ok || bad "thread at shelter A: $(msgs shelter-a "$id")"
  # Shelter A's second message from the intake is delivered, not read.
  [ "$(field shelter-a "$id" read_at 2 intake)" = "" ] && ok || bad "message 2 marked read"
  grep -q "^   delivered [0-9:]*, not read yet$" <<<"$("$haven" message list --config intake.ini "$id")" &&
    ok || bad "no 'not read yet' at the intake"
  # 8,000 bytes go (4,000 two-byte letters); 8,001 are refused, never cut.
  big=$(printf 'é%.0s' $(seq 4000))
  expect 0 "message 3 sent to shelter-a.xc" "$haven" message send --config intake.ini "$id" "$big"
  expect 1 "the message is 8001 bytes; a message may be at most 8000 bytes: shorten it or send it in two (HV_ETOOBIG)" \
    "$haven" message send --config intake.ini "$id" "${big}x"
  expect 1 "the message is empty: write something to send (HV_EINVAL)" \
    "$haven" message send --config intake.ini "$id" ""
  expect 2 "give the message as TEXT or --file=FILE, not both" \
    "$haven" message send --config intake.ini "$id"
  wait_until 20 is 4 count shelter-a "$id"
  [ "$(field shelter-a "$id" text 3 intake)" = "$big" ] && ok || bad "8,000 bytes not whole"
  # An admin sees no case and may write none; a caseworker of another case neither.
  r=$("$bin/ctl_call" --as admin-1 admin staff/intake.staff.sock message.list "{\"id\": \"$id\"}")
  [ "$(jq -r .error <<<"$r")" = HV_EFORBIDDEN ] && ok || bad "admin: $r"
  r=$("$bin/ctl_call" --as caseworker-9 caseworker staff/intake.staff.sock message.send "{\"id\": \"$id\", \"text\": \"x\"}")
  [ "$(jq -r .error <<<"$r")" = HV_ENOTFOUND ] && ok || bad "other caseworker: $r"
  # Evidence holds both message types, as it holds every envelope acted on.
  ev=$("$haven" evidence show --config intake.ini "$id")
  grep -q "CASE_MESSAGE" <<<"$ev" && grep -q "MESSAGE_MARK" <<<"$ev" && ok || bad "evidence: $ev"
  # haven-web's stream: kind "message", ids and what happened only.
  [ "$(sqlite3 intake.db "SELECT group_concat(DISTINCT state) FROM (SELECT state FROM events WHERE kind = 'message' ORDER BY state)")" = \
    "delivered,read,received,sent" ] && ok || bad "intake's message events"
  # Sealed at rest, and nowhere in clear: not at the two parties either.
  [ "$(sqlite3 shelter-a.db "SELECT count(*) FROM case_messages WHERE instr(text, 'ground floor') > 0")" = 0 ] &&
    ok || bad "a text in clear in shelter A's table"
  no_text_anywhere broker-xa.* broker-xb.* broker-xc.* router.* shelter-b.* intake.* shelter-a.*
  stop_all_and_check_logs
  no_text_anywhere broker-xa.* broker-xb.* broker-xc.* router.* shelter-b.* intake.* shelter-a.*
  ;;
case_message_from_other_provider_refused)
  expect 0 "message 1 sent to shelter-a.xc" "$haven" message send --config intake.ini "$id" "$text1"
  wait_until 20 has_field intake "$id" delivered_at 1 intake
  # Shelter B was never matched; it speaks for itself here, its worker stopped.
  stop shelter-b
  tail -c +2 "$here/../fuzz/corpus/msg/seed-CASE_MESSAGE" > forged.body
  for to in ngo.xa shelter-a.xc; do
    "$haven" seal "${reg[@]}" --key keys/shelter-b.xc.key --to "$to" --type CASE_MESSAGE \
      --referral "$id" --in forged.body --out "forged-$to.env" >/dev/null || bad "seal to $to"
  done
  expect 0 "2 envelope(s) stored" "$haven" send "${reg[@]}" --key keys/shelter-b.xc.key \
    --store shelter-b-cli.db --timeout 10 forged-ngo.xa.env forged-shelter-a.xc.env
  refused_at() { [ "$(sqlite3 "$1.db" "SELECT count(*) FROM refused WHERE type = 16")" = 1 ]; }
  wait_until 20 refused_at intake
  wait_until 20 refused_at shelter-a
  got=$("$haven" recv "${reg[@]}" --key keys/shelter-b.xc.key --store shelter-b-cli.db --count 0 \
          --timeout 5 2>&1)
  grep -qF "refused by ngo.xa: only shelter-a.xc, which accepted this case, may write about it (HV_EFORBIDDEN)" <<<"$got" &&
    ok || bad "no refusal from ngo.xa: $got"
  grep -qF "refused by shelter-a.xc: only ngo.xa, which referred this case, may write about it (HV_EFORBIDDEN)" <<<"$got" &&
    ok || bad "no refusal from shelter-a.xc: $got"
  # Recorded by each receiver, with the sender and the reason.
  [ "$(sqlite3 intake.db "SELECT sender || '|' || type || '|' || code || '|' || reason FROM refused WHERE type = 16")" = \
    "shelter-b.xc|16|26|only shelter-a.xc, which accepted this case, may write about it" ] &&
    ok || bad "intake's refused: $(sqlite3 intake.db 'SELECT * FROM refused')"
  [ "$(sqlite3 shelter-a.db "SELECT sender || '|' || type || '|' || code FROM refused WHERE type = 16")" = \
    "shelter-b.xc|16|26" ] && ok || bad "shelter A's refused: $(sqlite3 shelter-a.db 'SELECT * FROM refused')"
  # Nothing of it in either thread; the genuine one is as it was.
  [ "$(msgs intake "$id" | jq -c '[.[] | [.n, .from]]')" = '[[1,"intake"]]' ] && ok ||
    bad "intake's thread: $(msgs intake "$id")"
  [ "$(msgs shelter-a "$id" | jq -c '[.[] | [.n, .from]]')" = '[[1,"intake"]]' ] && ok ||
    bad "shelter A's thread: $(msgs shelter-a "$id")"
  grep -q 'event=message_refused.*type=CASE_MESSAGE from=shelter-b.xc' intake.log && ok ||
    bad "the intake did not log the refusal"
  stop_all_and_check_logs
  ;;
case_messages_erased_with_the_case)
  expect 0 "message 1 sent to shelter-a.xc" "$haven" message send --config intake.ini "$id" "$text1"
  expect 0 "message 1 sent to ngo.xa" "$haven" message send --config shelter-a.ini "$id" "$text2"
  expect 0 "message 2 sent to ngo.xa" "$haven" message send --config shelter-a.ini "$id" "$text3"
  wait_until 20 has_field intake "$id" delivered_at 1 intake
  wait_until 20 has_field shelter-a "$id" delivered_at 2 provider
  [ "$(sqlite3 shelter-a.db "SELECT count(*) FROM case_messages")" = 3 ] && ok || bad "shelter A's rows"
  expect 0 "" "$haven" referral withdraw --config intake.ini "$id" --reason "She no longer wants it"
  wait_until 20 is withdrawn intake_state "$id"
  [ "$(sqlite3 shelter-a.db "SELECT count(*) FROM case_messages")" = 0 ] && ok ||
    bad "shelter A kept $(sqlite3 shelter-a.db "SELECT count(*) FROM case_messages") messages"
  expect 1 "the case of this referral was erased here; its messages went with it (HV_EPROTO)" \
    "$haven" message list --config shelter-a.ini "$id"
  expect 1 "referral is withdrawn; case messages are exchanged with the provider only once the case was transferred to it, and not after a withdrawal (HV_EPROTO)" \
    "$haven" message send --config intake.ini "$id" "after the withdrawal"
  # A case closed and erased at the end of its retention (0 days here):
  # its messages go with it, and one the intake sends after is refused
  # there and shows as not delivered, with the reason.
  id3=$(submit adult.json)
  wait_until 20 is offered offer_state shelter-a "$id3"
  "$haven" inbox accept --config shelter-a.ini "$id3" >/dev/null || bad "accept"
  wait_until 20 is received intake_state "$id3"
  expect 0 "message 1 sent to ngo.xa" "$haven" message send --config shelter-a.ini "$id3" "$text2"
  wait_until 20 is 1 count intake "$id3"
  "$haven" inbox status --config shelter-a.ini "$id3" --state in_progress >/dev/null || bad "status"
  "$haven" inbox status --config shelter-a.ini "$id3" --state completed --note "Placed" >/dev/null ||
    bad "completed"
  wait_until 20 is completed intake_state "$id3"
  erased_at_a() { [ "$("$haven" inbox show --json --config shelter-a.ini "$id3" | jq -r .result.offer)" = erased ]; }
  wait_until 20 erased_at_a
  [ "$(sqlite3 shelter-a.db "SELECT count(*) FROM case_messages")" = 0 ] && ok || bad "rows kept past retention"
  expect 0 "message 1 sent to shelter-a.xc" "$haven" message send --config intake.ini "$id3" "$text3"
  wait_until 20 has_field intake "$id3" failed 1 intake
  expect 0 "   not delivered: at broker.xc: refused by shelter-a.xc: the case of this referral was erased here; its messages went with it (HV_EPROTO)" \
    "$haven" message list --config intake.ini "$id3"
  # While shelter A runs (its WAL truncated after the erasure) and after.
  no_text_anywhere shelter-a.*
  stop_all_and_check_logs
  no_text_anywhere shelter-a.*
  ;;
status_note_over_limit_refused)
  note=$(head -c 1025 /dev/zero | tr '\0' 'n')
  expect 1 "the note is 1025 bytes; a note may be at most 1024 bytes: shorten it (HV_ETOOBIG)" \
    "$haven" inbox status --config shelter-a.ini "$id" --state in_progress --note "$note"
  is received case_state shelter-a "$id" && ok || bad "the case moved: $(case_state shelter-a "$id")"
  expect 0 "status in_progress sent to ngo.xa" \
    "$haven" inbox status --config shelter-a.ini "$id" --state in_progress --note "${note:1}"
  wait_until 20 is in_progress intake_state "$id"
  got=$("$haven" referral show --json --config intake.ini "$id" |
          jq -r '.result.history[] | select(.state == "in_progress") | .detail')
  [ "$got" = "${note:1}" ] && ok || bad "the note arrived as ${#got} bytes"
  # Only one status went: the refused one was never sent.
  [ "$("$haven" referral show --json --config intake.ini "$id" | jq '[.result.history[] | select(.state == "in_progress")] | length')" = 1 ] &&
    ok || bad "more than one in_progress at the intake"
  stop_all_and_check_logs
  ;;
*)
  bad "unknown case $case_name"
  ;;
esac
finish
