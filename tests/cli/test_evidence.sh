#!/usr/bin/env bash
# Evidence outlives the case (issue 20), with real daemons: a referral is
# completed and shelter A erases it at the end of its retention (0 days
# here); the authority issues registry v2, which the intake and shelter A
# take; a second referral is withdrawn and shelter A erases it at once. Then
# the intake and the provider each export the evidence of the first, and a
# fresh directory holding only the bundle and authority.pub verifies it:
# every signer, time and type. The bundle holds nothing of the person.
# Negative tests, named after the attack: evidence_changed_byte,
# evidence_signed_by_another_node, evidence_node_not_in_registry; and
# evidence is not for staff on haven-web's socket.
# The intake keeps its case (it has no erasure of a completed referral);
# the provider's erasure is the one shown to leave the evidence.
# usage: test_evidence.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
example=$(realpath "$2")
flow_setup "$1"
printf '[provider]\nretention_days = 0\n' >> shelter-a.ini
sed -i "/^control = /a staff_control = staff/intake.staff.sock" intake.ini
for n in broker router shelter-a intake; do start "$n"; done
cp "$example" adult.json

# ---- 1. a referral completed, then erased by the provider's retention
id=$(submit adult.json)
[ ${#id} -eq 32 ] && ok || bad "submit gave no id: '$id'"
wait_until 10 is offered offer_state shelter-a "$id"
"$haven" inbox accept --config shelter-a.ini "$id" >/dev/null || bad "accept"
wait_until 10 is received case_state shelter-a "$id"
"$haven" inbox status --config shelter-a.ini "$id" --state in_progress >/dev/null || bad "status"
wait_until 10 is in_progress intake_state "$id"
"$haven" inbox status --config shelter-a.ini "$id" --state completed \
  --note "Placed in long-term accommodation" >/dev/null || bad "completed"
wait_until 10 is completed intake_state "$id"
wait_until 10 is erased offer_state shelter-a "$id"
hexid=$(tr a-f A-F <<<"$id")
[ "$(sqlite3 shelter-a.db "SELECT count(*) FROM vault_cases WHERE hex(referral) = '$hexid'")" = 0 ] &&
  ok || bad "retention left the case in shelter A's store"

# ---- the authority issues registry v2; the intake and shelter A take it
cp network.reg network-v1.reg
jq '.version = 2' network.json > network-v2.json
"$haven" registry sign --authority keys/authority.key --in network-v2.json --out network-v2.reg \
  >/dev/null || bad "sign registry v2"
cp network-v2.reg network.reg
for n in intake shelter-a; do
  kill -HUP "${pids[$n]}"
  wait_until 10 grep -q "event=registry_loaded version=2" "$n.log"
done

# ---- 2. a referral withdrawn: the provider erases it at once
id2=$(submit adult.json)
wait_until 10 is offered offer_state shelter-a "$id2"
"$haven" inbox accept --config shelter-a.ini "$id2" >/dev/null || bad "accept 2"
wait_until 10 is received case_state shelter-a "$id2"
"$haven" referral withdraw --config intake.ini "$id2" --reason "consent withdrawn" >/dev/null ||
  bad "withdraw"
wait_until 10 is withdrawn intake_state "$id2"

# ---- what each node kept: every message it acted on or sent, in order
kinds() { jq -r '.items[] | "\(.direction) \(.type) \(.from) \(.to)"' "$1" | tr '\n' ';'; }
expect 0 "written to intake-evidence.json" \
  "$haven" evidence export "$id" --config intake.ini --out intake-evidence.json
expect 0 "written to shelter-evidence.json" \
  "$haven" evidence export "${id:0:10}" --config shelter-a.ini --out shelter-evidence.json
expect 0 "written to withdrawn-evidence.json" \
  "$haven" evidence export "$id2" --config shelter-a.ini --out withdrawn-evidence.json
[ "$(kinds intake-evidence.json)" = "sent REFERRAL_REQUEST ngo.xc router.xc;received PROGRESS router.xc ngo.xc;received MATCH router.xc ngo.xc;sent CASE_TRANSFER ngo.xc shelter-a.xc;received RECEIPT shelter-a.xc ngo.xc;received STATUS shelter-a.xc ngo.xc;received STATUS shelter-a.xc ngo.xc;" ] &&
  ok || bad "intake evidence: $(kinds intake-evidence.json)"
[ "$(kinds shelter-evidence.json)" = "received OFFER router.xc shelter-a.xc;sent ACCEPT shelter-a.xc router.xc;received CASE_TRANSFER ngo.xc shelter-a.xc;sent RECEIPT shelter-a.xc ngo.xc;sent STATUS shelter-a.xc ngo.xc;sent STATUS shelter-a.xc ngo.xc;" ] &&
  ok || bad "shelter evidence: $(kinds shelter-evidence.json)"
[ "$(kinds withdrawn-evidence.json)" = "received OFFER router.xc shelter-a.xc;sent ACCEPT shelter-a.xc router.xc;received CASE_TRANSFER ngo.xc shelter-a.xc;sent RECEIPT shelter-a.xc ngo.xc;received WITHDRAW ngo.xc shelter-a.xc;sent WITHDRAWN shelter-a.xc ngo.xc;" ] &&
  ok || bad "withdrawn evidence: $(kinds withdrawn-evidence.json)"
# The provider's case is gone; its evidence is not.
[ "$(sqlite3 shelter-a.db "SELECT count(*) FROM cases WHERE hex(id) = '$hexid'")" = 0 ] &&
  ok || bad "shelter A still holds the case row"
[ "$(sqlite3 shelter-a.db "SELECT count(*) FROM evidence WHERE hex(referral) = '$hexid'")" = 6 ] &&
  ok || bad "shelter A's evidence is not six rows"
[ "$(sqlite3 shelter-a.db "SELECT count(*) FROM evidence_registry")" = 2 ] &&
  ok || bad "shelter A does not keep each signed registry once"
# The signed registry is carried byte for byte.
[ "$(jq -r '.registries[0].signed' shelter-evidence.json)" = "$(od -An -v -tx1 network-v1.reg | tr -d ' \n')" ] &&
  ok || bad "the bundle's registry is not registry v1's file"
# Each version the node verified against is kept once, and a bundle carries
# the ones its items name: v2 for the referral handled after the reload.
[ "$(sqlite3 intake.db "SELECT group_concat(version) FROM evidence_registry")" = "1,2" ] &&
  ok || bad "the intake keeps registries $(sqlite3 intake.db "SELECT group_concat(version) FROM evidence_registry")"
[ "$(jq -c '[.registries[].version]' withdrawn-evidence.json)" = "[2]" ] &&
  [ "$(jq -c '[.items[].registry_version] | unique' withdrawn-evidence.json)" = "[2]" ] &&
  [ "$(jq -r '.registries[0].signed' withdrawn-evidence.json)" = "$(od -An -v -tx1 network-v2.reg | tr -d ' \n')" ] &&
  ok || bad "the withdrawn referral's bundle does not carry registry v2"

# show: one line per message, exactly.
show_line() { # the line of item $2 of bundle $1
  jq -r --argjson i "$2" '.items[$i] | "\(.created_at_ms / 1000 | floor | todate)  \(.direction | . + " " * (8 - length))  \(.type | . + " " * (16 - length))  \(.from) → \(.to)  signer key \(.from_kid)  verified against registry v\(.registry_version)"' "$1"
}
want=$(for i in 0 1 2 3 4 5 6; do show_line intake-evidence.json "$i"; done)
got=$("$haven" evidence show "$id" --config intake.ini)
[ "$got" = "$want" ] && ok || bad "evidence show: got
$got
want
$want"
expect 1 "no evidence of referral 0123456789 here (HV_ENOTFOUND)" \
  "$haven" evidence show 0123456789 --config intake.ini

# ---- the bundle holds nothing of the person
for s in Amina Example-Testcase 1998-04-17 "555 0100" "Mina T." "long-term accommodation"; do
  hex=$(printf '%s' "$s" | od -An -v -tx1 | tr -d ' \n')
  for f in intake-evidence.json shelter-evidence.json withdrawn-evidence.json; do
    if grep -qF -- "$s" "$f" || grep -qF -- "$hex" "$f"; then bad "$f holds '$s'"; else ok; fi
  done
done

# ---- verify offline, in a directory holding only the bundle and the key
org() { case $1 in ngo.xc) echo "Example Referring NGO" ;; router.xc) echo "Example Referral Mechanism" ;;
  shelter-a.xc) echo "Example Shelter A" ;; esac; }
verify_lines() { # the lines verify must print for bundle $1
  local n i from
  n=$(jq '.items | length' "$1")
  for ((i = 0; i < n; i++)); do
    from=$(jq -r ".items[$i].from" "$1")
    jq -r --argjson i "$i" --arg org "$(org "$from")" '.items[$i] | "item \($i + 1): \(.created_at_ms / 1000 | floor | todate) \(.type) \(.from) → \(.to), signed by \(.from) (\($org)) with its current key \(.from_kid) in registry v1"' "$1"
  done
  jq -r '"verified: referral \(.referral), \(.items | length) messages, 1 signed registry, exported by \(.node) at \(.exported_at | todate)"' "$1"
}
mkdir fresh
cp intake-evidence.json shelter-evidence.json withdrawn-evidence.json keys/authority.pub fresh/
for b in intake-evidence.json shelter-evidence.json; do
  want=$(verify_lines "$b")
  got=$(cd fresh && "$haven" evidence verify --authority authority.pub "$b")
  rc=$?
  [ "$rc" = 0 ] && [ "$got" = "$want" ] && ok || bad "verify $b: exit $rc
$got
want
$want"
done
# The withdrawn referral's, with the WITHDRAWN that confirms the erasure.
expect 0 "item 6: " bash -c "cd fresh && '$haven' evidence verify --authority authority.pub withdrawn-evidence.json | grep -F 'WITHDRAWN shelter-a.xc → ngo.xc, signed by shelter-a.xc (Example Shelter A) with its current key'"
expect 0 "in registry v2" bash -c "cd fresh && '$haven' evidence verify --authority authority.pub withdrawn-evidence.json"
# A bundle is checked against the authority's key, not any key.
expect 1 "registry v1: the authority's signature does not verify" \
  "$haven" evidence verify --authority keys/ops.xc.pub intake-evidence.json

receipt_kid=$(jq -r '.items[4].from_kid' intake-evidence.json)
receipt_fail="haven: evidence: signature or authentication check failed (HV_ECRYPTO): item 5 (RECEIPT shelter-a.xc → ngo.xc): the signature does not verify with shelter-a.xc's current key $receipt_kid in registry v1"

# evidence_changed_byte: one byte of the receipt's body digest changed.
jq '.items[4].body_digest |= ((if .[0:2] == "00" then "01" else "00" end) + .[2:])' \
  intake-evidence.json > fresh/changed.json
out=$(cd fresh && "$haven" evidence verify --authority authority.pub changed.json 2>&1)
rc=$?
[ "$rc" = 1 ] && [ "$(tail -1 <<<"$out")" = "$receipt_fail" ] && ok ||
  bad "evidence_changed_byte: exit $rc: $out"
# The items before it verified and were named; none after it was.
[ "$(grep -c '^item ' <<<"$out")" = 4 ] && ok || bad "evidence_changed_byte: $out"
# A byte of a header: its fields no longer say what it signed.
jq '.items[0].created_at_ms += 1' intake-evidence.json > fresh/header.json
expect 1 "haven: evidence bundle: malformed or non-canonical encoding (HV_EDECODE): items[0]: 'created_at_ms' differs from its signed header" \
  bash -c "cd fresh && '$haven' evidence verify --authority authority.pub header.json"

# evidence_signed_by_another_node: the receipt re-signed by the router.
"$bin/evidence_forge" intake-evidence.json 5 keys/router.xc.key fresh/forged.json || bad "forge"
[ "$(jq -r '.items[4].signature' fresh/forged.json)" != "$(jq -r '.items[4].signature' intake-evidence.json)" ] &&
  ok || bad "the forger did not change the signature"
out=$(cd fresh && "$haven" evidence verify --authority authority.pub forged.json 2>&1)
rc=$?
[ "$rc" = 1 ] && [ "$(tail -1 <<<"$out")" = "$receipt_fail" ] && ok ||
  bad "evidence_signed_by_another_node: exit $rc: $out"
# Re-signed by the genuine sender, the same item verifies: the tool forges
# nothing but the key.
"$bin/evidence_forge" intake-evidence.json 5 keys/shelter-a.xc.key fresh/resigned.json || bad "resign"
expect 0 "verified: referral $id, 7 messages" \
  bash -c "cd fresh && '$haven' evidence verify --authority authority.pub resigned.json"

# evidence_node_not_in_registry: the authority's registry v1 without
# shelter A, put in the bundle in place of the one the node kept.
jq 'del(.nodes[] | select(.id == "shelter-a.xc"))' network.json > without.json
"$haven" registry sign --authority keys/authority.key --in without.json --out without.reg >/dev/null ||
  bad "sign the registry without shelter A"
jq --arg reg "$(od -An -v -tx1 without.reg | tr -d ' \n')" '.registries[0].signed = $reg' \
  intake-evidence.json > fresh/unlisted.json
out=$(cd fresh && "$haven" evidence verify --authority authority.pub unlisted.json 2>&1)
rc=$?
[ "$rc" = 1 ] && [ "$(tail -1 <<<"$out")" = "haven: evidence: not authenticated (HV_EAUTH): item 5 (RECEIPT shelter-a.xc → ngo.xc): registry v1 does not list the signer 'shelter-a.xc'" ] &&
  ok || bad "evidence_node_not_in_registry: exit $rc: $out"

# A bundle that is not one is refused by name, and so is a missing file.
echo '{"format": "haven-evidence/2"}' > fresh/other.json
expect 1 "not a haven-evidence/1 bundle" \
  bash -c "cd fresh && '$haven' evidence verify --authority authority.pub other.json"
# Evidence is the host's administrator's: a supervisor through haven-web's
# socket gets neither show nor export.
for cmd in evidence.show evidence.export; do
  reply=$("$bin/ctl_call" --as supervisor-1 supervisor staff/intake.staff.sock "$cmd" "{\"referral\":\"$id\"}")
  [ "$(jq -r '"\(.error): \(.message)"' <<<"$reply")" = "HV_EFORBIDDEN: evidence is for the host's administrator" ] &&
    ok || bad "staff $cmd: $reply"
done
# An export never overwrites a file.
expect 1 "HV_EEXIST" "$haven" evidence export "$id" --config intake.ini --out intake-evidence.json
stop_all_and_check_logs
finish
