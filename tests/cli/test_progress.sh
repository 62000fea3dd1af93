#!/usr/bin/env bash
# Offer progress and places (issue 21) across the three-country network of
# fed_lib.sh, brokers on loopback: an NGO in XA, XC's router with shelter A
# (no minors) and shelter B (minors) on its pathway. One case per run:
#  intake_sees_declined_no_places_before_next_offer: shelter A declines with
#    no_capacity; the intake's history shows the decline with its code before
#    the offer to shelter B, in `haven referral show`'s exact lines, and the
#    router counts shelter A as full until it publishes again;
#  accepted_minor_occupies_only_place: shelter B has one place ([provider]
#    places = 1) and accepts a minor; the next minor's referral is not
#    offered to it (no_match, with the reason); once the first case
#    completes the place is free again and the third minor is offered it;
#  stale_capacity_publication_ignored: a CAPACITY dated before the one the
#    router holds (a replay, or one overtaken) does not raise the places;
#  intake_sees_offer_not_answered_then_next_offer: shelter A lets its offer's
#    deadline pass (offer_timeout_s = 4); the intake's history says so before
#    the offer to shelter B; a cancel then withdraws that offer, and the
#    withdrawal after the referral ended is recorded too;
#  capacity_from_non_provider_refused: a CAPACITY from an intake is refused
#    by the broker, and one from shelter A naming shelter B is refused by
#    the router (HV_EFORBIDDEN), neither changing what the router holds.
# usage: test_progress.sh BIN_DIR EXAMPLE_REFERRAL CASE
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/fed_lib.sh"
example=$(realpath "$2")
case_name=$3
fed_setup "$1" 127.0.0.1 127.0.0.1 127.0.0.1
cp "$example" adult.json
# A minor with a guardian; shelter A does not take minors.
jq '.minor = true | .subject.date_of_birth = "2011-03-09" | .subject.names[0].given = "Nadia"
    | .guardian = {"name": "Example Guardian-Testcase", "relationship": "aunt"}' adult.json > minor.json
# Publications quickly in tests: at least every 2 s rather than 10 min
# (shelter A keeps 10 min where its decline must stand that long).
for p in shelter-a shelter-b; do
  [ "$p:$case_name" = shelter-a:intake_sees_declined_no_places_before_next_offer ] && continue
  printf '[provider]\ncapacity_every_s = 2\n' >> "$p.ini"
done
[ "$case_name" = accepted_minor_occupies_only_place ] && sed -i 's/^capacity_every_s = 2$/capacity_every_s = 2\nplaces = 1/' shelter-b.ini
[ "$case_name" = intake_sees_offer_not_answered_then_next_offer ] &&
  sed -i 's/^\[pathway\]$/[router]\noffer_timeout_s = 4\n[pathway]/' router.ini
for n in broker-xc broker-xa router shelter-a shelter-b intake; do start "$n"; done

# The history lines of `haven referral show`, without their times.
history_lines() {
  "$haven" referral show --config intake.ini "$1" | sed -n '/^history:$/,$p' | tail -n +2 |
    sed -E 's/^  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC  //'
}
progress_count() { "$haven" referral show --json --config intake.ini "$1" | jq '.result.progress | length'; }
progress_at() { "$haven" referral show --json --config intake.ini "$1" | jq -r ".result.progress[$2].$3"; }
# places NODE FIELD: the router's count of NODE's places (pathway.show).
places() {
  "$haven" pathway show --json --config router.ini |
    jq -r --arg n "$1" "[.result.pathway.shelter[] | select(.id == \$n)][0].places.$2"
}
published_free() { places "$1" 'published.free'; }
basis() { places "$1" basis; }

case $case_name in
intake_sees_declined_no_places_before_next_offer)
  id=$(submit adult.json)
  wait_until 30 is offered offer_state shelter-a "$id"
  expect 0 "declined" "$haven" inbox decline --config shelter-a.ini "$id" --reason no_capacity \
    --note "Full until the end of the week"
  wait_until 30 is offered offer_state shelter-b "$id"
  wait_until 30 is 3 progress_count "$id"
  by_a=$(progress_at "$id" 0 respond_by)
  by_b=$(progress_at "$id" 2 respond_by)
  want="requested          by ngo.xa/host-admin: summary sent to the router
offered            by router.xc: offered to shelter-a.xc, answer due by $by_a
declined           by router.xc: declined by shelter-a.xc: no places (no_capacity)
offered            by router.xc: offered to shelter-b.xc, answer due by $by_b"
  got=$(history_lines "$id")
  [ "$got" = "$want" ] && ok || bad "history lines:
$got
expected:
$want"
  # For programs: the states entered stay the states; the progress has its list.
  [ "$("$haven" referral show --json --config intake.ini "$id" | jq -r '[.result.history[].state] | join(" ")')" = requested ] &&
    ok || bad "history states: $("$haven" referral show --json --config intake.ini "$id" | jq -c .result.history)"
  [ "$("$haven" referral show --json --config intake.ini "$id" | jq -c '[.result.progress[] | [.event, .provider, .code]]')" = \
    '[["offered","shelter-a.xc",null],["declined","shelter-a.xc","no_capacity"],["offered","shelter-b.xc",null]]' ] &&
    ok || bad "progress: $("$haven" referral show --json --config intake.ini "$id" | jq -c .result.progress)"
  # haven-web's live stream: ids, states and codes only.
  [ "$(sqlite3 intake.db "SELECT group_concat(state, ' ') FROM (SELECT state FROM events WHERE kind = 'progress' ORDER BY seq)")" = \
    "offered declined:no_capacity offered" ] && ok || bad "progress events: $(sqlite3 intake.db "SELECT kind, state FROM events")"
  # The note stays sealed: not in the progress, not at the router.
  if "$haven" referral show --config intake.ini "$id" | grep -qF "Full until"; then
    bad "the decline note is in the intake's progress"; else ok; fi
  # Shelter A said it has no places: none are counted until it publishes again.
  [ "$(basis shelter-a.xc)" = declined ] && ok || bad "shelter A's places: $(basis shelter-a.xc)"
  expect 0 "0 free (declined no_capacity)" "$haven" pathway show --config router.ini
  # Its next publication is its word again: here when its places change.
  stop shelter-a
  printf '[provider]\nplaces = 5\n' >> shelter-a.ini
  start shelter-a
  wait_until 20 is published basis shelter-a.xc
  [ "$(places shelter-a.xc free)" = 5 ] && ok || bad "shelter A after publishing: $(places shelter-a.xc free)"
  # The referral goes on to the end; its progress stays where it was.
  expect 0 "accepted" "$haven" inbox accept --config shelter-b.ini "$id"
  wait_until 30 is received intake_state "$id"
  [ "$("$haven" referral show --json --config intake.ini "$id" | jq -r '[.result.history[].state] | join(" ")')" = \
    "requested accepted transferred received" ] && ok || bad "states after the match"
  [ "$(history_lines "$id" | awk '{print $1}' | tr '\n' ' ')" = \
    "requested offered declined offered accepted transferred received " ] && ok ||
    bad "order after the match: $(history_lines "$id")"
  ;;

intake_sees_offer_not_answered_then_next_offer)
  id=$(submit adult.json)
  wait_until 30 is offered offer_state shelter-a "$id"
  wait_until 30 is 3 progress_count "$id"
  by_a=$(progress_at "$id" 0 respond_by)
  by_b=$(progress_at "$id" 2 respond_by)
  want="requested          by ngo.xa/host-admin: summary sent to the router
offered            by router.xc: offered to shelter-a.xc, answer due by $by_a
not_answered       by router.xc: not answered by shelter-a.xc by the offer's deadline
offered            by router.xc: offered to shelter-b.xc, answer due by $by_b"
  got=$(history_lines "$id" | head -4)
  [ "$got" = "$want" ] && ok || bad "history lines:
$got
expected:
$want"
  # Shelter B does not answer either: the pathway ends in no_match, and the
  # progress says each step before it.
  wait_until 30 is no_match intake_state "$id"
  [ "$(history_lines "$id" | awk '{print $1}' | tr '\n' ' ')" = \
    "requested offered not_answered offered not_answered no_match " ] && ok ||
    bad "order to the end: $(history_lines "$id")"
  # A cancel withdraws an open offer; the report comes after the referral ended.
  id2=$(submit adult.json)
  wait_until 30 is offered offer_state shelter-a "$id2"
  expect 0 "" "$haven" referral withdraw --config intake.ini "$id2" --code no_longer_needed \
    --reason "The person found a place with family"
  wait_until 30 is cancelled intake_state "$id2"
  wait_until 30 is withdrawn_offer progress_at "$id2" -1 event
  [ "$(progress_at "$id2" -1 code)" = cancelled ] && ok || bad "withdrawal code: $(progress_at "$id2" -1 code)"
  ;;

accepted_minor_occupies_only_place)
  wait_until 20 is 1 published_free shelter-b.xc
  expect 0 "1 free (published 1 of 1" "$haven" pathway show --config router.ini
  m1=$(submit minor.json)
  wait_until 30 is offered offer_state shelter-b "$m1"
  expect 0 "accepted" "$haven" inbox accept --config shelter-b.ini "$m1"
  wait_until 30 is received intake_state "$m1"
  # Its one place is taken by the open case, as it publishes once it
  # accepted (a count made while the offer was pending says 0 as well, and
  # the router then counts the accepted offer itself).
  wait_until 20 is 0 published_free shelter-b.xc
  wait_until 20 is 0 places shelter-b.xc pending
  m2=$(submit minor.json)
  wait_until 30 is no_match intake_state "$m2"
  case $(offer_state shelter-b "$m2") in "" | null) ok ;; *) bad "the second minor was offered to shelter B" ;; esac
  reasons=$("$haven" referral show --json --config intake.ini "$m2" | jq -r '.result.history[] | select(.state == "no_match") | .detail')
  [ "$reasons" = "shelter-a.xc: does not take minors; shelter-b.xc: no open places (0 free as published with 0 offers pending, 0 now)" ] &&
    ok || bad "no_match reasons: $reasons"
  [ "$(progress_count "$m2")" = 0 ] && ok || bad "progress for a referral offered to nobody"
  # The first case ends: the place is free again.
  expect 0 "in_progress" "$haven" inbox status --config shelter-b.ini "$m1" --state in_progress
  expect 0 "completed" "$haven" inbox status --config shelter-b.ini "$m1" --state completed --note "placed"
  wait_until 30 is completed intake_state "$m1"
  wait_until 20 is 1 published_free shelter-b.xc
  m3=$(submit minor.json)
  wait_until 30 is offered offer_state shelter-b "$m3"
  # While the offer waits, it holds the place: the router counts it.
  [ "$(places shelter-b.xc free)" = 0 ] && ok || bad "free with an offer pending: $(places shelter-b.xc free)"
  ;;

stale_capacity_publication_ignored | capacity_from_non_provider_refused)
  wait_until 20 is 1000 published_free shelter-a.xc
  # Shelter A stopped, and what it sent delivered: its own publications
  # do not overtake the ones made here.
  stop shelter-a
  for_router() { sqlite3 broker-xc.db "SELECT count(*) FROM queue WHERE recipient = 'router.xc'"; }
  wait_until 20 is 0 for_router
  held_at=$(places shelter-a.xc published.at)
  held_s=$(date -u -d "$held_at" +%s)
  # capacity_body NODE FREE TOTAL AT: a CAPACITY body (PROTOCOL.md §9 "CAPACITY") in
  # msgpack, counting none of the router's offers.
  capacity_body() {
    python3 - "$@" <<'EOF'
import struct, sys
node, free, total, at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def uint(v):
    if v < 128: return bytes([v])
    if v < 65536: return b'\xcd' + struct.pack('>H', v)
    return b'\xce' + struct.pack('>I', v)
n = node.encode()
sys.stdout.buffer.write(b'\x93\x01\x14\x95' + bytes([0xa0 | len(n)]) + n + uint(free) + uint(total) + uint(at) + b'\x00')
EOF
  }
  # send_as KEY_NODE BODY_FILE: seals a CAPACITY from KEY_NODE to the router and hands it to its broker.
  send_as() {
    "$haven" seal --authority keys/authority.pub --registry network.reg --key "keys/$1.key" \
      --to router.xc --type CAPACITY --in "$2" --out "$2.env" >/dev/null &&
      "$haven" send --authority keys/authority.pub --registry network.reg --key "keys/$1.key" \
        --store "cli-$1-$2.db" --timeout 10 "$2.env"
  }
  if [ "$case_name" = stale_capacity_publication_ignored ]; then
    # First a newer count (1 free), then an older one (900 free) replayed.
    capacity_body shelter-a.xc 1 1000 $((held_s + 1)) > newer.bin
    capacity_body shelter-a.xc 900 1000 $((held_s - 60)) > older.bin
    expect 0 "" send_as shelter-a.xc newer.bin
    wait_until 20 is 1 published_free shelter-a.xc
    expect 0 "" send_as shelter-a.xc older.bin
    wait_until 20 grep -q "capacity_stale provider=shelter-a.xc at=$((held_s - 60))" router.log
    [ "$(published_free shelter-a.xc)" = 1 ] && ok || bad "a replayed older count raised the places: $(published_free shelter-a.xc)"
    [ "$(places shelter-a.xc free)" = 1 ] && ok || bad "free places: $(places shelter-a.xc free)"
    # The same second again is a replay too.
    capacity_body shelter-a.xc 700 1000 $((held_s + 1)) > same.bin
    expect 0 "" send_as shelter-a.xc same.bin
    wait_until 20 grep -q "capacity_stale provider=shelter-a.xc at=$((held_s + 1))" router.log
    [ "$(published_free shelter-a.xc)" = 1 ] && ok || bad "a replay of the same second raised the places"
  else
    capacity_body ngo.xa 5 10 "$held_s" > intake.bin
    # The broker refuses it at once: an intake does not send CAPACITY.
    expect 1 "HV_EFORBIDDEN" send_as ngo.xa intake.bin
    capacity_body shelter-b.xc 0 1000 $((held_s + 1)) > other.bin
    expect 0 "" send_as shelter-a.xc other.bin
    wait_until 20 grep -q "message_refused type=CAPACITY from=shelter-a.xc .*code=HV_EFORBIDDEN reason=\"shelter-a.xc may publish its own places, not those of shelter-b.xc\"" router.log
    # The sender is told why.
    notices() { "$haven" recv --authority keys/authority.pub --registry network.reg \
                  --key keys/shelter-a.xc.key --store cli-notices.db --count 0 --timeout 3 2>&1; }
    told() { notices | grep -q "not those of shelter-b.xc (HV_EFORBIDDEN)"; }
    wait_until 20 told
    [ "$(published_free shelter-b.xc)" = 1000 ] && ok || bad "shelter B's count changed: $(published_free shelter-b.xc)"
    [ "$(sqlite3 router.db "SELECT count(*) FROM refused WHERE sender = 'shelter-a.xc' AND type = 20")" = 1 ] &&
      ok || bad "the refusal is not recorded"
    # Dated far ahead of the router's clock: refused, or it would shut out every later count.
    capacity_body shelter-a.xc 3 1000 $((held_s + 86400)) > ahead.bin
    expect 0 "" send_as shelter-a.xc ahead.bin
    wait_until 20 grep -q "message_refused type=CAPACITY from=shelter-a.xc .*code=HV_EINVAL" router.log
    [ "$(published_free shelter-a.xc)" = 1000 ] && ok || bad "a count dated ahead was kept"
  fi
  ;;
*)
  bad "no case '$case_name'"
  ;;
esac

need_to_know_scan() {
  expect 0 "clean:" /usr/bin/python3 "$here/scan_secrets.py" --secret Amina --secret Nadia \
    --secret Example-Testcase --secret "Mina T." --secret 1998-04-17 --secret 2011-03-09 \
    --secret "555 0100" --secret "restaurant work" --secret "A recruiter is known" \
    --secret "Full until the end" --secret "Example Guardian" --secret "place with family" \
    broker-xa.* broker-xc.* router.*
}
need_to_know_scan
stop_all_and_check_logs
need_to_know_scan
finish
