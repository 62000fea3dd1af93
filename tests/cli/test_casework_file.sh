#!/usr/bin/env bash
# The referral file haven-referral/2 across the three-country network
# (brokers for XA, XB and XC on loopback, real workers; issue 21). One case
# a run, named by the first argument:
#  - family_of_three_placed_together: a woman and two children; XC's router
#    skips shelter A, which has two places, and offers the group to shelter
#    B, which has three; B's inbox shows "group of 3 (25-39, 0-11, 0-11)".
#  - case_with_three_services_reaches_three_providers: one case asking for
#    shelter, medical care and legal aid reaches three providers; each
#    service moves on its own (completed, declined -> no_match,
#    in_progress) and `haven case show` shows all three.
#  - override_with_legal_basis_consent_refused: an override standing on
#    "consent" is refused with its located error; nothing is stored.
# Each ends by scanning every file a non-recipient holds for every family
# member's name and birth date.
# usage: test_casework_file.sh BIN_DIR CASE FAMILY.json INVALID_DIR
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/fed_lib.sh"
what=$2
family=$(realpath "$3")
invalid=$(realpath "$4")
fed_setup "$1" 127.0.0.1 127.0.0.1 127.0.0.1

# The destination's providers for this test: shelter A with two places,
# shelter B with three (both take minors and speak Tigrinya), a clinic and
# a legal-aid office.
/usr/bin/python3 - <<'PY'
import json
net = json.load(open("network.json"))
for n in net["nodes"]:
    if n["id"] == "shelter-a.xc":
        n.update(capacity=2, accepts_minors=True, languages=["en", "ti"])
    if n["id"] == "shelter-b.xc":
        n.update(capacity=3, accepts_minors=True, languages=["en", "ti"])
v = {k: net["nodes"][0][k] for k in ("valid_from", "valid_until")}
for id, org, svc in (("clinic.xc", "Example Clinic", "medical"),
                     ("legal.xc", "Example Legal Aid Office", "legal_aid")):
    n = {"id": id, "role": "provider", "country": "XC", "home": "broker.xc",
         "organisation": org, "keys_file": "keys/%s.pub" % id, "services": [svc],
         "regions": ["Example Capital Region"], "languages": ["ti"],
         "accepts_minors": True, "capacity": 10}
    n.update(v)
    net["nodes"].append(n)
json.dump(net, open("network.json", "w"), indent=1)
PY
for id in clinic.xc legal.xc; do "$haven" keygen --id "$id" --out keys >/dev/null || bad "keygen $id"; done
"$haven" registry sign --authority keys/authority.key --in network.json --out network.reg \
  >/dev/null || bad "registry sign"
worker_ini clinic clinic.xc
worker_ini legal legal.xc
cat >> router.ini <<EOF
medical = clinic.xc
legal_aid = legal.xc
EOF
cp "$family" family.json

# Everything a party that received no case holds, scanned for the family.
family_scan() {
  expect 0 "clean:" /usr/bin/python3 "$here/scan_secrets.py" --secret Selam --secret Yonas \
    --secret Hiwet --secret Example-Familycase --secret 1994-06-02 --secret 2018-03-11 \
    --secret "children's father" --secret "paediatric check" "$@"
}

case $what in
family_of_three_placed_together)
  for n in broker-xc broker-xa router shelter-a shelter-b intake; do start "$n"; done
  out=$("$haven" referral submit --json --config intake.ini family.json)
  [ "$(jq -r '.result.people, (.result.referrals | length)' <<<"$out" | tr '\n' ' ')" = "3 3 " ] &&
    ok || bad "submission: $out"
  shelter=$(jq -r '.result.referrals[] | select(.service == "shelter") | .id' <<<"$out")
  wait_until 30 is offered offer_state shelter-b "$shelter"
  # Shelter A has two places: skipped, with the reason; never offered.
  got=$(sqlite3 router.db "SELECT provider, outcome, reason FROM candidates WHERE hex(referral) = upper('$shelter') ORDER BY pos")
  [ "$got" = "shelter-a.xc|skipped|no places for a group of 3 (2 free as it published)
shelter-b.xc|offered|" ] && ok || bad "the router's candidates: $got"
  [ -z "$("$haven" inbox show --json --config shelter-a.ini "$shelter" 2>/dev/null | jq -r '.result.offer // empty')" ] &&
    ok || bad "shelter A was offered the group"
  expect 0 "  people:   group of 3 (25-39, 0-11, 0-11)" "$haven" inbox show --config shelter-b.ini "$shelter"
  got=$("$haven" inbox show --json --config shelter-b.ini "$shelter" | jq -c '[.result.summary.people, .result.summary.bands]')
  [ "$got" = '[3,["25-39","0-11","0-11"]]' ] && ok || bad "the offer's summary: $got"
  expect 0 "accepted" "$haven" inbox accept --config shelter-b.ini "$shelter"
  wait_until 30 is received intake_state "$shelter"
  "$haven" inbox export --config shelter-b.ini "$shelter" --out case.json >/dev/null
  [ "$(jq -r '.case_file.family_members | length' case.json 2>/dev/null)" = 2 ] && ok ||
    bad "shelter B's case lacks the family"
  rm -f case.json
  stop_all_and_check_logs
  family_scan broker-xa.* broker-xb.* broker-xc.* router.* shelter-a.*
  ;;
case_with_three_services_reaches_three_providers)
  for n in broker-xc broker-xa router shelter-a shelter-b clinic legal intake; do start "$n"; done
  out=$("$haven" referral submit --json --config intake.ini family.json)
  case_id=$(jq -r .result.case_id <<<"$out")
  svc() { jq -r ".result.referrals[] | select(.service == \"$1\") | .id" <<<"$out"; }
  shelter=$(svc shelter) medical=$(svc medical) legal=$(svc legal_aid)
  [ ${#case_id} -eq 32 ] && [ ${#shelter} -eq 32 ] && [ ${#medical} -eq 32 ] && [ ${#legal} -eq 32 ] &&
    ok || bad "submission: $out"
  [ "$(printf '%s\n' "$shelter" "$medical" "$legal" | sort -u | wc -l)" = 3 ] && ok || bad "ids shared"
  wait_until 30 is offered offer_state shelter-b "$shelter"
  wait_until 30 is offered offer_state clinic "$medical"
  wait_until 30 is offered offer_state legal "$legal"
  # The shelter: accepted, received, completed.
  expect 0 "accepted" "$haven" inbox accept --config shelter-b.ini "$shelter"
  wait_until 30 is received case_state shelter-b "$shelter"
  expect 0 "" "$haven" inbox status --config shelter-b.ini "$shelter" --state in_progress
  expect 0 "" "$haven" inbox status --config shelter-b.ini "$shelter" --state completed --note "placed"
  # The clinic declines: nobody else offers medical care, so no_match.
  expect 0 "" "$haven" inbox decline --config clinic.ini "$medical" --reason no_capacity
  # Legal aid: accepted and in progress.
  expect 0 "accepted" "$haven" inbox accept --config legal.ini "$legal"
  wait_until 30 is received case_state legal "$legal"
  expect 0 "" "$haven" inbox status --config legal.ini "$legal" --state in_progress
  wait_until 30 is completed intake_state "$shelter"
  wait_until 30 is no_match intake_state "$medical"
  wait_until 30 is in_progress intake_state "$legal"
  shown=$("$haven" case show --json --config intake.ini "$case_id")
  [ "$(jq -r '.result.case_id, .result.people' <<<"$shown" | tr '\n' ' ')" = "$case_id 3 " ] && ok ||
    bad "case show: $shown"
  got=$(jq -r '.result.services[] | "\(.service) \(.state) \(.provider)"' <<<"$shown" | sort | tr '\n' ';')
  [ "$got" = "legal_aid in_progress legal.xc;medical no_match ;shelter completed shelter-b.xc;" ] &&
    ok || bad "case show's services: $got"
  expect 0 "case $case_id: 3 people, 3 services" "$haven" case show --config intake.ini "${case_id:0:8}"
  for r in "$shelter" "$medical" "$legal"; do
    [ "$("$haven" referral show --json --config intake.ini "$r" | jq -r .result.case_id)" = "$case_id" ] &&
      ok || bad "referral $r does not name its case"
  done
  stop_all_and_check_logs
  # The clinic declined and shelter A was never offered the shelter: neither
  # holds anything of the family, nor does any broker or the router.
  family_scan broker-xa.* broker-xb.* broker-xc.* router.* shelter-a.* clinic.*
  ;;
override_with_legal_basis_consent_refused)
  for n in broker-xc broker-xa router intake; do start "$n"; done
  cp "$invalid/override-legal-basis-consent.json" override.json
  expect 1 'override.json:119:20: consent.legal_basis: an override needs a legal basis other than "consent": "vital_interests", "legal_obligation" or "best_interests_of_child"' \
    "$haven" referral submit --config intake.ini override.json
  [ "$("$haven" referral list --json --config intake.ini | jq -r '.result.total')" = 0 ] && ok ||
    bad "a referral was stored"
  stop_all_and_check_logs
  family_scan broker-xa.* broker-xb.* broker-xc.* router.* intake.*
  ;;
*) echo "unknown case $what"; exit 2 ;;
esac
finish
