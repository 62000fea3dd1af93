#!/usr/bin/env bash
# Three brokers in three network namespaces (XA origin, XB transit, XC
# destination), joined by veth pairs to a switch namespace, all made here
# and removed at the end. Real daemons in each country:
#  1. a broker admits on its peers' socket only the brokers it is set to
#     peer with, under their registered keys;
#  2. a referral from XA's NGO completes at a provider in XC, across both
#     brokers, custody hop by hop;
#  3. the XA-XC link is cut in the middle of a stream of referrals and later
#     restored: nothing lost, nothing duplicated, every referral completes;
#  4. a broker never forwards to a broker it does not peer with.
# Needs root (ip netns), jq and sqlite3.
# usage: test_federation.sh BIN_DIR EXAMPLE_REFERRAL
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
. "$here/lib.sh"
. "$here/flow_lib.sh"
. "$here/fed_lib.sh"
example=$(realpath "$2")
probe=$(realpath "$1")/peer_probe
# Network namespaces need root: a user with password-less sudo runs the test
# through it; anyone else gets a clear failure (never a silent skip).
if [ "$(id -u)" -ne 0 ] && sudo -n true 2>/dev/null; then
  exec sudo -n -E bash "$0" "$@"
fi
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
  echo "FAIL: this test makes network namespaces: it needs root (or sudo) and iproute2"; exit 1
fi

# ---- the network: namespaces, a switch, one address per country
tag=hv$$
nsa=$tag-xa nsb=$tag-xb nsc=$tag-xc nsw=$tag-sw
net_cleanup() {
  flow_cleanup
  for n in $nsa $nsb $nsc $nsw; do ip netns del "$n" 2>/dev/null; done
}
ip netns add $nsw && ip -n $nsw link add sw type bridge && ip -n $nsw link set sw up &&
  ip -n $nsw link set lo up || { echo "FAIL: cannot make namespaces"; exit 1; }
i=1
for n in $nsa $nsb $nsc; do
  ip netns add "$n"
  ip link add "$tag-$i" netns "$n" type veth peer name "p$i" netns $nsw
  ip -n $nsw link set "p$i" master sw up
  ip -n "$n" link set lo up
  ip -n "$n" addr add "10.77.0.$i/24" dev "$tag-$i"
  ip -n "$n" link set "$tag-$i" up
  i=$((i + 1))
done
fed_setup "$1" 10.77.0.1 10.77.0.2 10.77.0.3
trap net_cleanup EXIT
# XA's broker serves its metrics on its namespace's loopback (issue 23).
printf '[http]\nbind = 127.0.0.1:9464\n' >> broker-xa.ini
metrics_xa() { in_a /usr/bin/python3 "$here/check_metrics.py" http://127.0.0.1:9464/metrics "" \
                 broker broker.xa "$@"; }
ns[broker-xa]=$nsa ns[intake]=$nsa
ns[broker-xb]=$nsb ns[transit]=$nsb
ns[broker-xc]=$nsc ns[router]=$nsc ns[shelter-a]=$nsc ns[shelter-b]=$nsc
peers_xc=$(jq -r '.nodes[] | select(.id == "broker.xc") | .endpoints.peers' network.json)
in_a() { ip netns exec $nsa "$@"; }

# ---- 1. who may open a peer link
start broker-xc
expect 0 "READY from broker.xc" in_a "$probe" keys/broker.xa.key keys/broker.xc.pub "$peers_xc" broker.xa 5
expect 1 "no READY" in_a "$probe" keys/broker.xb.key keys/broker.xc.pub "$peers_xc" broker.xb 3
grep -q 'peer_refused reason="not a broker this broker peers with".*node=broker.xb' broker-xc.log &&
  ok || bad "XC did not log refusing XB"
mkdir -p rogue && "$haven" keygen --id broker.xa --out rogue >/dev/null
expect 1 "no READY" in_a "$probe" rogue/broker.xa.key keys/broker.xc.pub "$peers_xc" broker.xa 3
grep -q 'peer_refused reason="key not in the registry"' broker-xc.log && ok ||
  bad "XC did not log refusing an unregistered key"
# A registered worker's key is not a broker's.
expect 1 "no READY" in_a "$probe" keys/ngo.xa.key keys/broker.xc.pub "$peers_xc" ngo.xa 3

# ---- 2. one referral across two brokers
for n in broker-xa broker-xb router shelter-a shelter-b intake; do start "$n"; done
wait_until 10 grep -q "event=peer_up node=broker.xc direction=out" broker-xa.log
cp "$example" adult.json
accept_all() { # accepts every open offer at shelter A; prints how many it holds accepted
  local id
  for id in $("$haven" inbox list --json --config shelter-a.ini | jq -r '.result.inbox[] | select(.offer == "offered") | .id'); do
    "$haven" inbox accept --config shelter-a.ini "$id" >/dev/null
  done
}
# An operator watches XA's broker while it happens.
monitor() { in_a "$haven" monitor --authority keys/authority.pub --registry network.reg \
              --key "keys/$1.key" --broker broker.xa --endpoint "$events_xa" "${@:2}"; }
monitor ops.xa --event stored --count 6 --timeout 30 > monitor.out 2> monitor.err &
monitor_pid=$!
monitor ops.xa --json --count 12 --timeout 30 > monitor.json 2>&1 &
monitor_json_pid=$!
# Each monitor reports its welcome; the broker logs each subscription when
# it takes effect, and only then is every event sure to reach the monitors.
wait_until 10 grep -q "watching the events of broker.xa" monitor.err
wait_until 10 grep -q "watching the events of broker.xa" monitor.json
watchers_a() { [ "$(grep -c "event=events_watcher_in node=ops.xa" broker-xa.log)" -eq 2 ]; }
wait_until 10 watchers_a
id=$(submit adult.json)
wait_until 15 is offered offer_state shelter-a "$id"
accept_all
wait_until 15 is received intake_state "$id"
expect 0 "status in_progress sent to ngo.xa" "$haven" inbox status --config shelter-a.ini "$id" --state in_progress
expect 0 "status completed" "$haven" inbox status --config shelter-a.ini "$id" --state completed --note "done"
wait_until 15 is completed intake_state "$id"
# The metrics are a snapshot the broker's loop publishes twice a second:
# waited for, then checked once more with the conventions listing.
metrics_now() { metrics_xa "$@" >/dev/null 2>&1; }
up_checks=(--at-least 'haven_peer_up{peer=broker.xc,direction=out}=1'
  --at-least 'haven_peer_up{peer=broker.xc,direction=in}=1' --at-least 'haven_messages_total{event=forwarded}=1')
wait_until 10 metrics_now "${up_checks[@]}"
expect 0 "strictly valid" metrics_xa "${up_checks[@]}"
wait "$monitor_pid" && ok || bad "monitor: $(cat monitor.err)"
wait "$monitor_json_pid" && ok || bad "monitor --json: $(cat monitor.json)"
grep -qE "stored +REFERRAL_REQUEST +XA -> XC" monitor.out && ok || bad "monitor: $(cat monitor.out)"
grep -qE "stored +STATUS +XC -> XA" monitor.out && ok || bad "monitor: $(cat monitor.out)"
grep -q '"event":"forwarded","type":"","from":"","to":"XC","bytes":0,"latency_ms":' monitor.json &&
  ok || bad "monitor --json: $(cat monitor.json)"
for secret in Amina Example-Testcase 1998-04-17 ngo.xa shelter-a; do
  if grep -qF "$secret" monitor.out monitor.json; then bad "'$secret' in the events"; else ok; fi
done
# Only operators may subscribe.
expect 1 "0 of 1 events before the timeout" monitor ngo.xa --count 1 --timeout 3

# ---- 3. the XA-XC link cut in the middle of a stream
cut() { ip -n $nsa route add blackhole 10.77.0.3/32; ip -n $nsc route add blackhole 10.77.0.1/32; }
heal() { ip -n $nsa route del blackhole 10.77.0.3/32; ip -n $nsc route del blackhole 10.77.0.1/32; }
n=20
ids=()
for ((k = 0; k < n; k++)); do
  ids+=("$(submit adult.json)")
  if [ "$k" -eq $((n / 2)) ]; then
    accept_all
    cut
    wait_until 10 grep -q "event=peer_down node=broker.xc" broker-xa.log
  fi
done
# While cut: XA holds what it took into custody for XC, and operators see it.
stats() { in_a "$haven" stats --authority keys/authority.pub --registry network.reg \
            --key "keys/$1.key" --broker broker.xa --endpoint "$ops_xa" "${@:2}"; }
link_is() { stats ops.xa | grep -qE "^  broker.xc +XC +$1 "; }
wait_until 10 link_is DOWN
expect 0 "@broker.xc" stats ops.xa
[ "$(stats ops.xa --json | jq -r '.peers[] | select(.node == "broker.xb") | .out_up')" = true ] &&
  ok || bad "XA-XB link not up while XA-XC is cut"
queued=$(sqlite3 broker-xa.db "SELECT count(*) FROM queue WHERE recipient = '@broker.xc'")
[ "$queued" -ge $((n / 2 - 1)) ] && ok || bad "XA holds $queued envelopes for XC while cut"
# Its metrics say the same: the XC link down for two seconds at least,
# what waits for XC queued since then, the XB link up.
down_checks=(--at-most 'haven_peer_up{peer=broker.xc,direction=out}=0'
  --at-least 'haven_peer_state_seconds{peer=broker.xc,direction=out}=2'
  --at-least "haven_queue_depth{queue=@broker.xc}=$((n / 2 - 1))"
  --at-least 'haven_queue_oldest_age_seconds{queue=@broker.xc}=2'
  --at-least 'haven_peer_up{peer=broker.xb,direction=out}=1')
wait_until 10 metrics_now "${down_checks[@]}"
expect 0 "strictly valid" metrics_xa "${down_checks[@]}"
heal
wait_until 10 link_is UP
# Only operators get an answer on the operators' endpoint.
expect 3 "no answer" stats ngo.xa --timeout 2
all_received() {
  accept_all
  local id
  for id in "${ids[@]}"; do
    [ "$(intake_state "$id")" = received ] || return 1
  done
}
wait_until 60 all_received
for id in "${ids[@]}"; do
  "$haven" inbox status --config shelter-a.ini "$id" --state completed --note "outcome" >/dev/null 2>&1 ||
    "$haven" inbox status --config shelter-a.ini "$id" --state in_progress >/dev/null
  "$haven" inbox status --config shelter-a.ini "$id" --state completed --note "outcome" >/dev/null 2>&1
done
all_completed() {
  local id
  for id in "${ids[@]}"; do [ "$(intake_state "$id")" = completed ] || return 1; done
}
wait_until 60 all_completed
# Exactly once everywhere.
for id in "${ids[@]}"; do
  got=$("$haven" referral show --json --config intake.ini "$id" | jq -r '.result.history[].state' | tr '\n' ' ')
  [ "$got" = "requested accepted transferred received in_progress completed " ] ||
    bad "history of $id: $got"
done
ok
[ "$(sqlite3 shelter-a.db "SELECT count(*) FROM vault_cases")" = $((n + 1)) ] && ok ||
  bad "shelter A holds $(sqlite3 shelter-a.db "SELECT count(*) FROM vault_cases") cases, expected $((n + 1))"
for b in broker-xa broker-xc; do
  wait_until 10 is 0 sqlite3 "$b.db" "SELECT count(*) FROM queue"
done

# ---- 4. no forwarding to a broker not peered with
# XB peers with XA only: a message from its transit centre to XC's router stays refused.
printf 'x' > body
"$haven" seal --authority keys/authority.pub --registry network.reg --key keys/transit.xb.key \
  --to router.xc --type DECLINE --in body --out stray.env >/dev/null 2>&1
expect 1 "homed at 'broker.xc', which this broker does not peer with (HV_EUNROUTABLE)" \
  ip netns exec $nsb "$haven" send --authority keys/authority.pub --registry network.reg \
  --key keys/transit.xb.key --store transit-cli.db --timeout 5 stray.env
grep -q "peer_up node=broker.xc" broker-xb.log && bad "XB linked to XC" || ok

# ---- 5. a refusal across borders reaches its sender through both brokers
tail -c +2 "$here/../fuzz/corpus/msg/seed-STATUS" > status.body
"$haven" seal --authority keys/authority.pub --registry network.reg --key keys/transit.xb.key \
  --to ngo.xa --type STATUS --referral 00112233445566778899aabbccddeeff --in status.body \
  --out unknown.env >/dev/null 2>&1
expect 0 "1 envelope(s) stored" ip netns exec $nsb "$haven" send --authority keys/authority.pub \
  --registry network.reg --key keys/transit.xb.key --store transit-cli.db --timeout 5 unknown.env
expect 0 "refused by ngo.xa: no such referral was sent by this intake (HV_ENOTFOUND)" \
  ip netns exec $nsb "$haven" recv --authority keys/authority.pub --registry network.reg \
  --key keys/transit.xb.key --store transit-cli.db --count 0 --timeout 5

# ---- 6. the hop limit towards a peer is a clear refusal, not "try again later"
# hops is outside the signed header (PROTOCOL §3), so a test may raise it.
set_hops() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
path, hops = sys.argv[1], int(sys.argv[2])
b = bytearray(open(path, "rb").read())
def skip(i):  # one msgpack uint, str or bin of the header
    t = b[i]
    if t < 0x80: return i + 1
    if 0xa0 <= t <= 0xbf: return i + 1 + (t & 0x1f)
    sizes = {0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8}
    if t in sizes: return i + 1 + sizes[t]
    if t in (0xc4, 0xd9): return i + 2 + b[i + 1]
    raise SystemExit("unexpected msgpack tag %#x" % t)
assert b[0] == 0x94 and b[1] == 0x9a
i = 2
for _ in range(10): i = skip(i)
b[i] = hops
open(path, "wb").write(b)
PY
}
"$haven" seal --authority keys/authority.pub --registry network.reg --key keys/transit.xb.key \
  --to ngo.xa --type STATUS --referral 00112233445566778899aabbccddeeff --in status.body \
  --out far.env >/dev/null 2>&1
set_hops far.env 8
expect 1 "crossed the most brokers an envelope may cross (HV_EUNROUTABLE)" \
  ip netns exec $nsb "$haven" send --authority keys/authority.pub --registry network.reg \
  --key keys/transit.xb.key --store transit-cli.db --timeout 5 far.env

# ---- need to know (issue 20): nothing of the person, in any encoding the
# scan knows, at a party that was no recipient of the case (the three
# brokers, XC's router, shelter B, which accepted none) nor in what XA's
# operator saw (the events, the metrics); while the daemons run (their
# WALs) and after they stop.
in_a /usr/bin/python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5).read().decode())' \
  > operator-metrics-xa.txt
[ -s operator-metrics-xa.txt ] && ok || bad "no metrics of broker.xa to scan"
need_to_know_scan() {
  expect 0 "clean:" /usr/bin/python3 "$here/scan_secrets.py" --secret Amina --secret Example-Testcase \
    --secret "Mina T." --secret 1998-04-17 --secret "555 0100" --secret "restaurant work" \
    --secret "A recruiter is known" broker-xa.* broker-xb.* broker-xc.* router.* shelter-b.* \
    monitor.out monitor.json operator-metrics-xa.txt
}
need_to_know_scan
stop_all_and_check_logs
need_to_know_scan
finish
