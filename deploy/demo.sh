#!/usr/bin/env bash
# Haven's main job on one machine: the example referral network of three
# example countries on one migration route (XA origin, XB transit, XC
# destination), each with its own broker, the brokers peering with each
# other on loopback. It makes every organisation's keys and the signed
# registry, starts the brokers and workers, runs a synthetic referral from
# the NGO in XA to a shelter in XC through its whole lifecycle while
# printing the messages as they flow, and leaves the network running.
# usage: deploy/demo.sh HAVEN_BINARY WORK_DIR     (the daemons beside haven)
#        deploy/demo.sh stop WORK_DIR             (stops a running network)
set -euo pipefail

usage() {
  echo "usage: deploy/demo.sh HAVEN_BINARY WORK_DIR   (start the example network)" >&2
  echo "       deploy/demo.sh stop WORK_DIR           (stop it)" >&2
  exit 2
}
[ $# -eq 2 ] || usage

# stop_network WORK_DIR: SIGTERM every daemon the demo started there and
# wait for them to end. Returns 1 when none of them was running (no pids
# file, or only pids that are no longer Haven daemons), 2 when some did not
# stop within ten seconds.
stop_network() {
  local pids=$1/pids live=() p
  [ -f "$pids" ] || return 1
  for p in $(cat "$pids"); do
    # A pid that is no Haven daemon any more was reused by the system.
    tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "haven-" && live+=("$p")
  done
  if [ ${#live[@]} -eq 0 ]; then
    rm -f "$pids"
    return 1
  fi
  kill -TERM "${live[@]}" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "${live[@]}" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "${live[@]}" 2>/dev/null && return 2
  rm -f "$pids"
}
if [ "${1:-}" = stop ]; then
  work=$(realpath -m -- "$2")
  rc=0
  stop_network "$work" || rc=$?
  case $rc in
    0) echo "the example network in $work is stopped" ;;
    1) echo "deploy/demo.sh: no example network is running in $work: nothing to stop" >&2 ;;
    *) echo "deploy/demo.sh: some daemons in $work did not stop: see $work/pids" >&2 ;;
  esac
  [ "$rc" -eq 0 ] || exit 1
  exit 0
fi

haven=$(realpath "$1")
bin=$(dirname "$haven")
# Absolute, so that the hints printed at the end work from any directory.
work=$(realpath -m -- "$2")
here=$(cd "$(dirname "$0")" && pwd)

step() { printf '\n--- %s\n' "$*"; }
run() { printf '$ haven %s\n' "$*"; "$haven" "$@"; }

stop_network "$work" || true # a network left by an earlier run
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

step "3. Each country's broker starts and links to the brokers it is set to peer with"
cp "$here"/example/*.ini .
# The workbench's pages straight from the source tree (a package serves its own copy).
sed -i "s|^; assets = .*|assets = $(cd "$here/../web" && pwd)|" web-*.ini
: > pids
for c in xa xb xc; do
  printf '$ haven-broker -c broker-%s.ini\n' "$c"
  "$bin/haven-broker" -c "broker-$c.ini" > /dev/null 2> "broker-$c.log" &
  echo $! >> pids
done
for _ in $(seq 100); do
  [ "$(cat broker-*.log | grep -c 'event=peer_up.*direction=out')" -ge 6 ] && break
  sleep 0.1
done
grep -h "event=peer_up.*direction=out" broker-*.log | sed 's/^.*event=/    /'

step "4. The organisations start their workers: an NGO in XA, a transit centre in XB, the referral pathway and three agencies in XC"
workers="ngo.xa transit.xb router.xc shelter.xc legal.xc clinic.xc"
for w in $workers; do
  f=$(tr . - <<<"$w")
  case $w in router.*) d=haven-router ;; ngo.*) d=haven-intake ;; *) d=haven-provider ;; esac
  printf '$ %s -c %s.ini\n' "$d" "$f"
  "$bin/$d" -c "$f.ini" > /dev/null 2> "$f.log" &
  echo $! >> pids
done
for w in $workers; do
  f=$(tr . - <<<"$w")
  for _ in $(seq 100); do
    "$haven" status --json --config "$f.ini" 2>/dev/null | grep -q '"broker_ready": true' && break
    sleep 0.1
  done
  "$haven" status --config "$f.ini" | sed 's/^/    /'
done

# The flow as it happens: every message a worker sends or receives (types
# and node ids only; the workers never log content).
# tail feeds a FIFO so that stopping tail ends the whole display.
mkfifo flow.fifo
tail -q -n 0 -F ngo-xa.log router-xc.log shelter-xc.log > flow.fifo 2>/dev/null &
flow_pid=$!
grep --line-buffered -E "event=message_(queued|received)" < flow.fifo |
  sed -u -E 's/^.*event=message_(queued|received) type=([A-Z_]+) (to|from)=([^ ]+).*$/    ~ \1 \2 \3 \4/' &
trap 'kill $flow_pid 2>/dev/null || true' EXIT

step "5. A caseworker at the NGO in XA checks and submits a referral (a synthetic person) to XC"
cp "$here/example/referrals/example-adult.json" case.json
run referral check case.json
sed 's/"minor": false/"minor": true/' case.json > wrong.json
echo '    a file with a mistake is refused before anything is sent, every error located:'
run referral check wrong.json || true
# Captured, then shown: a tee to /dev/stderr would reopen a log file that
# standard error points to, and truncate what was already written.
submitted=$(run referral submit --config ngo-xa.ini case.json)
printf '%s\n' "$submitted"
id=$(sed -n 's/^referral \([0-9a-f]*\) submitted/\1/p' <<<"$submitted")

wait_for() { # wait_for CMD...: until it succeeds (bounded)
  for _ in $(seq 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "!! gave up waiting"; exit 1
}
offer_is() { "$haven" inbox show --json --config shelter-xc.ini "$id" | grep -q "\"offer\": \"$1\""; }
state_is() { "$haven" referral show --json --config ngo-xa.ini "$id" | grep -q "\"state\": \"$1\""; }

step "6. XC's router sees the summary only, and offers it along XC's pathway"
wait_for offer_is offered
sleep 0.3
run pathway show --config router-xc.ini
run inbox show --config shelter-xc.ini "$id"

step "7. The shelter accepts; the case crosses from XA to XC end to end, to it alone; a signed receipt comes back"
run inbox accept --config shelter-xc.ini "$id"
wait_for state_is received
sleep 0.3
run inbox show --config shelter-xc.ini "$id" | head -20
echo '    ...'

step "8. The shelter reports status and the outcome; the NGO in XA follows it to the end"
run inbox status --config shelter-xc.ini "$id" --state in_progress
wait_for state_is in_progress
run inbox status --config shelter-xc.ini "$id" --state completed --note "Safe accommodation for 6 months; legal aid arranged"
wait_for state_is completed
sleep 0.3
kill $flow_pid 2>/dev/null || true
wait $flow_pid 2>/dev/null || true
rm -f flow.fifo
trap - EXIT
run referral show --config ngo-xa.ini "$id"

step "9. A mother and her two children are referred together, to a shelter and a clinic, with a medical report"
cp "$here/example/referrals/example-family-report.json" family.json
cp "$here/example/referrals/example-medical-report.pdf" .
run referral check family.json
family=$(run referral submit --config ngo-xa.ini family.json)
printf '%s\n' "$family"
case_id=$(sed -n 's/^case \([0-9a-f]*\): .*/\1/p' <<<"$family")
fam=$(sed -n 's/^  referral \([0-9a-f]*\)  shelter .*/\1/p' <<<"$family")
fam_offered() { "$haven" inbox show --json --config shelter-xc.ini "$fam" | grep -q '"offer": "offered"'; }
fam_received() { "$haven" referral show --json --config ngo-xa.ini "$fam" | grep -q '"state": "received"'; }
fam_document() { "$haven" attachment list --json --config shelter-xc.ini "$fam" | grep -q '"state": "complete"'; }
fam_read() { "$haven" message list --json --config shelter-xc.ini "$fam" | grep -q '"read_at": "2'; }
echo '    the shelter is offered the group, never who they are:'
wait_for fam_offered
run inbox show --config shelter-xc.ini "$fam" | head -12
run inbox accept --config shelter-xc.ini "$fam"
wait_for fam_received
echo '    the report followed the case, in sealed chunks, to the shelter that accepted it:'
wait_for fam_document
run attachment list --config shelter-xc.ini "$fam"
run attachment save --config shelter-xc.ini "$fam" 1 --out shelter-copy.pdf
cmp -s shelter-copy.pdf example-medical-report.pdf && echo '    the saved copy is the caseworker'"'"'s file, byte for byte'
run message send --config shelter-xc.ini "$fam" "The family arrived; a room for three is ready."
wait_for "$haven" message read --config ngo-xa.ini "$fam" 1
wait_for fam_read
run message list --config ngo-xa.ini "$fam"
run case show --config ngo-xa.ini "$case_id"

step "10. Need to know: the people's names are in no store but the NGO's and the shelter's, and there only encrypted"
for f in broker-xa broker-xb broker-xc router-xc transit-xb legal-xc clinic-xc shelter-xc ngo-xa; do
  if cat "$f".db* | grep -aqE "Example-Testcase|Example-Familycase"; then
    echo "!! a name readable in $f's store"; exit 1
  fi
  echo "    $f: no readable trace of the people"
done

step "11. Operators see the flow, never the content: XC's broker as its operations desk sees it"
run stats --key keys/ops.xc.key --authority keys/authority.pub --registry network.reg \
  --broker broker.xc --endpoint tcp://127.0.0.1:7303

# ---- haven-web (issue 17): staff sign in to their own node over HTTPS.
step "12. Each organisation's staff get accounts at their own haven-web, over HTTPS on loopback"
run web self-signed --out tls
new_password() { head -c 15 /dev/urandom | base64 | tr '+/' '-_'; }
accounts=()
for spec in ngo-xa:caseworker-1:caseworker ngo-xa:supervisor-1:supervisor ngo-xa:admin-1:admin \
            shelter-xc:caseworker-1:caseworker shelter-xc:supervisor-1:supervisor \
            shelter-xc:admin-1:admin router-xc:coordinator-1:coordinator router-xc:admin-1:admin; do
  IFS=: read -r node name role <<<"$spec"
  pw=$(new_password)
  printf '%s\n' "$pw" | "$haven" staff add --config "web-$node.ini" --name "$name" --role "$role" >/dev/null
  line="    $(printf '%-12s %-14s %-12s password %s' "$node" "$name" "$role" "$pw")"
  if [ "$role" = supervisor ] || [ "$role" = admin ]; then
    secret=$("$haven" staff enrol-totp --config "web-$node.ini" --name "$name" | sed -n 's/^secret: //p')
    line="$line  TOTP secret $secret"
  fi
  accounts+=("$line")
done
for n in ngo-xa shelter-xc router-xc; do
  printf '$ haven-web -c web-%s.ini\n' "$n"
  "$bin/haven-web" -c "web-$n.ini" > /dev/null 2> "web-$n.log" &
  echo $! >> pids
done
for n in ngo-xa shelter-xc router-xc; do
  for _ in $(seq 100); do grep -q "event=ready" "web-$n.log" && break; sleep 0.1; done
done
echo "    the accounts (passwords generated now and shown only here; supervisors and admins"
echo "    sign in with a TOTP code from the secret, e.g. oathtool --totp -b SECRET):"
printf '%s\n' "${accounts[@]}"
web_pw=$(printf '%s\n' "${accounts[0]}" | sed -n 's/.*password \([^ ]*\).*/\1/p')
echo "    the NGO's caseworker signs in, submits a referral through the API and lists theirs"
echo "    (the referral of step 3 was the host administrator's, so theirs is the only one they see):"
session=$(curl -s --cacert tls/cert.pem -c web-jar -X POST https://127.0.0.1:8443/api/v1/session \
  -d "{\"name\":\"caseworker-1\",\"password\":\"$web_pw\"}")
sed 's/"csrf_token":"[^"]*"/"csrf_token":"..."/; s/^/    /' <<<"$session"
csrf=$(sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p' <<<"$session")
curl -s --cacert tls/cert.pem -b web-jar -H "X-CSRF-Token: $csrf" -X POST \
  "https://127.0.0.1:8443/api/v1/referrals?reference=DEMO-0001" --data-binary @case.json |
  sed 's/^/    /'
echo
curl -s --cacert tls/cert.pem -b web-jar "https://127.0.0.1:8443/api/v1/referrals?q=DEMO" |
  sed 's/^/    /'
echo
echo "    the API: https://127.0.0.1:8443/api/v1/ (docs/API.md)"

step "13. The workbench: open these in a browser (the certificate is self-signed: accept it once)"
echo "    https://127.0.0.1:8443/   ngo.xa, the NGO in XA: new referrals, my referrals"
echo "    https://127.0.0.1:8444/   shelter.xc, the shelter in XC: the inbox, the case file"
echo "    https://127.0.0.1:8445/   router.xc, XC's referral pathway (coordinator)"
echo "    sign in with an account of step 11, e.g. caseworker-1 at ngo.xa and supervisor-1 at"
echo "    shelter.xc (its code: oathtool --totp -b SECRET); certificate: $work/tls/cert.pem"

step "The network is running; everything is in $work. Try, for instance:"
cat <<EOF
  cd $work
  $haven referral list --config ngo-xa.ini              # the NGO in XA
  $haven inbox list --config shelter-xc.ini             # the shelter in XC
  $haven pathway show --config router-xc.ini            # XC's referral pathway
  $haven referral submit --config ngo-xa.ini case.json  # another referral
  $haven stats --key keys/ops.xc.key --authority keys/authority.pub --registry network.reg \\
      --broker broker.xc --endpoint tcp://127.0.0.1:7303  # an operator's view of XC's broker
  $haven monitor --key keys/ops.xc.key --authority keys/authority.pub --registry network.reg \\
      --broker broker.xc --endpoint tcp://127.0.0.1:7304  # live events at XC's broker
  open http://127.0.0.1:7380/ in a browser                # XC's broker dashboard (metrics at /metrics)
  tail -f broker-xa.log broker-xc.log                   # the brokers (no content, ever)
  bash $here/demo.sh stop $work                         # stop the network
EOF
