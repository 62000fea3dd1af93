#!/usr/bin/env bash
# The brokers' dashboards in a real browser (Debian's Chromium, driven by
# playwright-core; issue 23), on three countries in a line on loopback:
# XA ⇄ XB ⇄ XC, each broker serving its page. At XA a provider that was
# connected and is stopped, with a case waiting for it, and a tampered
# status that the intake refused (a dead letter). dashboard.mjs reads the
# pages as an operator does, then broker.xc is stopped and the route view
# at XA must show the XB ⇄ XC link down with its duration, and broker.xc
# unknown once its summaries stop coming. axe-core checks the page; the
# screenshot goes to the path given.
# Needs node and `npm ci --prefix tests/browser` (./setup.sh test does it);
# without them the test fails: CI must run it.
# usage: test_dashboard_browser.sh BIN_DIR SCREENSHOT.png
set -u
here=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
cli=$here/../cli
. "$cli/lib.sh"
. "$cli/flow_lib.sh"
. "$cli/fed_lib.sh"
shot=$(realpath -m "$2")
if ! command -v node >/dev/null || [ ! -d "$here/node_modules/playwright-core" ] ||
   [ ! -x /usr/bin/chromium ]; then
  bad "needs node, /usr/bin/chromium and 'npm ci --prefix tests/browser' (./setup.sh test)"
  finish; exit
fi
fed_setup "$1" 127.0.0.1 127.0.0.1 127.0.0.1

# ---- the network: XA's provider and two senders the CLI speaks for, then
# the registry signed again; the brokers peer in a line.
now=$(date -u +%s)
v=$(jq -c '.nodes[] | select(.id == "ngo.xa") | {valid_from, valid_until}' network.json)
jq --argjson v "$v" '.nodes += [
  ({"id": "shelter.xa", "role": "provider", "country": "XA", "home": "broker.xa",
    "organisation": "Example Shelter XA", "keys_file": "keys/shelter.xa.pub",
    "services": ["shelter"], "regions": ["Example Border District"], "languages": ["en"],
    "accepts_minors": true, "capacity": 4} + $v),
  ({"id": "legal.xa", "role": "provider", "country": "XA", "home": "broker.xa",
    "organisation": "Example Legal Aid XA", "keys_file": "keys/legal.xa.pub",
    "services": ["legal_aid"], "regions": ["Example Border District"], "languages": ["en"],
    "accepts_minors": true, "capacity": 4} + $v),
  ({"id": "desk.xa", "role": "intake", "country": "XA", "home": "broker.xa",
    "organisation": "Example Intake Desk XA", "keys_file": "keys/desk.xa.pub"} + $v)]' \
  network.json > network.new && mv network.new network.json
for id in shelter.xa legal.xa desk.xa; do
  "$haven" keygen --id "$id" --out keys >/dev/null || bad "keygen $id"
done
"$haven" registry sign --authority keys/authority.key --in network.json --out network.reg \
  >/dev/null || bad "registry sign"
sed -i 's/^peers = .*/peers = broker.xb/' broker-xa.ini
sed -i 's/^peers = .*/peers = broker.xa, broker.xc/' broker-xb.ini
sed -i 's/^peers = .*/peers = broker.xb/' broker-xc.ini
read -r http_xa http_xb http_xc <<<"$(free_ports 3)"
for c in xa xb xc; do
  port_var=http_$c
  printf '[http]\nbind = 127.0.0.1:%s\n' "${!port_var}" >> "broker-$c.ini"
done
worker_ini shelter shelter.xa
for n in broker-xa broker-xb broker-xc intake shelter; do start "$n"; done

# ---- what XA's operator will find: a stopped provider with a case waiting,
# and a tampered status refused by the intake (a dead letter).
stop shelter
reg=(--authority keys/authority.pub --registry network.reg)
corpus="$here/../fuzz/corpus/msg"
tail -c +2 "$corpus/seed-STATUS" > status.body
tail -c +2 "$corpus/seed-CASE_TRANSFER" > case.body
ref=0123456789abcdef0123456789abcdef
seal() { "$haven" seal "${reg[@]}" --key "keys/$1.key" --to "$2" --type "$3" --referral "$ref" \
           --in "$4" --out "$5" >/dev/null 2>&1 || bad "seal $3 to $2"; }
seal desk.xa shelter.xa CASE_TRANSFER case.body waiting.env
seal legal.xa ngo.xa STATUS status.body tampered.env
pos=$(( $(stat -c %s tampered.env) - 64 - 20 ))
byte=$(od -An -tu1 -j "$pos" -N1 tampered.env | tr -d ' ')
# shellcheck disable=SC2059
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of=tampered.env bs=1 seek="$pos" conv=notrunc 2>/dev/null
expect 0 "1 envelope(s) stored" "$haven" send "${reg[@]}" --key keys/desk.xa.key --store desk-cli.db waiting.env
expect 0 "1 envelope(s) stored" "$haven" send "${reg[@]}" --key keys/legal.xa.key --store legal-cli.db tampered.env
stats() { curl -sf "http://127.0.0.1:$1/api/stats"; }
dead_at_xa() { [ "$(stats "$http_xa" | jq '.dead_recent | length')" = 1 ]; }
wait_until 10 dead_at_xa
# Every broker has heard of every other (the summaries go every 2 s).
route_whole() { [ "$(stats "$http_xa" | jq '[.route.brokers[] | select(.state != "unknown")] | length')" = 3 ]; }
wait_until 15 route_whole

# XA's /metrics, held to Prometheus's conventions with the dead letter counted.
expect 0 "strictly valid" /usr/bin/python3 "$cli/check_metrics.py" "http://127.0.0.1:$http_xa/metrics" "" \
  broker broker.xa --at-least 'haven_dead_letters=1' --at-least 'haven_queue_depth{queue=shelter.xa}=1'

run() { node "$here/dashboard.mjs" "$@" > "browser-$1.out" 2>&1 && ok || bad "browser steps failed ($1)"
        sed 's/^/  /' "browser-$1.out"; }
run network "http://127.0.0.1:$http_xa" "http://127.0.0.1:$http_xb"
# ---- broker.xc stops: XB's link to it goes down, its summaries stop.
stop broker-xc
run down "http://127.0.0.1:$http_xa" "http://127.0.0.1:$http_xb" "$shot"
# The summaries carry no content: no organisation, no referral, no sender of a message.
for secret in "Example Shelter" "$ref" desk.xa legal.xa; do
  if stats "$http_xa" | jq -c .route | grep -qF "$secret"; then bad "'$secret' in the route"; else ok; fi
done
# ---- what XB keeps of what a peer says: with broker.xc stopped, its key
# opens a link to XB as broker.xc would. A summary that does not decode, one
# about XB itself, one about a broker the registry does not list: each
# dropped and logged, the link up. One of broker.xc's own: kept, up again.
probe() { "$bin/health_probe" keys/broker.xc.key keys/broker.xb.pub "$peers_xb" broker.xc "$1"; }
peers_xb=$(jq -r '.nodes[] | select(.id == "broker.xb") | .endpoints.peers' network.json)
expect 0 "link up after HEALTH" probe garbage
wait_until 5 grep -q 'event=health_refused peer=broker.xc reason="HV_EDECODE"' broker-xb.log
expect 0 "link up after HEALTH" probe about:broker.xb
wait_until 5 grep -q 'event=health_refused peer=broker.xc reason="about this broker"' broker-xb.log
expect 0 "link up after HEALTH" probe about:broker.zz
wait_until 5 grep -q 'event=health_refused peer=broker.xc reason="not a broker of the registry"' broker-xb.log
xc_at_xb() { stats "$http_xb" | jq -r '.route.brokers[] | select(.broker == "broker.xc") | .state'; }
is unknown xc_at_xb && ok || bad "broker.xc at XB: $(xc_at_xb)"
expect 0 "link up after HEALTH" probe about:broker.xc
wait_until 5 is up xc_at_xb
[ "$(stats "$http_xb" | jq .route.refused)" = 3 ] && ok || bad "XB refused: $(stats "$http_xb" | jq .route.refused)"
stop_all_and_check_logs
finish
