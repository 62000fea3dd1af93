#!/usr/bin/env bash
# Haven on one machine, as far as it is built today: the example network's
# keys, its signed registry, and a referral's messages sealed end to end
# between organisations in three example countries (XA origin, XB transit,
# XC destination). Brokers and workers join this script as they land.
# usage: deploy/demo.sh HAVEN_BINARY WORK_DIR   (haven-broker beside haven)
set -euo pipefail
haven=$(realpath "$1")
broker_bin=$(dirname "$haven")/haven-broker
work=$2
here=$(cd "$(dirname "$0")" && pwd)

step() { printf '\n--- %s\n' "$*"; }
run() { printf '$ haven %s\n' "$*"; "$haven" "$@"; }

rm -rf "$work"
mkdir -p "$work/keys"
cd "$work"

step "1. Every organisation makes its own keys; only the .pub file leaves the node"
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
issued=$(iso $((now - 3600)))
expires=$(iso $((now + 90 * 86400)))
ids=$(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' "$here/example/network.json")
for id in authority $ids; do
  [ "$id" = ngo.xa ] || "$haven" keygen --id "$id" --out keys >/dev/null
done
run keygen --id ngo.xa --out keys
ls -l keys/ngo.xa.key keys/ngo.xa.pub | sed 's/^/    /'

step "2. The network authority lists the nodes and signs the registry"
sed -e "s/\"issued_at\": \"[^\"]*\"/\"issued_at\": \"$issued\"/" \
    -e "s/\"expires_at\": \"[^\"]*\"/\"expires_at\": \"$expires\"/" \
    -e "s/\"valid_from\": \"[^\"]*\"/\"valid_from\": \"$issued\"/g" \
    -e "s/\"valid_until\": \"[^\"]*\"/\"valid_until\": \"$expires\"/g" \
    "$here/example/network.json" > network.json
run registry sign --authority keys/authority.key --in network.json --out network.reg
run registry verify --authority keys/authority.pub network.reg
run registry show network.reg

step "3. The NGO in XA asks XC's referral pathway for a service: a non-identifying summary"
cat > summary.json <<'JSON'
{"needs": ["shelter", "legal_aid"], "age_band": "25-34", "sex": "female",
 "languages": ["fr"], "urgency": "high", "region": "Example Capital Region", "minor": false}
JSON
reg=(--authority keys/authority.pub --registry network.reg)
run seal --key keys/ngo.xa.key "${reg[@]}" --to router.xc --type REFERRAL_REQUEST \
  --referral 0123456789abcdef0123456789abcdef --in summary.json --out request.env
run open --key keys/router.xc.key "${reg[@]}" --in request.env

step "4. The full case goes end to end to the agency that accepted, and to no one else"
cat > case.json <<'JSON'
{"subject": {"names": ["Example Person"], "date_of_birth": "1999-01-01",
 "safe_contact": "via Example Origin Support NGO"}, "consent": {"for_services": true}}
JSON
run seal --key keys/ngo.xa.key "${reg[@]}" --to legal.xc --type CASE_TRANSFER \
  --referral 0123456789abcdef0123456789abcdef --in case.json --out case.env
if grep -q "Example Person" case.env; then echo "!! name visible in the envelope"; exit 1; fi
echo "    (the envelope holds no readable case data: grep finds no name in case.env)"
run open --key keys/legal.xc.key "${reg[@]}" --in case.env --out received.json
echo "    legal.xc received: $(tr -d '\n' < received.json | cut -c1-70)..."
echo "    the router tries to read the case:"
if run open --key keys/router.xc.key "${reg[@]}" --in case.env; then exit 1; fi

step "5. Tampering is refused"
cp case.env tampered.env
size=$(stat -c %s tampered.env)
printf '\x01' | dd of=tampered.env bs=1 seek=$((size / 2)) conv=notrunc status=none
if run open --key keys/legal.xc.key "${reg[@]}" --in tampered.env; then exit 1; fi

step "6. XC's broker carries messages with custody: an offer from the router to the shelter"
cp "$here/example/broker-xc.ini" broker-xc.ini
printf '$ haven-broker -c broker-xc.ini\n'
"$broker_bin" -c broker-xc.ini 2> broker-xc.log &
broker_pid=$!
trap 'kill $broker_pid 2>/dev/null || true' EXIT
cat > offer.json <<'JSON'
{"services": ["shelter"], "age_band": "25-34", "languages": ["fr"], "urgency": "high",
 "region": "Example Capital Region", "respond_by": "in 48 hours"}
JSON
run seal --key keys/router.xc.key "${reg[@]}" --to shelter.xc --type OFFER \
  --referral 0123456789abcdef0123456789abcdef --in offer.json --out offer.env
run send --key keys/router.xc.key "${reg[@]}" --store router.db offer.env
mkdir -p shelter-inbox
run recv --key keys/shelter.xc.key "${reg[@]}" --store shelter.db --count 1 --out shelter-inbox
run open --key keys/shelter.xc.key "${reg[@]}" --in "$(ls shelter-inbox/*.env | head -1)"
echo "    what the broker logged (no content, only ids and events):"
sed 's/^/    /' broker-xc.log | cut -c1-150 | tail -6
kill -TERM $broker_pid
wait $broker_pid || true
trap - EXIT

step "Done. Everything is in $work; try for instance:"
echo "  $haven registry show $work/network.reg"
echo "  $broker_bin -c $work/broker-xc.ini      # the XC broker, in the foreground"
echo "  $haven seal --key $work/keys/legal.xc.key --authority $work/keys/authority.pub \\"
echo "      --registry $work/network.reg --to ngo.xa --type STATUS --in FILE --out status.env"
