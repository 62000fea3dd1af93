#!/usr/bin/env bash
# haven-broker and haven send/recv as an operator and a node meet them:
# checking a configuration, running the broker, sending and receiving through
# it, a refusal with its code, and a clean stop.
# usage: test_broker_cli.sh HAVEN HAVEN_BROKER EXAMPLE_NETWORK_JSON EXAMPLE_BROKER_INI
set -u
. "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/lib.sh"
haven=$(realpath "$1")
broker=$(realpath "$2")
example=$(realpath "$3")
example_ini=$(realpath "$4")
work=$(mktemp -d "${TMPDIR:-/tmp}/hvbcli.XXXXXX")
broker_pid=
cleanup() { [ -n "$broker_pid" ] && kill -9 "$broker_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work" || exit 1
# Free ports for XC's broker, so that the test never collides with a real one.
read -r port peer_port ops_port events_port http_port <<<"$(free_ports 5)"
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
from=$(iso $((now - 3600)))
until=$(iso $((now + 86400)))
mkdir keys
sed -e "s/\"issued_at\": \"[^\"]*\"/\"issued_at\": \"$from\"/" \
    -e "s/\"expires_at\": \"[^\"]*\"/\"expires_at\": \"$until\"/" \
    -e "s/\"valid_from\": \"[^\"]*\"/\"valid_from\": \"$from\"/g" \
    -e "s/\"valid_until\": \"[^\"]*\"/\"valid_until\": \"$until\"/g" \
    -e "s#tcp://127.0.0.1:7301#tcp://127.0.0.1:$port#" \
    -e "s#tcp://127.0.0.1:7302#tcp://127.0.0.1:$peer_port#" "$example" > network.json
for id in authority $(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' network.json); do
  "$haven" keygen --id "$id" --out keys >/dev/null || bad "keygen $id"
done
"$haven" registry sign --authority keys/authority.key --in network.json --out network.reg >/dev/null ||
  bad "registry sign"
cp "$example_ini" broker.ini
sed -i -e "s#tcp://127.0.0.1:7303#tcp://127.0.0.1:$ops_port#" -e "s#tcp://127.0.0.1:7304#tcp://127.0.0.1:$events_port#" \
    -e "s#^bind = 127.0.0.1:7380#bind = 127.0.0.1:$http_port#" broker.ini

# Checking configurations.
expect 0 "configuration, keys and registry are valid" "$broker" -c broker.ini -n
sed 's/^; rate_per_second = 5000 .*/rate_per_second = lots/' broker.ini > bad-value.ini
expect 1 "bad-value.ini:14: key 'rate_per_second' in [limits]: expected messages per second from 1 to 1000000, got 'lots'" \
  "$broker" -c bad-value.ini -n
sed 's/^store = /stroe = /' broker.ini > bad-key.ini
expect 1 "bad-key.ini:8: unknown key 'stroe' in [broker]" "$broker" -c bad-key.ini -n
chmod 644 keys/broker.xc.key
expect 1 "HV_EKEYPERM" "$broker" -c broker.ini -n
chmod 600 keys/broker.xc.key
expect 2 "usage: haven-broker -c broker.ini [-n]" "$broker"
expect 0 "configuration, keys and registry are valid" "$broker" --config=broker.ini --check
expect 0 "configuration, keys and registry are valid" "$broker" --config broker.ini -n
# -n refuses what the daemon would refuse at start, and writes nothing.
[ ! -e broker-xc.db ] && ok || bad "-n made the store"
sed "s/^bind = 127.0.0.1:$http_port/bind = 0.0.0.0:$http_port/" broker.ini > open-http.ini
expect 1 "[http] bind: 0.0.0.0 is not loopback; set a token (HV_ECONFIG)" "$broker" -c open-http.ini -n
printf 'token = short\n' >> open-http.ini
expect 1 "[http] token: expected 16 to 128 characters (HV_ECONFIG)" "$broker" -c open-http.ini -n
sed "s#^store = .*#store = $work/missing/broker.db#" broker.ini > no-dir.ini
expect 1 "[broker] store: cannot create files in $work/missing" "$broker" -c no-dir.ini -n

# Running it.
"$broker" -c broker.ini 2> broker.log &
broker_pid=$!
wait_log() { # wait_log PATTERN: until the broker's log has it (bounded)
  for _ in $(seq 100); do grep -q "$1" broker.log && return 0; sleep 0.1; done
  return 1
}
wait_log "event=ready" && ok || bad "the broker did not get ready"
# Beside the running broker, on the same ports: -n binds nothing, so it passes.
expect 0 "configuration, keys and registry are valid" "$broker" -c broker.ini -n
reg=(--authority keys/authority.pub --registry network.reg)
printf '{"services":["shelter"],"urgency":"high"}' > offer.json
"$haven" seal --key keys/router.xc.key "${reg[@]}" --to shelter.xc --type OFFER --in offer.json --out offer.env 2>/dev/null
"$haven" seal --key keys/shelter.xc.key "${reg[@]}" --to clinic.xc --type ACCEPT --in offer.json --out wrong.env 2>/dev/null
expect 0 "1 envelope(s) stored by router.xc's broker" "$haven" send --key keys/router.xc.key "${reg[@]}" --store router.db offer.env
expect 0 "received OFFER from router.xc" "$haven" recv --key keys/shelter.xc.key "${reg[@]}" --store shelter.db --count 1
# The same for scripts: one JSON object a line.
"$haven" seal --key keys/router.xc.key "${reg[@]}" --to shelter.xc --type OFFER --in offer.json --out offer2.env 2>/dev/null
expect 0 "1 envelope(s) stored" "$haven" send --key=keys/router.xc.key "${reg[@]}" --store=router.db offer2.env
line=$("$haven" recv --json --key keys/shelter.xc.key "${reg[@]}" --store shelter.db --count 1)
jq -e '.event == "received" and .type == "OFFER" and .from == "router.xc"' <<<"$line" >/dev/null && ok ||
  bad "recv --json: $line"
# ACCEPT goes to a router, never to another provider.
expect 1 "ACCEPT may not be sent to role provider (HV_EFORBIDDEN)" "$haven" send --key keys/shelter.xc.key "${reg[@]}" --store shelter.db wrong.env
# Nothing more for the shelter: the OFFER was acknowledged and is not delivered twice.
expect 1 "received 0 of 1 before the timeout" "$haven" recv --key keys/shelter.xc.key "${reg[@]}" --store shelter.db --count 1 --timeout 1
# The broker's log carries ids and events, never the content.
grep -q "urgency\|shelter\"" broker.log && bad "content in the broker log" || ok
kill -TERM "$broker_pid"
wait "$broker_pid"
rc=$?
broker_pid=
[ "$rc" -eq 0 ] && ok || bad "broker exit $rc after SIGTERM"
grep -q "event=stopped stored=2" broker.log && ok || bad "no clean stop in the log"

finish
