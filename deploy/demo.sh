#!/usr/bin/env bash
# Haven on one machine, as far as it is built today: the example network's
# keys and signed registry (three example countries: XA origin, XB transit,
# XC destination), then XC's broker and workers carrying a synthetic
# referral through its whole lifecycle, printed as it happens. Peering of
# brokers across countries joins this script when it lands.
# usage: deploy/demo.sh HAVEN_BINARY WORK_DIR   (the daemons beside haven)
set -euo pipefail
haven=$(realpath "$1")
bin=$(dirname "$haven")
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

reg=(--authority keys/authority.pub --registry network.reg)

step "3. XC's broker and workers start: a referral pathway, a shelter, a legal-aid office, a clinic, an outreach NGO"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
cp "$here"/example/*.ini .
"$bin/haven-broker" -c broker-xc.ini 2> broker-xc.log &
pids+=($!)
for w in router.xc shelter.xc legal.xc clinic.xc outreach.xc; do
  f=$(tr . - <<<"$w")
  case $w in router.*) d=haven-router ;; outreach.*) d=haven-intake ;; *) d=haven-provider ;; esac
  printf '$ %s -c %s.ini\n' "$d" "$f"
  "$bin/$d" -c "$f.ini" 2> "$f.log" &
  pids+=($!)
done
for f in router-xc shelter-xc legal-xc clinic-xc outreach-xc; do
  for i in $(seq 100); do
    "$haven" status --json --config "$f.ini" 2>/dev/null | grep -q '"broker_ready": true' && break
    sleep 0.1
  done
  "$haven" status --config "$f.ini" | sed 's/^/    /'
done

step "4. A caseworker at the outreach NGO checks and submits a referral (a synthetic person)"
cp "$here/example/referrals/example-adult.json" case.json
run referral check case.json
sed 's/"minor": false/"minor": true/' case.json > wrong.json
echo '    a file with a mistake is refused before anything is sent, every error located:'
run referral check wrong.json || true
id=$(run referral submit --config outreach-xc.ini case.json | tee /dev/stderr | sed -n 's/^referral \([0-9a-f]*\) submitted/\1/p')

wait_for() { # wait_for CMD... : until it succeeds (bounded)
  for i in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "!! gave up waiting"; exit 1
}
offer_is() { "$haven" inbox show --json --config shelter-xc.ini "$id" | grep -q "\"offer\": \"$1\""; }
state_is() { "$haven" referral show --json --config outreach-xc.ini "$id" | grep -q "\"state\": \"$1\""; }

step "5. The router sees the summary only, and offers it along XC's pathway"
wait_for offer_is offered
run pathway show --config router-xc.ini
run inbox show --config shelter-xc.ini "$id"

step "6. The shelter accepts; the case goes end to end to it alone, and a signed receipt comes back"
run inbox accept --config shelter-xc.ini "$id"
wait_for state_is received
run inbox show --config shelter-xc.ini "$id" | head -24
echo '    ...'

step "7. The shelter reports status and the outcome; the NGO follows it to the end"
run inbox status --config shelter-xc.ini "$id" --state in_progress
wait_for state_is in_progress
run inbox status --config shelter-xc.ini "$id" --state completed --note "Safe accommodation for 6 months; legal aid arranged"
wait_for state_is completed
run referral show --config outreach-xc.ini "$id"

step "8. Need to know: the name is in no store but the NGO's and the shelter's, and there only encrypted"
for f in broker-xc router-xc legal-xc clinic-xc shelter-xc outreach-xc; do
  if cat "$f".db* | grep -aq "Example-Testcase"; then echo "!! name readable in $f's store"; exit 1; fi
  echo "    $f: no readable trace of the person"
done
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
trap - EXIT
echo "    what XC's broker logged (node ids and counts, never content):"
grep -E "event=(session_ready|stopped)" broker-xc.log | cut -c1-150 | sed 's/^/    /'

step "Done; the daemons are stopped and everything is in $work. To run the network again:"
echo "  cd $work"
echo "  $bin/haven-broker -c broker-xc.ini &"
echo "  $bin/haven-router -c router-xc.ini &     # and haven-provider / haven-intake likewise"
echo "  $haven referral list --config outreach-xc.ini"
echo "  $haven inbox list --config shelter-xc.ini"
