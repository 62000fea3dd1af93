#!/usr/bin/env bash
# Prekey bundles across borders (issue 19), with real brokers for XA and XC
# on loopback and real workers in each country:
#  1. bundle_reaches_sender_across_peer_link: shelter B's bundle (homed at
#     broker.xc) reaches the NGO at broker.xa, and the NGO's reaches XC's
#     router; one made later is pushed on at once; after broker.xa
#     restarts (its directory is in memory), the link coming up brings
#     them back;
#  2. a referral from XA completes at a shelter in XC with every message
#     sealed to a prekey, none to a long-term key;
#  3. on the peers' endpoint, broker.xc refuses a bundle broker.xa pushes
#     for a node homed at broker.xc (HV_EAUTH) and a forged one for a node
#     homed at broker.xa (HV_ECRYPTO), and confirms an honest one.
# usage: test_prekeys_federation.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/fed_lib.sh"
example=$(realpath "$2")
fed_setup "$1" 127.0.0.1 127.0.0.1 127.0.0.1
put="$bin/prekey_put"
cp "$example" adult.json
for n in broker-xc broker-xa router shelter-b intake; do start "$n"; done

newest() { "$haven" status --json --config "$1.ini" | jq -r .result.prekeys.newest; }
known() { "$haven" status --json --config "$1.ini" | jq -r ".result.prekeys.known[\"$2\"] // empty"; }
knows_newest() { # knows_newest WORKER NAME NODE: WORKER holds NODE's newest bundle
  local want
  want=$(newest "$2")
  [ -n "$want" ] && [ "$(known "$1" "$3")" = "$want" ]
}

# ---- 1. bundle_reaches_sender_across_peer_link
wait_until 20 knows_newest intake shelter-b shelter-b.xc
wait_until 20 knows_newest router intake ngo.xa
expect 0 "prekey_stored node=shelter-b.xc prekey=$(newest shelter-b) from=broker.xc" \
  grep -m1 -o "prekey_stored node=shelter-b.xc prekey=$(newest shelter-b) from=broker.xc" broker-xa.log
# A node that starts later: its bundle is pushed over the link that is up.
start shelter-a
wait_until 20 knows_newest intake shelter-a shelter-a.xc
# broker.xa forgets everything when it restarts; the link brings it back.
stop intake
stop broker-xa
start broker-xa
start intake
wait_until 20 knows_newest intake shelter-b shelter-b.xc
wait_until 20 knows_newest intake shelter-a shelter-a.xc

# ---- 2. a referral across the border, sealed to prekeys all along
id=$(submit adult.json)
[ ${#id} -eq 32 ] && ok || bad "submit gave no id: '$id'"
wait_until 30 is offered offer_state shelter-a "$id"
expect 0 "accepted" "$haven" inbox accept --config shelter-a.ini "$id"
wait_until 30 is received case_state shelter-a "$id"
wait_until 30 is received intake_state "$id"
for n in intake router shelter-a; do
  [ "$(grep -c 'event=sealed_long_term' "$n.log")" = 0 ] && ok ||
    bad "$n sealed to a long-term key: $(grep -m1 'event=sealed_long_term' "$n.log")"
done

# ---- 3. what broker.xc takes from a peer (as broker.xa, at the end: the
# probe's HELLO replaces broker.xa's own link for a moment)
peers_xc=$(jq -r '.nodes[] | select(.id == "broker.xc") | .endpoints.peers' network.json)
bundle_for_node_homed_elsewhere_refused() {
  expect 0 "PREKEY_REFUSED HV_EAUTH: 'shelter-b.xc' is not homed at the broker that sent its bundle" \
    "$put" keys/broker.xa.key keys/broker.xc.pub "$peers_xc" shelter-b.xc keys/shelter-b.xc.pub \
    keys/shelter-b.xc.key
}
bundle_for_node_homed_elsewhere_refused
forged_bundle_from_peer_refused() {
  expect 0 "PREKEY_REFUSED HV_ECRYPTO: the bundle's signature does not verify with the registered signing key of 'ngo.xa'" \
    "$put" keys/broker.xa.key keys/broker.xc.pub "$peers_xc" ngo.xa keys/ngo.xa.pub \
    keys/shelter-a.xc.key
}
forged_bundle_from_peer_refused
out=$("$put" keys/broker.xa.key keys/broker.xc.pub "$peers_xc" ngo.xa keys/ngo.xa.pub keys/ngo.xa.key)
[ "$out" = "PREKEY" ] && ok || bad "an honest bundle from the peer: '$out'"

stop_all_and_check_logs
finish
